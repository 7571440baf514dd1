"""The built-in demo weights (ftpvm_core/model/demo_weights.pth, docs/model-card.md), when the package ships them."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ftpvm_core.weights import BUILTIN_DEMO_WEIGHTS, resolve_weights

pytestmark = pytest.mark.skipif(not BUILTIN_DEMO_WEIGHTS.is_file(), reason="no built-in demo weights in this checkout")

MAX_BYTES = 12 * 1024 * 1024
# Issue 17's held-out case (bench/make_demo_eval_set.py: an ellipse with an arm over a panning woven texture authored
# in ACEScg, 320 x 192, roto on frame 0; both families are never used in training), at seeds outside the report's
# set. The weights before issue 17 were 1.69x worse than holding the keyframe alpha here and their propagated trimap
# grew to 5.6x the keyframe's on the first seed; the shipped weights measure 0.78x on average (1.19x and 0.37x; the
# file they replaced: 1.20x and 0.51x), with a propagated unknown area at most 0.73x the keyframe's.
ISSUE_SEEDS = (31_337, 31_338)
MAX_MAD_VS_HELD_ALPHA = 1.0  # mean over the seeds: better than holding the keyframe alpha
MAX_UNKNOWN_GROWTH = 2.0  # issue 17's target: propagated unknown area <= 2x the keyframe's


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


def _matte(plates: np.ndarray, trimap0: np.ndarray, state_dir) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(alphas, propagated trimaps) of the engine with the built-in weights, keyframe 0."""
    from ftpvm_core.engine import Engine
    from ftpvm_core.synthetic import SRGB_COLORSPACE

    _, h, w, _ = plates.shape
    alphas, trimaps = [], []
    with Engine(weights=str(BUILTIN_DEMO_WEIGHTS), device="cpu", state_dir=str(state_dir)) as engine:
        s = engine.open_shot("demo-weights-test", w, h, SRGB_COLORSPACE, reset=True)
        s.set_keyframe(0, plates[0], trimap=trimap0)
        for res in s.matte(list(enumerate(plates)), passes=("alpha", "trimap")):
            alphas.append(np.asarray(res.alpha, np.float32))
            trimaps.append(np.asarray(res.trimap, np.float32))
    return alphas, trimaps


def test_held_out_issue_shots_beat_holding_the_keyframe_and_keep_the_band(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from make_demo_eval_set import issue_shot

    from ftpvm_core.evaluate.metrics import mad, unknown_region

    ratios = []
    for seed in ISSUE_SEEDS:
        plates, alpha, trimaps = issue_shot(seed, frames=12)
        preds, propagated = _matte(plates, trimaps[0], tmp_path / str(seed))
        ours = np.mean([mad(p, t) for p, t in zip(preds, alpha)])
        held = np.mean([mad(alpha[0], t) for t in alpha])
        ratios.append(ours / held)
        growth = np.mean([unknown_region(t).mean() for t in propagated[1:]]) / unknown_region(trimaps[0]).mean()
        assert growth <= MAX_UNKNOWN_GROWTH, (seed, growth)
    assert np.mean(ratios) < MAX_MAD_VS_HELD_ALPHA, ratios
