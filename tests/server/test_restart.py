"""Shots survive kill -9: a new server on the same state directory has every shot, keyframe and result."""
from __future__ import annotations

import threading
import time

import numpy as np

from ftpvm_client import Client, RetryPolicy
from server_harness import COLORSPACE, launch


def test_kill_9_and_restart_keeps_shots_and_results(tmp_path, synthetic_checkpoint, shot_data):
    d = shot_data
    state = tmp_path / "state"
    first = launch(state, synthetic_checkpoint, tmp_path / "first.log")
    try:
        with Client(first.address) as c:
            shot = c.open_shot("survivor", 96, 64, COLORSPACE, settings={"memory_size": 2})
            shot.set_keyframe(0, image=d.plates_linear[0], trimap=d.trimaps[0])
            shot.set_keyframe(6, image=d.plates_linear[6], trimap=d.trimaps[6])
            before = list(shot.matte([(f, d.plates_linear[f]) for f in range(8)], passes=("alpha", "foreground")))
            c.open_shot("empty", 128, 64, COLORSPACE)
    finally:
        first.kill()
    assert first.process.returncode == -9

    # Same port: a client made before the crash reconnects by itself (UNAVAILABLE is retried).
    patient = Client(first.address, retry=RetryPolicy(attempts=60, initial=0.25, maximum=1.0, total=90))
    early = {}
    waiting = threading.Thread(target=lambda: early.update(shots=patient.list_shots()))
    waiting.start()  # asks while no server is there
    time.sleep(0.5)
    assert waiting.is_alive()
    second = launch(state, synthetic_checkpoint, tmp_path / "second.log", extra=["--port", str(first.port)])
    try:
        waiting.join(60)
        assert {s.shot_id for s in early["shots"]} == {"survivor", "empty"}
        shots = {s.shot_id: s for s in patient.list_shots()}
        assert set(shots) == {"survivor", "empty"}
        assert shots["survivor"].keyframes == (0, 6) and shots["survivor"].settings["memory_size"] == 2
        assert (shots["empty"].width, shots["empty"].height) == (128, 64)
        shot = patient.shot("survivor")
        after = list(shot.matte([(f, d.plates_linear[f]) for f in range(8)], passes=("alpha", "foreground")))
        for a, b in zip(before, after):
            np.testing.assert_array_equal(a.alpha, b.alpha)
            np.testing.assert_array_equal(a.foreground, b.foreground)
        patient.close()
    finally:
        status = second.stop()
    assert status == 0  # SIGTERM is a graceful shutdown
    assert "stopped; state flushed" in second.log_tail()


def test_a_matte_stream_survives_a_server_crash(tmp_path, synthetic_checkpoint, shot_data):
    """kill -9 in the middle of a stream: the client re-sends the unanswered frames to the restarted
    server and every frame arrives once, in order.

    (A frame is answered only after its state is on disk, and a lost state is replayed or asked for again, never
    replaced by a warm-up: tests/engine/test_engine_durability.py and tests/server/test_state_lost_resend.py check
    that the values equal an uninterrupted run.)"""
    d = shot_data
    state = tmp_path / "state"
    first = launch(state, synthetic_checkpoint, tmp_path / "first.log")
    restarted = []
    try:
        client = Client(first.address, retry=RetryPolicy(attempts=60, initial=0.25, maximum=1.0, total=90))
        shot = client.open_shot("crashy", 96, 64, COLORSPACE)
        shot.set_keyframe(0, image=d.plates_linear[0], trimap=d.trimaps[0])
        reference = [r.alpha for r in shot.matte([(f, d.plates_linear[f]) for f in range(8)])]
        shot.reset_cache()

        def frames():
            for f in range(8):
                if f == 4:  # crash the server while frames 0-3 may still be in flight
                    first.kill()
                    restarted.append(launch(state, synthetic_checkpoint, tmp_path / "second.log",
                                            extra=["--port", str(first.port)]))
                yield f, d.plates_linear[f]

        results = list(shot.matte(frames()))
        assert [r.frame for r in results] == list(range(8))
        assert all(r.ok and r.alpha.shape == (64, 96) and np.isfinite(r.alpha).all() for r in results)
        np.testing.assert_array_equal(results[0].alpha, reference[0])  # a fresh chain's first frame
        answered_by_second = client.get_shot("crashy").frames  # counters are per server process
        assert 4 <= answered_by_second <= 8
        client.close()
    finally:
        first.kill()
        for server in restarted:
            server.stop()
    assert restarted
