"""The shared-memory transport: negotiation, equality with inline, validation on the server, clean-up."""
from __future__ import annotations

import os
import sys
import threading

import grpc
import numpy as np
import pytest

from ftpvm_client import Client, FTPVMError, InvalidArgument
from ftpvm_client import shm as client_shm
from ftpvm_wire import shm as wire_shm
from ftpvm_wire.planes import ENCODING_OF_DTYPE, raw_byte_size, raw_dtype
from ftpvm_wire.protocol import pb
from server_harness import COLORSPACE, launch, server_env

F16 = ENCODING_OF_DTYPE["float16"]


@pytest.fixture()
def spy_slots(monkeypatch):
    """Every ShmSlots the client makes, for checking it was (not) used and was unlinked."""
    made = []
    real = client_shm.ShmSlots

    def make(*args, **kwargs):
        slots = real(*args, **kwargs)
        made.append(slots)
        return slots

    monkeypatch.setattr(client_shm, "ShmSlots", make)
    return made


def _gone(name):
    """True when no segment ``name`` exists on this machine."""
    try:
        wire_shm.attach(name).close()
        return False
    except FileNotFoundError:
        return True


def _shot(client, data, shot_id):
    shot = client.open_shot(shot_id, 96, 64, COLORSPACE)
    shot.set_keyframe(0, image=data.plates_linear[0], trimap=data.trimaps[0])
    return shot


def test_planes_round_trip_through_a_region():
    image = np.random.default_rng(1).random((5, 7, 3), dtype=np.float32)
    for encoding in (pb.ENCODING_RAW_F16, pb.ENCODING_RAW_F32):
        buf = bytearray(raw_byte_size(7, 5, 3, encoding))
        wire_shm.write_pixels(image, memoryview(buf), encoding)
        assert bytes(buf) == image.astype(raw_dtype(encoding)).tobytes()  # interleaved, little-endian
        back = wire_shm.read_pixels(memoryview(buf), 7, 5, 3, encoding)
        tol = 1e-3 if encoding == pb.ENCODING_RAW_F16 else 0
        np.testing.assert_allclose(back, image, atol=tol)
    with pytest.raises(ValueError, match="do not make 7x5 pixels"):
        wire_shm.write_pixels(image, memoryview(bytearray(10)), pb.ENCODING_RAW_F16)


@pytest.mark.parametrize("name", ["", "x", "/ftpvm_a", "ftpvm_../x", "other_abc", "ftpvm_" + "a" * 25])
def test_segment_names_outside_the_rule_are_refused(name):
    with pytest.raises(ValueError, match="must be 'ftpvm_'"):
        wire_shm.check_name(name)


def test_attaching_does_not_unlink_the_creators_segment():
    from multiprocessing import shared_memory

    owner = shared_memory.SharedMemory(name=f"ftpvm_t{os.getpid():x}", create=True, size=64)
    try:
        other = wire_shm.attach(owner.name.lstrip("/"))
        other.close()
        again = wire_shm.attach(owner.name.lstrip("/"))  # still there
        with pytest.raises(ValueError, match="outside segment"):
            wire_shm.region_view(again, 60, 8, "test")
        again.close()
    finally:
        owner.close()
        owner.unlink()


def test_server_advertises_a_probe_this_process_can_read(client):
    support = client.stub.GetInfo(pb.GetInfoRequest()).shm
    assert support.enabled and support.probe_name.startswith("ftpvm_probe_") and len(support.probe_token) == 16
    assert wire_shm.probe_matches(support.probe_name, support.probe_token)
    assert not wire_shm.probe_matches(support.probe_name, b"x" * 16)
    assert client.shared_memory() is True


