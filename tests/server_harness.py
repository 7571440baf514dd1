"""Real ``ftpvm-server`` processes on 127.0.0.1 for the server and client tests.

The project need not be installed: subprocesses get PYTHONPATH pointing at the checkout's
``ftpvm_core``, ``wire``, ``server`` and ``plugins`` folders.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = [str(ROOT), str(ROOT / "wire"), str(ROOT / "server"), str(ROOT / "plugins")]
for _d in reversed(SOURCE_DIRS):
    if _d not in sys.path:
        sys.path.insert(0, _d)

from ftpvm_server.launch import LocalServer, start_server  # noqa: E402

COLORSPACE = "Linear Rec.709 (sRGB)"


def server_env(extra: Optional[dict] = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(SOURCE_DIRS + [env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("FTPVM_TOKEN", None)
    env.update(extra or {})
    return env


def launch(state_dir: Path, weights: Path, log_path: Path, extra: Sequence[str] = (),
           env: Optional[dict] = None, timeout: float = 90.0) -> LocalServer:
    """Start a loopback server with ``weights`` on a free port and wait until it serves."""
    return start_server(state_dir=str(state_dir), weights=str(weights), extra=["--no-warmup", *extra],
                        log_path=str(log_path), timeout=timeout, env=server_env(env))


# -- fixtures shared by tests/server and tests/client (imported into their conftest.py) ------
import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def shot_data():
    """A small deterministic synthetic shot: 8 frames of 64x96 (plates linear)."""
    from ftpvm_core.synthetic import make_shot

    return make_shot(8, 64, 96, seed=3)


@pytest.fixture(scope="module")
def server(tmp_path_factory, synthetic_checkpoint):
    """One loopback server per test module (inline mode, no token)."""
    tmp = tmp_path_factory.mktemp("server")
    srv = launch(tmp / "state", synthetic_checkpoint, tmp / "server.log")
    yield srv
    assert srv.stop() == 0, srv.log_tail()


@pytest.fixture()
def client(server):
    from ftpvm_client import Client

    with Client(server.address, timeout=60) as c:
        yield c


def planes(image: np.ndarray) -> np.ndarray:
    """Round an array through half floats, as the client sends it by default."""
    return np.asarray(image, dtype=np.float16).astype(np.float32)


class OpenStreamContext:
    """The gRPC servicer context of a stream that stays open, for a ``MatteStream`` driven in-process."""

    def time_remaining(self):
        return None

    def add_callback(self, callback):
        return True

    def is_active(self):
        return True


def free_port() -> int:
    """A loopback port nobody listens on (for the server-down case)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
