"""Fixtures for the Blender add-on tests: a Python with ``bpy`` and a real server on 127.0.0.1."""
from __future__ import annotations

import pytest

from blender_harness import bpy_python
from server_harness import launch


@pytest.fixture(scope="session")
def blender_python() -> str:
    python = bpy_python()
    if python is None:
        pytest.skip("no Python with bpy (pip install 'bpy==5.0.*' into .venv-bpy, or set FTPVM_BPY_PYTHON)")
    return python


@pytest.fixture(scope="module")
def server(tmp_path_factory, synthetic_checkpoint):
    """One loopback ftpvm-server for the module (no token, synthetic weights)."""
    tmp = tmp_path_factory.mktemp("server")
    srv = launch(tmp / "state", synthetic_checkpoint, tmp / "server.log")
    yield srv
    assert srv.stop() == 0, srv.log_tail()