def test_shm_results_equal_inline_and_the_segment_is_unlinked(client, shot_data, spy_slots):
    d = shot_data
    frames = [(f, d.plates_linear[f]) for f in range(5)]
    passes = ("alpha", "foreground", "trimap")
    kwargs = dict(passes=passes, send_dtype="float16", result_dtype="float32")
    inline = list(_shot(client, d, "shm-a").matte(frames, transport="inline", **kwargs))
    assert spy_slots == []
    shm = list(_shot(client, d, "shm-b").matte(frames, transport="shm", **kwargs))
    assert len(spy_slots) == 1 and spy_slots[0].sent == 5  # every plate went through the segment
    for a, b in zip(inline, shm):
        assert a.frame == b.frame and b.ok
        for name in passes:
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert spy_slots[0].segment is not None and spy_slots[0] in client.shm_pool().idle()  # kept for the next call
    # "auto" picks shared memory here; frames of another size still go inline and fail on their own
    auto = list(_shot(client, d, "shm-c").matte(
        [(0, d.plates_linear[0]), (1, np.zeros((32, 32, 3), np.float32))], raise_errors=False))
    assert len(spy_slots) == 2 and spy_slots[1].sent == 2
    assert auto[0].ok and isinstance(auto[1].error, InvalidArgument) and "32x32" in str(auto[1].error)


def test_the_server_unmaps_every_segment_at_the_end_of_a_call(server, client, shot_data):
    # plates are read in place (no copy); the call must drop them all before it unmaps
    list(_shot(client, shot_data, "shm-unmap").matte([(f, shot_data.plates_linear[f]) for f in range(4)],
                                                     transport="shm"))
    log = server.log_tail(400)
    assert "still in use" not in log and "Exception ignored" not in log and "BufferError" not in log


def test_no_shared_memory_means_inline_for_auto_and_an_error_for_shm(server, shot_data, spy_slots):
    with Client(server.address, timeout=60) as c:
        c._shared_memory = False  # as a client on another machine finds
        shot = _shot(c, shot_data, "shm-remote")
        results = list(shot.matte([(1, shot_data.plates_linear[1])]))
        assert results[0].ok and spy_slots == []
        with pytest.raises(FTPVMError, match="does not share memory"):
            list(shot.matte([(1, shot_data.plates_linear[1])], transport="shm"))
        with pytest.raises(ValueError, match="transport must be one of"):
            list(shot.matte([(1, shot_data.plates_linear[1])], transport="tcp"))
        with pytest.raises(ValueError, match='transport="path"'):
            list(shot.matte([(1, shot_data.plates_linear[1])], transport="path"))


def _raw_matte(client, shot_id, frames):
    """Send hand-made frame headers; return the (FrameResult, chunk bytes) answers."""
    def requests():
        yield pb.MatteRequest(start=pb.MatteStart(shot_id=shot_id, passes=[pb.PASS_ALPHA]))
        for header in frames:
            yield pb.MatteRequest(frame=header)

    answers, current = [], None
    for response in client.stub.Matte(requests(), timeout=60):
        if response.WhichOneof("kind") == "result":
            current = [response.result, b""]
            answers.append(current)
        else:
            current[1] += response.chunk.data
    return answers


