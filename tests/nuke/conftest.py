"""Fixtures for the Nuke plug-in tests: the fake ``nuke`` module, real EXR plates, a real server."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nuke_support import FIRST, FRAMES, H, W, nuke, write_exr  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_nuke():
    nuke.reset()
    yield nuke
    nuke.reset()


@pytest.fixture(scope="session")
def synthetic():
    from ftpvm_core.synthetic import make_shot

    return make_shot(num_frames=FRAMES, height=H, width=W, seed=3)


@pytest.fixture(scope="session")
def plates(tmp_path_factory, synthetic) -> dict:
    """Plate and roto EXR sequences on disk: {'plate': pattern, 'roto': pattern, 'first', 'last'}."""
    d = tmp_path_factory.mktemp("footage")
    for i in range(FRAMES):
        f = FIRST + i
        rgb = synthetic.plates_linear[i]
        write_exr(d / f"plate.{f:04d}.exr", {"R": rgb[..., 0], "G": rgb[..., 1], "B": rgb[..., 2]})
        matte = (synthetic.alpha[i] > 0.5).astype(np.float32)
        inner = (synthetic.trimaps[i] == 1.0).astype(np.float32)
        write_exr(d / f"roto.{f:04d}.exr", {"R": inner, "G": synthetic.trimaps[i], "B": inner, "A": matte})
    return {"plate": str(d / "plate.####.exr"), "roto": str(d / "roto.####.exr"),
            "first": FIRST, "last": FIRST + FRAMES - 1, "dir": d}


@pytest.fixture(scope="session")
def work_root(tmp_path_factory) -> Path:
    """The folder the server may read and write (path mode): caches live under it."""
    return tmp_path_factory.mktemp("nukework")


@pytest.fixture(scope="session")
def server(tmp_path_factory, work_root):
    """One real ftpvm-server on 127.0.0.1 (synthetic weights) for the whole session."""
    from server_harness import server_env  # tests/server_harness.py
    from ftpvm_server.launch import start_server

    d = tmp_path_factory.mktemp("server")
    srv = start_server(state_dir=str(d / "state"), extra=["--no-warmup", "--allow-root", str(work_root)],
                       log_path=str(d / "server.log"), env=server_env(), timeout=120)
    yield srv
    srv.stop()
