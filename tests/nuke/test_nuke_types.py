"""Static type check of the Nuke adapter and the client against Nuke's API stubs (``types-nuke`` on PyPI).

mypy reads ``nuke`` from the stubs (not from our fake), so a call that Nuke's API lacks, or a knob used as the
wrong type, fails here. The wire is followed silently (its own checks live with it).
"""
from __future__ import annotations

import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_passes_on_the_nuke_adapter_and_the_client():
    for dist in ("mypy", "types-nuke"):
        try:
            metadata.version(dist)
        except metadata.PackageNotFoundError:
            pytest.skip(f"{dist} is not installed: pip install -e '.[dev]'")
    env = dict(os.environ, MYPYPATH=os.pathsep.join(str(ROOT / p) for p in ("wire", "plugins", "plugins/nuke")))
    cmd = [sys.executable, "-m", "mypy", "--python-version", "3.10", "--no-incremental", "--cache-dir", os.devnull,
           "--follow-imports=silent", "--disable-error-code=import-untyped", "-p", "ftpvm_client", "-p", "ftpvm_nuke"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "no issues found" in out.stdout