def test_server_validates_regions_and_falls_back_to_chunks(client, shot_data):
    from multiprocessing import shared_memory

    d = shot_data
    _shot(client, d, "shm-raw")
    plate_bytes = raw_byte_size(96, 64, 3, F16)
    alpha_bytes = raw_byte_size(96, 64, 1, F16)
    segment = shared_memory.SharedMemory(name=f"ftpvm_r{os.getpid():x}", create=True,
                                         size=plate_bytes + alpha_bytes)
    name = segment.name.lstrip("/")
    try:
        wire_shm.write_pixels(d.plates_linear[1], segment.buf[:plate_bytes], F16)

        def header(frame, region_name=name, offset=0, size=plate_bytes, result=None):
            plate = pb.ImageHeader(encoding=pb.ENCODING_SHM, width=96, height=64, channels=3, byte_size=size,
                                   shm_encoding=F16, shm=pb.ShmRegion(name=region_name, offset=offset, size=size))
            message = pb.FrameHeader(frame=frame, plate=plate)
            if result is not None:
                message.result_shm.CopyFrom(result)
            return message

        good = pb.ShmRegion(name=name, offset=plate_bytes, size=alpha_bytes)
        small = pb.ShmRegion(name=name, offset=plate_bytes, size=alpha_bytes - 2)
        answers = _raw_matte(client, "shm-raw", [
            header(1, result=good),
            header(2, region_name="ftpvm_nosuchsegment"),
            header(3, region_name="../etc/passwd"),
            header(4, offset=alpha_bytes + 8),                 # runs past the segment's end
            header(5, size=plate_bytes - 2),                   # not the plate's size
            header(6, result=small),                           # result does not fit: chunks instead
        ])
        codes = [a[0].status.code for a in answers]
        ok, bad = grpc.StatusCode.OK.value[0], grpc.StatusCode.INVALID_ARGUMENT.value[0]
        assert codes == [ok, bad, bad, bad, bad, ok]
        first, _ = answers[0]
        assert first.HasField("shm") and first.shm.offset == plate_bytes and first.byte_size == 0
        alpha_shm = wire_shm.read_pixels(segment.buf[plate_bytes:], 96, 64, 1, F16)
        messages = [a[0].status.message for a in answers]
        assert "no shared-memory segment" in messages[1]
        assert "must be 'ftpvm_'" in messages[2]
        assert "outside segment" in messages[3]
        assert "does not match" in messages[4]
        last, payload = answers[5]
        assert not last.HasField("shm") and last.byte_size == alpha_bytes == len(payload)
        # the same plate matted inline gives the same alpha
        inline = list(client.shot("shm-raw").matte([(1, d.plates_linear[1])], transport="inline",
                                                    result_dtype="float16"))
        np.testing.assert_array_equal(alpha_shm[:, :, 0], inline[0].alpha)
    finally:
        segment.close()
        segment.unlink()


def test_a_server_started_with_no_shm_offers_none_and_auto_goes_inline(tmp_path, synthetic_checkpoint, shot_data,
                                                                       spy_slots):
    srv = launch(tmp_path / "state", synthetic_checkpoint, tmp_path / "server.log", extra=["--no-shm"])
    try:
        with Client(srv.address, timeout=60) as c:
            assert c.stub.GetInfo(pb.GetInfoRequest()).shm.enabled is False
            assert c.shared_memory() is False
            results = list(_shot(c, shot_data, "no-shm").matte([(1, shot_data.plates_linear[1])]))
            assert results[0].ok and spy_slots == []
    finally:
        assert srv.stop() == 0, srv.log_tail()


def test_segments_are_kept_across_calls_and_unlinked_when_the_client_closes(server, shot_data, spy_slots):
    frames = [(f, shot_data.plates_linear[f]) for f in range(1, 4)]
    with Client(server.address, timeout=60) as c:
        shot = _shot(c, shot_data, "shm-pool")
        first = list(shot.matte(frames, passes=("alpha", "foreground"), transport="shm"))
        second = list(shot.matte(frames, passes=("alpha", "foreground"), transport="shm"))
        assert len(spy_slots) == 1 and spy_slots[0].sent == 6  # one segment served both calls
        for a, b in zip(first, second):
            np.testing.assert_array_equal(a.alpha, b.alpha)
            np.testing.assert_array_equal(a.foreground, b.foreground)
        list(shot.matte(frames, passes=("alpha",), transport="shm"))  # another layout: another segment
        assert len(spy_slots) == 2 and c.shm_pool().idle() == spy_slots
        name = spy_slots[0].name
        assert not _gone(name)
    assert all(s.segment is None for s in spy_slots) and _gone(name)
    assert "still in use" not in server.log_tail(400)


