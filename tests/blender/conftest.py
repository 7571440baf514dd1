"""Fixtures for the Blender add-on tests: a Python with ``bpy`` and a real server on 127.0.0.1."""
from __future__ import annotations

import pytest

from blender_harness import bpy_python
from server_harness import server  # noqa: F401  (one loopback ftpvm-server per module)


@pytest.fixture(scope="session")
def blender_python() -> str:
    python = bpy_python()
    if python is None:
        pytest.skip("no Python with bpy (pip install 'bpy==5.0.*' into .venv-bpy, or set FTPVM_BPY_PYTHON)")
    return python

