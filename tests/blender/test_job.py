"""The add-on's worker (ftpvm_blender.job, no bpy) against a real ftpvm-server on 127.0.0.1."""
from __future__ import annotations

import time

import numpy as np
import pytest

from blender_harness import free_port
from ftpvm_blender import plan
from ftpvm_blender.job import KeyframeInput, ProcessJob, describe_server

FRAMES = list(range(11, 17))


@pytest.fixture(scope="module")
def shot():
    from ftpvm_core.synthetic import make_shot

    return make_shot(len(FRAMES), 64, 96, seed=5)


def _job(shot_id, keyframes=(11,), quality="STANDARD", colorspace="Linear Rec.709"):
    return plan.plan_job(shot_id=shot_id, width=96, height=64, colorspace=colorspace, clip_start=FRAMES[0],
                         clip_duration=len(FRAMES), keyframes=keyframes, quality=quality, want_foreground=True,
                         blend_path="/tmp/x.blend", band=4)


def _keys(shot, frames):
    return [KeyframeInput(f, shot.plates_linear[FRAMES.index(f)],
                          outer=(shot.alpha[FRAMES.index(f)] > 0.5).astype(np.float32)) for f in frames]


def _plates(shot, frames=FRAMES):
    return [(f, shot.plates_linear[FRAMES.index(f)]) for f in frames]


def _drive(worker, cancel_at_start=False, deadline=60.0):
    """Run one batch as the main thread does: poll results until the worker and its threads are gone."""
    worker.start()
    if cancel_at_start:
        worker.cancel()
    results, end = [], time.monotonic() + deadline
    while not worker.quiet:
        assert time.monotonic() < end, f"worker stuck in stage {worker.stage}: {worker.stray_threads()}"
        results += worker.results()
        time.sleep(0.005)
    assert worker.finished and worker.stray_threads() == []
    return results + worker.results()


def test_runs_a_shot_and_updates_keyframes(server, shot):
    from ftpvm_client import Client

    worker = ProcessJob(server.address, _job("jobshot"), _keys(shot, [11]), _plates(shot))
    results = _drive(worker)
    assert worker.stage == "done" and worker.error is None, worker.error
    assert worker.colorspace.lower().startswith("lin")
    assert [r.frame for r in results] == FRAMES
    assert all(r.alpha.shape == (64, 96) and r.foreground.shape == (64, 96, 3) for r in results)
    # a second run with keyframes 13 only (11 removed) and another quality: the shot follows
    worker = ProcessJob(server.address, _job("jobshot", keyframes=(13,), quality="DRAFT"), _keys(shot, [13]),
                        _plates(shot))
    again = _drive(worker)
    assert worker.stage == "done", worker.error
    with Client(server.address) as client:
        info = client.get_shot("jobshot")
    assert info.keyframes == (13,) and info.settings["downsample_ratio"] == 0.25
    assert not np.array_equal(again[0].alpha, results[0].alpha)


def test_untouched_settings_take_the_servers_defaults(tmp_path, synthetic_checkpoint, shot):
    """A server advertising another default (here --precision) is what a job that leaves it untouched gets."""
    from ftpvm_client import Client
    from server_harness import launch

    srv = launch(tmp_path / "state", synthetic_checkpoint, tmp_path / "server.log", extra=["--precision", "fp16"])
    try:
        worker = ProcessJob(srv.address, _job("jobdefaults"), _keys(shot, [11]), _plates(shot, FRAMES[:2]))
        _drive(worker)
        assert worker.stage == "done", worker.error
        with Client(srv.address) as client:
            advertised = {f["name"]: f["default"] for f in client.info().settings_schema}
            settings = client.get_shot("jobdefaults").settings
        assert settings["precision"] == advertised["precision"] != "auto"
        assert settings["roto_band"] == advertised["roto_band"]
    finally:
        assert srv.stop() == 0, srv.log_tail()


def test_batches_continue_the_recurrent_chain(server, shot):
    """Frames sent in two batches (keyframes with the first) give what one call over all frames gives."""
    from ftpvm_client import Client

    first = ProcessJob(server.address, _job("jobbatch"), _keys(shot, [11]), _plates(shot, FRAMES[:4]))
    second = ProcessJob(server.address, _job("jobbatch"), None, _plates(shot, FRAMES[4:]))
    batched = _drive(first) + _drive(second)
    assert first.stage == second.stage == "done", (first.error, second.error)
    assert [r.frame for r in batched] == FRAMES
    with Client(server.address, timeout=60) as client:
        assert client.get_shot("jobbatch").keyframes == (11,)
        direct = list(client.shot("jobbatch").matte(_plates(shot), passes=("alpha", "foreground"),
                                                    result_dtype="float32"))
    assert all(r.from_cache for r in direct), "a batch boundary changed the chain"
    for b, d in zip(batched, direct):
        np.testing.assert_allclose(b.alpha, d.alpha, atol=1e-6)


def test_cancel_stops_the_worker(server, shot):
    worker = ProcessJob(server.address, _job("jobcancel"), _keys(shot, [11]), _plates(shot))
    results = _drive(worker, cancel_at_start=True)
    assert worker.stage == "cancelled" and worker.error is None
    assert len(results) <= 1


def test_unknown_colour_space_is_explained(server, shot):
    worker = ProcessJob(server.address, _job("jobcs", colorspace="AgX Base sRGB"), _keys(shot, [11]),
                        _plates(shot))
    _drive(worker)
    assert worker.stage == "failed" and "does not know colour space 'AgX Base sRGB'" in str(worker.error)


def test_server_down(shot):
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(Exception, match="UNAVAILABLE"):
        describe_server(address, timeout=2)
    worker = ProcessJob(address, _job("nobody"), _keys(shot, [11]), _plates(shot), timeout=2)
    _drive(worker, deadline=60)
    assert worker.stage == "failed" and "UNAVAILABLE" in str(worker.error)


def test_describe_server(server):
    assert describe_server(server.address).startswith("ftpvm-server ") and "cpu" in describe_server(server.address)
