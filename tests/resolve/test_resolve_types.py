"""Static type check of the Resolve adapter against the documented API's stubs (``fusionscript-stubs``, dev extra).

``host.py`` types Resolve's objects with the stubs' classes, so mypy checks every call it makes into Resolve; the
places where the stubs leave out a documented form (``[{clipInfo}]`` lists, Fusion's Composition methods, the
optional ``subTrackType``) are cast to ``Any`` there with a comment.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from resolve_scene import ROOT


def test_the_resolve_adapter_type_checks_against_fusionscript_stubs():
    if importlib.util.find_spec("mypy") is None or not _has_stubs():
        pytest.skip("mypy or fusionscript-stubs is not installed (pip install -e '.[dev]')")
    # mypy checks as Python 3.10 at the oldest (the code itself stays importable on 3.9: see the host-Pythons tests)
    proc = subprocess.run([sys.executable, "-m", "mypy", "--python-version", "3.10", "--ignore-missing-imports",
                           "--follow-imports=silent", "--no-incremental", "--cache-dir", "/dev/null",
                           str(ROOT / "plugins" / "resolve" / "ftpvm_resolve")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout


def _has_stubs() -> bool:
    from importlib import metadata

    try:
        metadata.distribution("fusionscript-stubs")
        return True
    except metadata.PackageNotFoundError:
        return False
