"""`ftpvm-server` refuses bad configurations with one line and exit status 2, before loading a model."""
from __future__ import annotations

import subprocess
import sys

import pytest

from server_harness import server_env


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ftpvm_server", *args], capture_output=True, text=True,
                          timeout=60, env=server_env(env))


def test_help_lists_the_flags():
    out = _run("--help")
    assert out.returncode == 0
    for flag in ("--gpu", "--cpu", "--bind", "--port", "--weights", "--state-dir", "--token", "--allow-root",
                 "--max-shots", "--precision", "--log-level", "--tls-cert"):
        assert flag in out.stdout


@pytest.mark.parametrize("args, expected", [
    (("--bind", "0.0.0.0"), "--token"),
    (("--bind", "0.0.0.0", "--token", "short"), "shorter than 16"),
    (("--allow-root", "/no/such/dir"), "no such directory"),
    (("--tls-cert", "/tmp/x.pem"), "--tls-key"),
    (("--gpu", "7"), "--gpu 7"),
    (("--port", "70000"), "not a port"),
    (("--precision", "int8"), "--precision: precision 'int8' is not known"),
])
def test_bad_configuration_is_one_line_and_exit_2(args, expected):
    out = _run(*args, "--no-warmup")
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ftpvm-server: error:") and expected in lines[0], out.stderr


@pytest.mark.parametrize("name, short", [("float16", "fp16"), ("bf16", "bf16"), ("auto", "auto")])
def test_precision_flag_takes_the_one_vocabulary(name, short):
    from ftpvm_server.main import build_parser, check_config, default_settings

    args = build_parser().parse_args(["--precision", name])
    check_config(args)
    assert args.precision == short
    assert default_settings(args) == ({} if short == "auto" else {"precision": short})


def test_token_from_environment_allows_non_loopback_bind_check():
    from ftpvm_server.auth import AuthConfigError, check_bind, is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    check_bind("0.0.0.0", "x" * 32)
    with pytest.raises(AuthConfigError):
        check_bind("0.0.0.0", None)


def test_launch_reports_why_a_server_did_not_start(tmp_path):
    from ftpvm_server.launch import LaunchError, start_server

    with pytest.raises(LaunchError) as info:
        start_server(state_dir=str(tmp_path / "state"), extra=["--bind", "0.0.0.0", "--no-warmup"],
                     log_path=str(tmp_path / "server.log"), timeout=60, env=server_env())
    assert "exit status 2" in str(info.value) and "--token" in str(info.value)
