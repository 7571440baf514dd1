"""A process killed mid-write leaves a loadable shot."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from shot_helpers import LINEAR, H, W, frames_of

WRITER = textwrap.dedent("""
    import sys, torch
    torch.set_num_threads(1)
    from ftpvm_core.engine import Engine
    from ftpvm_core.synthetic import make_shot
    from ftpvm_core.weights import synthetic_weights
    s = make_shot(6, {H}, {W}, seed=3)
    e = Engine(weights=synthetic_weights(), device="cpu", state_dir=sys.argv[1])
    shot = e.open_shot("crash", {W}, {H}, "{LINEAR}")
    i = 0
    while True:
        k = i % 2
        shot.set_keyframe(0, s.plates_linear[0], trimap=s.trimaps[k])
        if i == 1:
            print("ready", flush=True)
        for r in shot.matte([(f, s.plates_linear[f]) for f in range(3)], passes=("alpha",)):
            pass
        i += 1
""").format(H=H, W=W, LINEAR=LINEAR)


@pytest.mark.parametrize("delay", [0.2, 0.9])
def test_killed_writer_leaves_loadable_shot(tmp_path, make_engine, small_shot, delay):
    state = tmp_path / "state"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(state)], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(delay)  # somewhere in the middle of keyframe, state, result and index writes
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    e = make_engine(state_dir=state)
    shot = e.get_shot("crash")
    kfs = shot.keyframes()
    assert [k.frame for k in kfs] == [0]
    tri = shot.keyframe_trimap(0)
    assert any(np.array_equal(tri, small_shot.trimaps[k]) for k in (0, 1))
    got = list(shot.matte(frames_of(small_shot, range(3)), passes=("alpha",)))
    ref_engine = make_engine(state_dir=tmp_path / "ref")
    ref = ref_engine.open_shot("crash", W, H, LINEAR)
    ref.set_keyframe(0, small_shot.plates_linear[0], trimap=tri)
    for a, b in zip(got, ref.matte(frames_of(small_shot, range(3)), passes=("alpha",))):
        np.testing.assert_array_equal(a.alpha, b.alpha)