def test_an_abandoned_call_closes_its_segment_instead_of_reusing_it(client, shot_data, spy_slots):
    shot = _shot(client, shot_data, "shm-abandon")
    results = shot.matte([(f, shot_data.plates_linear[f]) for f in range(1, 7)], transport="shm")
    assert next(results).ok
    results.close()  # the server may still write into the slots of the frames in flight
    assert len(spy_slots) == 1 and spy_slots[0].segment is None and _gone(spy_slots[0].name)
    assert client.shm_pool().idle() == []
    again = list(shot.matte([(1, shot_data.plates_linear[1])], transport="shm"))
    assert again[0].ok and len(spy_slots) == 2


def _segment(tag, size=64):
    from multiprocessing import shared_memory

    return shared_memory.SharedMemory(name=f"ftpvm_{tag}{os.getpid():x}", create=True, size=size)


def test_the_server_maps_a_client_segment_once_and_drops_it_when_unlinked():
    from ftpvm_server.shm import ShmHost, ShmSession

    host = ShmHost(enabled=True, keep_idle=4)
    a, b = _segment("ha"), _segment("hb")
    names = [a.name.lstrip("/"), b.name.lstrip("/")]
    try:
        for _ in range(3):  # three calls of one client
            session = ShmSession(host)
            session._region(pb.ShmRegion(name=names[0], offset=0, size=16), "plate")
            session.close()
        assert host.maps == 1 and host.mapped() == [names[0]]
        held = ShmSession(host)
        held._region(pb.ShmRegion(name=names[0], offset=0, size=16), "plate")
        a.unlink()  # the client closed while a call still uses the segment: it stays mapped for that call
        other = ShmSession(host)
        other._region(pb.ShmRegion(name=names[1], offset=0, size=16), "plate")
        other.close()
        assert names[0] in host.mapped()
        held.close()
        assert host.mapped() == [names[1]]  # unlinked and unused: unmapped
    finally:
        host.close()
        for segment in (a, b):
            segment.close()
        b.unlink()
    assert host.mapped() == []


def test_the_server_keeps_at_most_keep_idle_mappings():
    from ftpvm_server.shm import ShmHost, ShmSession

    host = ShmHost(enabled=True, keep_idle=1)
    segments = [_segment(f"k{i}") for i in range(3)]
    try:
        for segment in segments:
            session = ShmSession(host)
            session._region(pb.ShmRegion(name=segment.name.lstrip("/"), offset=0, size=8), "plate")
            session.close()
        assert host.mapped() == [segments[-1].name.lstrip("/")] and host.maps == 3
    finally:
        host.close()
        for segment in segments:
            segment.close()
            segment.unlink()


