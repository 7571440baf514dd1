"""Engine fixtures: small synthetic shots and engines with deterministic synthetic weights."""
from __future__ import annotations

import pytest
import torch

from ftpvm_core.synthetic import make_shot

from shot_helpers import H, W



@pytest.fixture(scope="session")
def small_shot():
    return make_shot(num_frames=6, height=H, width=W, seed=3)


@pytest.fixture()
def make_engine(tmp_path, synthetic_weights):
    """Factory: engines on one state directory (tmp_path/state) unless told otherwise."""
    from ftpvm_core.engine import Engine

    engines = []

    def factory(state_dir=None, weights=None, **kw):
        e = Engine(weights=weights if weights is not None else synthetic_weights, device="cpu",
                   state_dir=state_dir or tmp_path / "state", **kw)
        engines.append(e)
        return e

    yield factory
    for e in engines:
        e.close()

