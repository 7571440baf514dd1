"""Fixtures for the Blender add-on tests: each Python with ``bpy`` (4.2, 4.5, 5.0 where set up) and a real server."""
from __future__ import annotations

import os

import pytest

from blender_harness import bpy_candidates, has_bpy
from server_harness import server  # noqa: F401  (one loopback ftpvm-server per module)


def _label(python: str) -> str:
    return os.path.basename(os.path.dirname(os.path.dirname(python))) or python


@pytest.fixture(scope="module", params=bpy_candidates(), ids=_label)
def blender_python(request) -> str:
    """Each Python that can import bpy; the tests that use it run once per bpy version."""
    if not has_bpy(request.param):
        pytest.skip(f"no bpy in {request.param} (bash scripts/setup_blender_tests.sh, or set FTPVM_BPY_PYTHON)")
    return request.param