def test_a_crashed_client_leaves_no_segment(tmp_path):
    import signal
    import subprocess
    import time

    code = ("import os, signal, sys\n"
            "from ftpvm_client.shm import ShmPool\n"
            "pool = ShmPool()\n"
            "slots = pool.take(8, 4, 2, 2, 1, 2)\n"  # float32 plate and result
            "pool.give_back(slots)\n"
            "print(slots.name, flush=True)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=server_env())
    assert proc.returncode == -signal.SIGKILL
    name = proc.stdout.strip()
    assert name.startswith(wire_shm.PREFIX)
    deadline = time.monotonic() + 20  # the resource tracker unlinks it once it sees its process gone
    while not _gone(name) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(name)


def test_result_views_lie_on_the_slot_and_equal_copies(client, shot_data, spy_slots):
    shot = _shot(client, shot_data, "shm-views")
    frames = [(f, shot_data.plates_linear[f]) for f in range(1, 7)]
    copies = list(shot.matte(frames, passes=("alpha", "foreground"), transport="shm"))
    results = shot.matte(frames, passes=("alpha", "foreground"), transport="shm", result_views=True)
    for want in copies:
        got = next(results)
        assert got.frame == want.frame and not got.alpha.flags.owndata and not got.foreground.flags.owndata
        np.testing.assert_array_equal(got.alpha, want.alpha)
        np.testing.assert_array_equal(got.foreground, want.foreground)
    assert next(results, None) is None
    assert len(spy_slots) == 1 and spy_slots[0].sent == 12  # both calls used the one pooled segment
    last = got.alpha.copy()
    np.frombuffer(spy_slots[0].segment.buf, np.uint8)[:] = 0  # the caller's arrays are the slot itself
    assert np.any(last != 0) and not np.any(got.alpha) and not np.any(got.foreground)


def test_a_result_view_is_not_overwritten_before_the_next_result_is_taken(client, shot_data, spy_slots):
    shot = _shot(client, shot_data, "shm-hold")
    frames = [(f, shot_data.plates_linear[f]) for f in range(1, 7)]
    copies = list(shot.matte(frames, passes=("foreground",), transport="shm"))
    results = shot.matte(frames, passes=("foreground",), transport="shm", result_views=True)
    held = next(results)
    slots = spy_slots[-1]  # the pooled segment: the first call put plates 0-5, this one 6-11 (slots 2, 3, 0, 1, 2, 3)
    for _ in range(20):  # let the sender go as far as it may: plates 6-9, never 10 into the held result's slot
        threading.Event().wait(0.05)
        assert slots.sent <= 10
    np.testing.assert_array_equal(held.foreground, copies[0].foreground)
    rest = list(results)
    assert [r.frame for r in rest] == [f for f, _ in frames[1:]] and slots.sent == 12


def test_closing_a_segment_keeps_live_result_views_mapped(client, shot_data, spy_slots):
    shot = _shot(client, shot_data, "shm-views-close")
    results = shot.matte([(f, shot_data.plates_linear[f]) for f in range(1, 7)], passes=("foreground",),
                         transport="shm", result_views=True)
    first = next(results)
    want = first.foreground.copy()
    results.close()  # abandoned: the segment is closed and unlinked while the caller still holds a view
    assert spy_slots[0].segment is None and _gone(spy_slots[0].name)
    np.testing.assert_array_equal(first.foreground, want)  # still mapped, by the view alone
    kept = list(shot.matte([(1, shot_data.plates_linear[1])], passes=("foreground",), transport="shm",
                           result_views=True))
    client.shm_pool().close()  # the pooled segment goes too, its last view still alive
    assert _gone(spy_slots[1].name) and kept[0].foreground.shape == (64, 96, 3)


def test_a_shared_memory_frame_is_answered_before_the_client_sends_another_message(client, shot_data):
    # the client sends the next plate only when a slot is free again, i.e. after a result: the server must not
    # wait for the client's next message before it mattes the frame it has (it looks for stray chunks after)
    from multiprocessing import shared_memory

    _shot(client, shot_data, "shm-nowait")
    plate_bytes = raw_byte_size(96, 64, 3, F16)
    segment = shared_memory.SharedMemory(name=f"ftpvm_w{os.getpid():x}", create=True, size=plate_bytes)
    answered, waited = threading.Event(), []
    try:
        wire_shm.write_pixels(shot_data.plates_linear[1], segment.buf[:plate_bytes], F16)
        plate = pb.ImageHeader(encoding=pb.ENCODING_SHM, width=96, height=64, channels=3, byte_size=plate_bytes,
                               shm_encoding=F16, shm=pb.ShmRegion(name=segment.name.lstrip("/"), size=plate_bytes))

        def requests():
            yield pb.MatteRequest(start=pb.MatteStart(shot_id="shm-nowait", passes=[pb.PASS_ALPHA]))
            yield pb.MatteRequest(frame=pb.FrameHeader(frame=1, plate=plate))
            waited.append(answered.wait(20))  # nothing more until the frame is answered (or 20 s pass)

        results = []
        for response in client.stub.Matte(requests(), timeout=60):
            if response.WhichOneof("kind") == "result":
                results.append(response.result)
                answered.set()
        assert [r.frame for r in results] == [1] and results[0].status.code == 0
        assert waited == [True]  # answered while the client still had the stream open and silent
    finally:
        segment.close()
        segment.unlink()
