"""Issue 19: per-shot RAM is bounded (only the most recently used shots keep RAM caches) and handed back when a
shot cools down or is deleted; released shots still give exactly the results they gave before."""
from __future__ import annotations

import numpy as np

from ftpvm_core.engine.engine import HOT_SHOTS
from shot_helpers import LINEAR, H, W, frames_of


def _ram_held(shot) -> int:
    return len(shot.caches._states) + len(shot.caches._inputs) + len(shot._kf_tensors)


def test_only_the_most_recent_shots_hold_ram_and_results_stay_exact(make_engine, small_shot):
    e = make_engine()
    shots, first = [], {}
    for i in range(HOT_SHOTS + 2):
        shot = e.open_shot(f"s{i}", W, H, LINEAR)
        shot.set_keyframe(0, small_shot.plates_linear[0], trimap=small_shot.trimaps[0])
        first[i] = [r.alpha for r in shot.matte(frames_of(small_shot, range(4)), passes=("alpha",))]
        shots.append(shot)
    held = [_ram_held(s) for s in shots]
    assert held[:2] == [0, 0] and all(h > 0 for h in held[2:])  # the two coldest gave their RAM back
    again = [r.alpha for r in shots[0].matte(frames_of(small_shot, range(4, 6)), passes=("alpha",))]
    clean = make_engine(state_dir=e.store.root.parent / "clean").open_shot("c", W, H, LINEAR)
    clean.set_keyframe(0, small_shot.plates_linear[0], trimap=small_shot.trimaps[0])
    reference = [r.alpha for r in clean.matte(frames_of(small_shot, range(6)), passes=("alpha",))]
    for a, b in zip(first[0] + again, reference):  # a released shot resumes from its stored state, exactly
        np.testing.assert_array_equal(a, b)


def test_deleting_a_shot_releases_its_ram(make_engine, small_shot):
    e = make_engine()
    shot = e.open_shot("gone", W, H, LINEAR)
    shot.set_keyframe(0, small_shot.plates_linear[0], trimap=small_shot.trimaps[0])
    list(shot.matte(frames_of(small_shot, range(3)), passes=("alpha",)))
    assert _ram_held(shot) > 0
    e.delete_shot("gone")
    assert _ram_held(shot) == 0 and "gone" not in e._shots


def test_idle_shots_release_their_ram_on_a_timer_and_reset_cache_releases_it(make_engine, small_shot):
    import time

    e = make_engine()
    shot = e.open_shot("idle", W, H, LINEAR)
    shot.set_keyframe(0, small_shot.plates_linear[0], trimap=small_shot.trimaps[0])
    first = [r.alpha for r in shot.matte(frames_of(small_shot, range(3)), passes=("alpha",))]
    assert _ram_held(shot) > 0
    assert e.release_idle(60) == []  # just used: kept
    assert e.release_idle(60, now=time.monotonic() + 61) == ["idle"]
    assert _ram_held(shot) == 0 and shot.last_used is None
    assert e.release_idle(60, now=time.monotonic() + 120) == []  # nothing held: nothing to do
    again = [r.alpha for r in shot.matte(frames_of(small_shot, range(3, 5)), passes=("alpha",))]
    assert _ram_held(shot) > 0
    clean = make_engine(state_dir=e.store.root.parent / "clean").open_shot("c", W, H, LINEAR)
    clean.set_keyframe(0, small_shot.plates_linear[0], trimap=small_shot.trimaps[0])
    reference = [r.alpha for r in clean.matte(frames_of(small_shot, range(5)), passes=("alpha",))]
    for a, b in zip(first + again, reference):
        np.testing.assert_array_equal(a, b)
    shot.reset_cache()
    assert _ram_held(shot) == 0
