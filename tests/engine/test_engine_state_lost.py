"""Issue 19, no silent fallback: when the state before a frame is evicted or damaged, the matte loop replays exactly
from the last stored state, or raises StateLost naming the frames to send again (and ``refetch`` makes the result
exact); only random access (a predecessor never processed) gets the documented warm-up."""
from __future__ import annotations

import numpy as np
import pytest

from ftpvm_core.errors import IndexDamaged, StateLost
from ftpvm_core.synthetic import make_shot
from shot_helpers import LINEAR, H, W

FRAMES = 14


@pytest.fixture(scope="module")
def long_shot():
    return make_shot(num_frames=FRAMES, height=H, width=W, seed=5)


def _frames(data, idx):
    return [(i, data.plates_linear[i]) for i in idx]


def _keyed(engine, data, shot_id="s"):
    shot = engine.open_shot(shot_id, W, H, LINEAR)
    shot.set_keyframe(0, data.plates_linear[0], trimap=data.trimaps[0])
    return shot


@pytest.fixture()
def reference(make_engine, long_shot, tmp_path):
    shot = _keyed(make_engine(state_dir=tmp_path / "reference"), long_shot, "r")
    return {r.frame: r.alpha for r in shot.matte(_frames(long_shot, range(FRAMES)), passes=("alpha",))}


def _same(results, reference):
    assert results
    for r in results:
        np.testing.assert_array_equal(r.alpha, reference[r.frame], err_msg=f"frame {r.frame}")


def _cache(engine, kind):
    return sorted((engine.store.shot_dir("s") / "cache" / kind).glob("*"))


def test_evicted_states_replay_exactly_from_the_stored_inputs_however_far_back(make_engine, long_shot, reference):
    e = make_engine()
    shot = _keyed(e, long_shot)
    list(shot.matte(_frames(long_shot, range(12)), passes=("alpha",)))
    shot.caches.evict_states()  # every state gone, in RAM and on disk: 12 frames back to the chain's start
    shot.release_ram()
    _same(list(shot.matte(_frames(long_shot, [12, 13]), passes=("alpha",))), reference)


@pytest.mark.parametrize("damage", ["deleted", "damaged"])
def test_a_deleted_or_damaged_state_file_replays_exactly(make_engine, long_shot, reference, damage):
    e = make_engine()
    shot = _keyed(e, long_shot)
    list(shot.matte(_frames(long_shot, range(10)), passes=("alpha",)))
    e.flush()
    (state,) = _cache(e, "states")  # the checkpoint after frame 7
    if damage == "deleted":
        state.unlink()
    else:
        data = bytearray(state.read_bytes())
        data[-10] ^= 0xFF
        state.write_bytes(bytes(data))
    fresh = make_engine()  # nothing in RAM
    _same(list(fresh.get_shot("s").matte(_frames(long_shot, [10, 11]), passes=("alpha",))), reference)


def test_lost_states_and_inputs_name_the_frames_to_send_again_and_refetch_makes_it_exact(make_engine, long_shot,
                                                                                          reference):
    e = make_engine()
    shot = _keyed(e, long_shot)
    list(shot.matte(_frames(long_shot, range(10)), passes=("alpha",)))
    e.flush()
    for path in _cache(e, "inputs"):  # the cache limit took every stored input; the checkpoint after 7 stays
        path.unlink()
    shot.release_ram()
    with pytest.raises(StateLost) as info:
        list(shot.matte(_frames(long_shot, [10]), passes=("alpha",)))
    assert info.value.frame == 10 and info.value.frames == [8, 9]
    assert "send frame(s) 8-9 again, in order, then frame 10" in str(info.value)
    asked = []

    def refetch(frame):
        asked.append(frame)
        return long_shot.plates_linear[frame]
    _same(list(shot.matte(_frames(long_shot, [10, 11]), passes=("alpha",), refetch=refetch)), reference)
    assert asked == [8, 9]


def test_lost_frames_whose_results_are_cached_keep_their_inputs_when_sent_again(make_engine, long_shot, reference):
    e = make_engine()
    shot = _keyed(e, long_shot)
    list(shot.matte(_frames(long_shot, range(10)), passes=("alpha",)))
    e.flush()
    for path in _cache(e, "inputs") + _cache(e, "states"):  # results stay cached, the chain's inputs do not
        path.unlink()
    shot.release_ram()
    with pytest.raises(StateLost) as info:
        list(shot.matte(_frames(long_shot, [10]), passes=("alpha",)))
    assert info.value.frames == list(range(10))
    resent = list(shot.matte(_frames(long_shot, range(10)), passes=("alpha",)))  # as a client re-sends them
    assert all(r.from_cache for r in resent)
    _same(list(shot.matte(_frames(long_shot, [10, 11]), passes=("alpha",))), reference)


def test_eviction_by_the_cache_limit_mid_shot_is_exact_or_says_what_to_send(make_engine, long_shot, reference):
    e = make_engine(cache_limit_bytes=150_000)  # a few frames' worth: the limit evicts all along the shot
    shot = _keyed(e, long_shot)
    first = list(shot.matte(_frames(long_shot, range(10)), passes=("alpha",)))
    _same(first, reference)
    shot.release_ram()
    try:
        _same(list(shot.matte(_frames(long_shot, [10]), passes=("alpha",))), reference)
    except StateLost as lost:
        assert lost.frames == list(range(lost.frames[0], 10))
    again = list(shot.matte(_frames(long_shot, [10, 11, 12, 13]), passes=("alpha",),
                            refetch=lambda f: long_shot.plates_linear[f]))
    _same(again, reference)


def test_random_access_keeps_the_documented_warm_up(make_engine, long_shot):
    e = make_engine()
    shot = _keyed(e, long_shot)
    list(shot.matte(_frames(long_shot, range(4)), passes=("alpha",)))
    (r,) = shot.matte(_frames(long_shot, [9]), passes=("alpha",))  # frame 8 was never processed: no error
    assert r.frame == 9 and not r.from_cache and np.isfinite(r.alpha).all()


@pytest.mark.parametrize("damage", [b'{"schema": 1, "frames": {"0": {"key": "ab', b"\x00" * 64, b'{"frames": [1, 2]}'])
def test_a_damaged_frame_index_is_an_error_until_the_cache_is_reset(make_engine, long_shot, reference, damage):
    """Without the index the engine cannot tell which chain frame 10 continues: a warm-up would silently differ
    from the uninterrupted run, so the shot says what to do; after a cache reset the run is exact again."""
    e = make_engine()
    shot = _keyed(e, long_shot)
    list(shot.matte(_frames(long_shot, range(10)), passes=("alpha",)))
    e.flush()
    (e.store.shot_dir("s") / "index.json").write_bytes(damage)
    fresh = make_engine()
    with pytest.raises(IndexDamaged, match=r"frame index is damaged.*reset the shot's cache"):
        list(fresh.get_shot("s").matte(_frames(long_shot, [10, 11]), passes=("alpha",)))
    again = make_engine().get_shot("s")  # still damaged after a restart: nothing was silently re-keyed
    with pytest.raises(IndexDamaged):
        list(again.matte(_frames(long_shot, [10]), passes=("alpha",)))
    again.reset_cache()
    _same(list(again.matte(_frames(long_shot, range(12)), passes=("alpha",))), reference)
