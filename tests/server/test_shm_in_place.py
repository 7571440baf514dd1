"""Shared-memory results are written by the engine straight into the client's slot: no copy is left to the server."""
from __future__ import annotations

import gc
from multiprocessing import resource_tracker
from types import SimpleNamespace

import numpy as np

from ftpvm_client.shm import ShmSlots
from ftpvm_server.counters import Counters
from ftpvm_server.limits import Limits
from ftpvm_server.paths import PathGuard
from ftpvm_server.payloads import Peekable
from ftpvm_server.scheduler import Scheduler
from ftpvm_server.shm import ShmHost
from ftpvm_server.stream import MatteStream
from ftpvm_wire.protocol import pb
from server_harness import OpenStreamContext

W, H = 40, 24
F32, F16 = pb.ENCODING_RAW_F32, pb.ENCODING_RAW_F16


class _WritingShot:
    """An engine shot that writes its passes where ``out`` says (as ``Shot.matte`` does) and keeps those arrays."""

    id, width, height = "in-place", W, H

    def __init__(self):
        self.given = []

    def keyframes(self):
        return [0]

    def matte(self, frames, passes, cancel, out=None):
        (frame, plate, *_), = frames
        into = (out(frame) if out is not None else None) or {}
        self.given.append(into)
        alpha = into.get("alpha", np.empty((H, W), np.float32))
        fg = into.get("foreground", np.empty((H, W, 3), np.float32))
        alpha[...] = plate[:, :, 0] * 0.5
        fg[...] = plate[:, :, ::-1]
        return [SimpleNamespace(frame=frame, alpha=alpha, foreground=fg, from_cache=False)]


def _run(result_encoding, frames=3):
    """Frames through a MatteStream over shared memory; (shot, host, slots, answers, plates)."""
    shot, host = _WritingShot(), ShmHost(enabled=True)
    scheduler = Scheduler()
    service = SimpleNamespace(limits=Limits(), guard=PathGuard([]), scheduler=scheduler, counters=Counters(),
                              temp_dir=None, shm=host, get_shot=lambda shot_id: shot)
    slots = ShmSlots(W, H, F32, result_encoding, 4, frames)  # one slot per frame: all stay readable afterwards
    rng = np.random.default_rng(0)
    plates = [rng.random((H, W, 3), dtype=np.float32) for _ in range(frames)]
    messages = [pb.MatteRequest(start=pb.MatteStart(shot_id=shot.id, passes=[pb.PASS_ALPHA, pb.PASS_FOREGROUND],
                                                    result_encoding=result_encoding))]
    for f, plate in enumerate(plates):
        header, region = slots.put_plate(plate)
        messages.append(pb.MatteRequest(frame=pb.FrameHeader(frame=f, plate=header, result_shm=region)))
    stream = MatteStream(service, Peekable(iter(messages)), OpenStreamContext())
    answers = [m.result for m in stream.run() if m.WhichOneof("kind") == "result"]
    scheduler.close()
    return shot, host, slots, answers, plates


def _close(shot, host, slots):
    shot.given.clear()  # the server's views of the slot, kept here for the checks
    gc.collect()  # and the finished stream's own references to them
    host.close()
    # this process both created and attached the segment: attaching unregistered it from the resource tracker,
    # so register it again for close() to unregister cleanly
    resource_tracker.register(getattr(slots.segment, "_name", ""), "shared_memory")
    slots.close()


def _read(slots, answer):
    alpha, fg = answer.passes
    return (slots.read(answer.shm, 0, alpha.byte_size, W, H, 1, answer.encoding, view=True)[:, :, 0],
            slots.read(answer.shm, alpha.byte_size, fg.byte_size, W, H, 3, answer.encoding, view=True))


def test_float32_results_are_written_by_the_engine_into_the_clients_slot():
    shot, host, slots, answers, plates = _run(F32)
    try:
        assert [a.frame for a in answers] == [0, 1, 2] and all(a.status.code == 0 for a in answers)
        assert all(a.HasField("shm") for a in answers)
        for into, answer, plate in zip(shot.given, answers, plates):
            assert set(into) == {"alpha", "foreground"}  # the engine was handed the slot for both passes
            alpha, fg = _read(slots, answer)
            np.testing.assert_array_equal(alpha, plate[:, :, 0] * 0.5)
            np.testing.assert_array_equal(fg, plate[:, :, ::-1])
            # the arrays the engine wrote into are the client's slot itself: a write there shows in the client
            into["alpha"][0, 0], into["foreground"][-1, -1, 2] = -7.0, -9.0
            alpha, fg = _read(slots, answer)
            assert alpha[0, 0] == -7.0 and fg[-1, -1, 2] == -9.0
        del into  # the server's views: gone before the segment is unmapped
    finally:
        _close(shot, host, slots)


def test_float16_results_get_no_destination_and_are_converted_into_the_slot():
    shot, host, slots, answers, plates = _run(F16)
    try:
        assert shot.given == [{}, {}, {}] and all(a.HasField("shm") for a in answers)
        for answer, plate in zip(answers, plates):
            alpha, fg = answer.passes
            got = slots.read(answer.shm, 0, alpha.byte_size, W, H, 1, F16)[:, :, 0]
            np.testing.assert_array_equal(got, (plate[:, :, 0] * 0.5).astype(np.float16).astype(np.float32))
    finally:
        _close(shot, host, slots)
