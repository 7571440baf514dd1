"""The client, the wire and the Nuke plug-in's pure code complete a real matte round-trip on every host Python.

Hosts ship their own Python (Nuke 14: 3.9, Nuke 15: 3.10, Nuke 16: 3.11; Resolve: the user's), so each of 3.9-3.13
gets a small venv (``.venv-hostpy/<X.Y>``, made by ``scripts/setup_host_pythons.sh``: numpy, grpcio, protobuf and
fileseq at the newest versions that Python can get, no torch) and runs ``roundtrip.py`` against a server running
in the project's venv. A Python pyenv does not have is skipped with the reason; so is one left out of
``$FTPVM_HOST_PYTHONS`` when that is set (CI sets "3.9 3.13" to keep its time small; unset, all five run).
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "setup_host_pythons.sh"
HOST_PATH = [ROOT / "wire", ROOT / "plugins", ROOT / "plugins" / "nuke"]
VERSIONS = ("3.9", "3.10", "3.11", "3.12", "3.13")


def host_python(version: str) -> Path:
    """The venv Python for ``version``, made (once, cached) by the set-up script; skip when it cannot be."""
    selected = os.environ.get("FTPVM_HOST_PYTHONS", "").split()
    if selected and version not in selected:
        pytest.skip(f"Python {version}: not in FTPVM_HOST_PYTHONS={' '.join(selected)}")
    python = ROOT / ".venv-hostpy" / version / "bin" / "python"
    out = subprocess.run(["bash", str(SCRIPT), version], capture_output=True, text=True, timeout=600)
    if not python.is_file():
        pytest.skip(f"Python {version}: {(out.stderr or out.stdout).strip() or 'no venv made'}")
    assert out.returncode == 0, out.stderr
    return python


@pytest.mark.parametrize("version", VERSIONS)
def test_matte_round_trip_on_host_python(version, server):
    python = host_python(version)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.pathsep.join(str(p) for p in HOST_PATH),
           "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run([str(python), str(ROOT / "tests" / "hostpy" / "roundtrip.py"), server.address],
                         capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["python"] == version
    assert report["keyframe"] == "mask" and report["pb_package"] == "ftpvm.v1"
    assert report["frames"] == [0, 1, 2] and report["shapes"] == [[64, 96]] * 3
    assert 0.0 <= report["alpha_min"] <= report["alpha_max"] <= 1.0
    print(f"Python {version}: grpcio {report['grpcio']}, protobuf {report['protobuf']}")


def test_nuke_install_for_python_3_9_imports_there(tmp_path):
    """`ftpvm nuke install` for Nuke 14 (Python 3.9): pip fetches wheels for 3.9, and Nuke's Python imports them."""
    python = host_python("3.9")
    from ftpvm_nuke import install

    plan = install.plan_install(tmp_path / "plugin", install.PythonTarget("3.9", "linux-x86_64"))
    assert plan.mode == "pip"
    install.run_install(plan)
    code = ("import runpy, sys, warnings; runpy.run_path(sys.argv[1] + '/init.py'); warnings.simplefilter('error');"
            "import grpc, google.protobuf, numpy, fileseq, ftpvm_client, ftpvm_nuke.plan;"
            "from ftpvm_wire.protocol import pb_grpc; print(grpc.__file__); print(ftpvm_client.__file__)")
    out = subprocess.run([str(python), "-S", "-c", code, str(plan.target)], capture_output=True, text=True,
                         timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert all(line.startswith(str(plan.target)) for line in out.stdout.split())
