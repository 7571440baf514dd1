"""Recurrent-state checkpoints every N frames, stored in half precision (issue 16): fewer, smaller state files, a
resume replays at most N-1 frames and is bit-identical, and half states stay within tolerance of float ones."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ftpvm_core.engine import InvalidInput
from ftpvm_core.model.streaming import StreamingStep

from shot_helpers import H, W, frames_of

LINEAR = "Linear Rec.709 (sRGB)"


def _shot(engine, data):
    shot = engine.open_shot("s", W, H, LINEAR)
    shot.set_keyframe(0, data.plates_linear[0], trimap=data.trimaps[0])
    return shot


def _state_files(engine):
    engine.flush()
    return sorted((engine.store.shot_dir("s") / "cache" / "states").glob("*.pt"))


def test_states_are_stored_every_n_frames_in_half_precision(make_engine, small_shot):
    e = make_engine(state_every=4)
    list(_shot(e, small_shot).matte(frames_of(small_shot, range(6))))
    files = _state_files(e)
    assert len(files) == 1  # after frame 3 (4 frames into the chain); was one per frame
    from ftpvm_core.engine.store import tensor_load

    assert all(tensor_load(e.store.cache_get(f))["stream"]["tensors"][0].dtype == torch.float16 for f in files)


def test_a_resume_replays_at_most_n_minus_1_frames_bit_identically(make_engine, small_shot, monkeypatch, tmp_path):
    ref = list(_shot(make_engine(state_dir=tmp_path / "ref", state_every=4), small_shot).matte(frames_of(small_shot, range(6))))
    e = make_engine(state_every=4)
    shot = _shot(e, small_shot)
    list(shot.matte(frames_of(small_shot, range(5))))  # stopped after frame 4
    e.close()
    calls = []
    real = StreamingStep.__call__

    def counting(self, *a, **k):
        calls.append(1)
        return real(self, *a, **k)
    monkeypatch.setattr(StreamingStep, "__call__", counting)
    e2 = make_engine(state_every=4)  # a new process: nothing in RAM
    last = list(_shot(e2, small_shot).matte(frames_of(small_shot, [5])))[0]
    assert len(calls) == 2  # frame 4 replayed from the checkpoint after frame 3 (at most N-1 = 3), then frame 5
    np.testing.assert_array_equal(last.alpha, ref[5].alpha)


def test_half_precision_states_stay_within_tolerance_and_halve_the_files(make_engine, small_shot, tmp_path):
    full = make_engine(state_dir=tmp_path / "f32", state_every=1, state_dtype="float32")
    half = make_engine(state_dir=tmp_path / "f16", state_every=1, state_dtype="float16")
    a = list(_shot(full, small_shot).matte(frames_of(small_shot, range(6))))
    b = list(_shot(half, small_shot).matte(frames_of(small_shot, range(6))))
    diff = max(float(np.abs(x.alpha - y.alpha).max()) for x, y in zip(a, b))
    mean = max(float(np.abs(x.alpha - y.alpha).mean()) for x, y in zip(a, b))
    print(f"half vs float states: max |d alpha| {diff:.2e}, mean {mean:.2e}")
    assert mean < 1e-3 and diff < 0.05, (mean, diff)
    size = lambda e: sum(f.stat().st_size for f in _state_files(e))  # noqa: E731
    assert size(half) < 0.6 * size(full)


@pytest.mark.parametrize("kw", [{"state_every": 0}, {"state_every": True}, {"state_dtype": "bfloat16"}])
def test_bad_checkpoint_parameters(make_engine, kw):
    with pytest.raises(InvalidInput):
        make_engine(**kw)
