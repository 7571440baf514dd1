"""Static type check of the Blender add-on against Blender's API stubs (``fake-bpy-module``, dev extra).

The stubs describe the newest Blender (5.x); ``compositor.py`` is the one module that also speaks the 4.x API, and
types those parts ``Any``. mypy runs with strict Optional and every error code, and also checks the bodies of the
unannotated Blender callbacks (``execute``, ``modal``, ``draw``): the add-on checks each data pointer the stubs mark
Optional (``context.scene``, ``tree.interface``, ``image.colorspace_settings``, ``panel.layout``) before use.
bpy's property annotations (``name: StringProperty(...)``) are Blender's registration idiom, not types: each carries
a narrow ``# type: ignore[valid-type]`` (see the NOTE in ``properties.py``); ``--warn-unused-ignores`` fails any
ignore that is no longer needed.
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from importlib import metadata

import pytest

from blender_harness import BLENDER_SRC


def test_the_blender_addon_type_checks_against_fake_bpy_module():
    try:
        metadata.distribution("fake-bpy-module")
    except metadata.PackageNotFoundError:
        pytest.skip("fake-bpy-module is not installed (pip install -e '.[dev]')")
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (pip install -e '.[dev]')")
    # Blender 4.2 .. 5.0 run Python 3.11
    proc = subprocess.run([sys.executable, "-m", "mypy", "--python-version", "3.11", "--ignore-missing-imports",
                           "--follow-imports=silent", "--warn-unused-ignores", "--check-untyped-defs",
                           "--no-incremental", "--cache-dir", "/dev/null", str(BLENDER_SRC / "ftpvm_blender")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Success: no issues found" in proc.stdout
