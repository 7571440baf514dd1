"""`ftpvm nuke install`: planning, the init.py line, and a real offline install for this Python."""
from __future__ import annotations

import subprocess
import sys

import pytest

from ftpvm_nuke import install


def test_plan_uses_local_packages_when_python_matches(tmp_path):
    plan = install.plan_install(tmp_path, install.PythonTarget.current(), offline=True)
    assert plan.mode == "local"
    names = {n.lower() for n in plan.distributions}
    assert {"grpcio", "protobuf", "numpy"} <= names
    assert "typing-extensions" in {n.lower().replace("_", "-") for n in names}   # grpcio's own dependency


def test_plan_fetches_wheels_for_another_python(tmp_path):
    nuke_py = install.PythonTarget("3.9", "win-amd64")
    plan = install.plan_install(tmp_path, nuke_py)
    assert plan.mode == "pip" and plan.platforms == ("win_amd64",)
    cmd = plan.pip_command()
    assert cmd[cmd.index("--python-version") + 1] == "3.9"
    assert cmd[cmd.index("--target") + 1] == str(tmp_path / "vendor")
    assert "--only-binary=:all:" in cmd
    requirements = cmd[cmd.index("cp") + 1:][2:]  # after "--implementation cp --platform TAG"
    from importlib.metadata import version

    from ftpvm_client.vendoring import stub_requirements

    floors = stub_requirements()
    # Another Python version: compiled wheels at the newest that Python has, no older than the stubs accept
    # (grpcio 1.85 has no Python 3.9 wheels); pure ones pinned to the tested versions.
    assert {f"grpcio>={floors['grpcio']}", f"protobuf>={floors['protobuf']}", f"fileseq=={version('fileseq')}",
            f"typing-extensions=={version('typing_extensions')}", "numpy"} <= set(requirements)
    same = install.plan_install(tmp_path, install.PythonTarget(install.PythonTarget.current().version, "win-amd64"))
    assert {f"grpcio=={version('grpcio')}", f"protobuf=={version('protobuf')}"} <= set(same.distributions)
    with pytest.raises(install.InstallError, match="Drop --offline"):
        install.plan_install(tmp_path, nuke_py, offline=True)
    with pytest.raises(install.InstallError, match="no wheel platform"):
        install.PythonTarget("3.10", "sunos-sparc").pip_platforms()


def test_probe_python_reads_version_and_platform():
    assert install.probe_python(sys.executable) == install.PythonTarget.current()
    with pytest.raises(install.InstallError, match="Nuke's Python"):
        install.probe_python("/nonexistent/python3")


def test_register_line_is_added_once():
    text = install.register_text("", "/studio/nuke/ftpvm")
    assert text.splitlines() == ["import nuke", "nuke.pluginAddPath('/studio/nuke/ftpvm')  # FTPVM"]
    assert install.register_text(text, "/studio/nuke/ftpvm") == text
    kept = install.register_text("import nuke\nnuke.pluginAddPath('/x')\n", "/y")
    assert kept.splitlines()[:2] == ["import nuke", "nuke.pluginAddPath('/x')"] and kept.count("import nuke") == 1


def test_pip_failure_is_reported(tmp_path):
    plan = install.plan_install(tmp_path / "p", install.PythonTarget("3.9", "win-amd64"))
    calls = []

    class Failed:
        returncode = 1
    with pytest.raises(install.InstallError, match="pip could not fetch"):
        install.run_install(plan, runner=lambda cmd: calls.append(cmd) or Failed())
    assert calls == [plan.pip_command()]
    assert (tmp_path / "p" / "menu.py").is_file() and (tmp_path / "p" / "vendor" / "ftpvm_client").is_dir()


def test_real_offline_install_imports_from_vendor_only(tmp_path, monkeypatch):
    """Install via the CLI, then import everything in a Python that has no site-packages (like Nuke's)."""
    from ftpvm_cli import command as cli

    assert "nuke" in cli.SUBCOMMANDS
    main = cli.main

    target = tmp_path / "ftpvm_nuke_plugin"
    assert main(["nuke", "install", "--target", str(target), "--offline"]) == 0
    for rel in ("init.py", "menu.py", "ftpvm_nuke/node.py", "vendor/ftpvm_client/__init__.py",
                "vendor/ftpvm_wire/sequences.py", "vendor/fileseq/__init__.py",
                "vendor/ftpvm_wire/schema.py", "vendor/ftpvm_wire/settings_schema.json"):
        assert (target / rel).is_file(), rel
    code = ("import runpy, sys; runpy.run_path(sys.argv[1] + '/init.py');"
            "import grpc, google.protobuf, numpy, fileseq, typing_extensions, ftpvm_client, ftpvm_wire, ftpvm_nuke.plan;"
            "import ftpvm_wire.schema;"
            "print(grpc.__file__); print(numpy.__file__); print(ftpvm_client.__file__); print(ftpvm_nuke.plan.__file__);"
            "print(ftpvm_wire.__file__); print(fileseq.__file__); print(typing_extensions.__file__);"
            "print(ftpvm_wire.schema.snapshot().source and ftpvm_wire.schema.__file__)")
    out = subprocess.run([sys.executable, "-S", "-c", code, str(target)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for line in out.stdout.split():
        assert line.startswith(str(target)), line
