"""Issue 19, no silent fallback over the wire: when the server lost the state before a frame (evicted, damaged), the
frame fails FAILED_PRECONDITION naming the frames to send again, the frame after it in the stream fails the same way
(no warm-up), and the client re-sends them by itself: the result is bit-identical to an uninterrupted run."""
from __future__ import annotations

import numpy as np
import pytest

from ftpvm_client import Client, FailedPrecondition
from ftpvm_client.shot import _Lookup
from server_harness import COLORSPACE, launch

FRAMES = 14


@pytest.fixture(scope="module")
def long_shot():
    from ftpvm_core.synthetic import make_shot

    return make_shot(FRAMES, 64, 96, seed=4)


def _open(client, data, shot_id):
    shot = client.open_shot(shot_id, 96, 64, COLORSPACE)
    shot.set_keyframe(0, image=data.plates_linear[0], trimap=data.trimaps[0])
    return shot


def _lose_inputs(client, state, data):
    """What the cache limit does to a cold shot: its stored inputs go; its RAM copies go with the shot cooling
    (two other shots used after it)."""
    for path in (state / "shots" / "lost" / "cache" / "inputs").glob("*"):
        path.unlink()
    for other in ("cool-a", "cool-b"):
        _open(client, data, other)


def test_lost_state_is_named_and_the_client_resends_it_for_the_exact_result(tmp_path, synthetic_checkpoint,
                                                                              long_shot):
    d = long_shot
    state = tmp_path / "state"
    srv = launch(state, synthetic_checkpoint, tmp_path / "server.log")
    try:
        with Client(srv.address) as client:
            reference = {r.frame: r.alpha for r in _open(client, d, "ref").matte(
                [(f, d.plates_linear[f]) for f in range(FRAMES)], transport="inline")}
            shot = _open(client, d, "lost")
            list(shot.matte([(f, d.plates_linear[f]) for f in range(10)], transport="inline"))
            _lose_inputs(client, state, d)

            def plates():  # a generator: the client cannot look earlier frames up by itself
                for f in (10, 11):
                    yield f, d.plates_linear[f]
            answers = list(shot.matte(plates(), raise_errors=False, transport="inline"))
            assert [type(a.error) for a in answers] == [FailedPrecondition, FailedPrecondition]
            assert answers[0].error.resend_frames == (8, 9)
            assert "send frame(s) 8-9 again, in order, then frame 10" in answers[0].error.message
            assert answers[1].error.resend_frames == (8, 9, 10)  # no warm-up for the frame after it

            asked = []

            def refetch(frame):
                asked.append(frame)
                return d.plates_linear[frame]
            again = list(shot.matte([(f, d.plates_linear[f]) for f in range(10, FRAMES)], refetch=refetch,
                                    transport="inline"))
            assert asked == [8, 9]
            assert [r.frame for r in again] == list(range(10, FRAMES))
            for r in again:
                np.testing.assert_array_equal(r.alpha, reference[r.frame], err_msg=f"frame {r.frame}")
    finally:
        assert srv.stop() == 0, srv.log_tail()


def test_the_client_finds_frames_asked_again_in_its_list_or_through_refetch():
    frames = [(7, "a.0007.exr"), (8, "a.0008.exr")]
    assert _Lookup(frames, None)(8) == "a.0008.exr" and _Lookup(frames, None)(3) is None
    assert _Lookup(iter(frames), None)(8) is None  # an iterator is not kept
    assert _Lookup(iter(frames), lambda f: f"b.{f}")(3) == "b.3"
