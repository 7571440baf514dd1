"""The built-in demo weights (ftpvm_core/model/demo_weights.pth, docs/model-card.md), when the package ships them."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ftpvm_core.weights import BUILTIN_DEMO_WEIGHTS, resolve_weights

pytestmark = pytest.mark.skipif(not BUILTIN_DEMO_WEIGHTS.is_file(), reason="no built-in demo weights in this checkout")

MAX_BYTES = 12 * 1024 * 1024
# Held-out shot: a seed far from the report's set (10000+) and used by the 6000-clip training run with a ~3e-6 chance.
HELD_OUT_SEED = 31_337
# The full report (bench/demo_weights_report.py) shows the demo weights far ahead of holding the keyframe alpha;
# on one short shot (8 frames, ~0.27 of the held MAD when exported) we ask for at least a 2x win.
MAD_RATIO = 0.5


def test_resolution_picks_the_builtin_file_and_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no saves/ftpvm.pth here
    monkeypatch.delenv("FTPVM_WEIGHTS", raising=False)
    resolved = resolve_weights()
    assert resolved.source == "builtin-demo"
    assert resolved.path == str(BUILTIN_DEMO_WEIGHTS)
    assert "built-in demo weights" in resolved.notice and str(BUILTIN_DEMO_WEIGHTS) in resolved.notice
    assert not resolved.is_synthetic


def test_file_is_small_half_precision_and_loads_strictly():
    from ftpvm_core import load_model

    assert BUILTIN_DEMO_WEIGHTS.stat().st_size <= MAX_BYTES
    state = torch.load(BUILTIN_DEMO_WEIGHTS, map_location="cpu", weights_only=True)
    floats = [v for v in state.values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.float16 for v in floats)
    model = load_model(BUILTIN_DEMO_WEIGHTS, device="cpu")  # strict
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_beats_holding_the_keyframe_on_a_held_out_shot(tmp_path):
    from ftpvm_core.engine import Engine
    from ftpvm_core.evaluate.metrics import mad
    from ftpvm_core.synthetic import SRGB_COLORSPACE, make_shot

    shot = make_shot(8, 96, 128, seed=HELD_OUT_SEED, noise=0.01, strands=8)
    alphas = []
    with Engine(weights=str(BUILTIN_DEMO_WEIGHTS), device="cpu", state_dir=str(tmp_path)) as engine:
        s = engine.open_shot("demo-weights-test", 128, 96, SRGB_COLORSPACE, reset=True)
        s.set_keyframe(0, shot.plates_srgb[0], trimap=shot.trimaps[0])
        for res in s.matte(list(enumerate(shot.plates_srgb)), passes=("alpha",)):
            alphas.append(np.asarray(res.alpha, np.float32))
    ours = np.mean([mad(a, t) for a, t in zip(alphas, shot.alpha)])
    held = np.mean([mad(shot.alpha[0], t) for t in shot.alpha])
    assert ours < MAD_RATIO * held, (ours, held)
