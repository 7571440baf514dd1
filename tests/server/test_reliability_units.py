"""Issue 19 rows that need no server: sizes and formats judged before bytes, the decode budget, padding,
paths opened from directory descriptors, refusals without resolved paths."""
from __future__ import annotations

import os
import resource
import struct
import threading

import grpc
import numpy as np
import pytest

from ftpvm_server.limits import Limits, WireError
from ftpvm_server.paths import MAX_TEMPLATE_PADDING, PathGuard, expand_template
from ftpvm_server.payloads import ChunkReader, Peekable, check_exr, receive_image
from ftpvm_server.scheduler import DecodeBudget, QueueFull
from ftpvm_wire.protocol import pb
from server_harness import OpenStreamContext

SHOT = (320, 192)


def exr_header_bytes(display, data=None, channels=("B", "G", "R")) -> bytes:
    """A tiny but well-formed OpenEXR header (no pixels) declaring ``display`` (w, h) and ``data`` windows."""
    def attr(name, kind, raw):
        return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(raw)) + raw

    w, h = display
    box = struct.pack("<iiii", 0, 0, w - 1, h - 1)
    data_box = box if data is None else struct.pack("<iiii", *data)
    chlist = b"".join(c.encode() + b"\0" + struct.pack("<iB3xii", 1, 0, 1, 1) for c in channels) + b"\0"
    head = struct.pack("<ii", 20000630, 2)
    head += attr("channels", "chlist", chlist) + attr("compression", "compression", b"\x03")
    head += attr("dataWindow", "box2i", data_box) + attr("displayWindow", "box2i", box)
    head += attr("lineOrder", "lineOrder", b"\0") + attr("pixelAspectRatio", "float", struct.pack("<f", 1))
    head += attr("screenWindowCenter", "v2f", struct.pack("<ff", 0, 0))
    head += attr("screenWindowWidth", "float", struct.pack("<f", 1)) + b"\0"
    return head  # no offset table and no pixels: the header alone must be refused


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_raw_frames_of_another_size_are_refused_before_buffering():
    limits = Limits()
    big = pb.ImageHeader(encoding=pb.ENCODING_RAW_F32, width=8192, height=8192, channels=3,
                         byte_size=8192 * 8192 * 3 * 4)  # announces 805 MB
    with pytest.raises(WireError, match="but the shot is 320x192"):
        limits.image_header(big, "plate", shot=SHOT, channels=3)


def test_exr_byte_size_is_bounded_by_the_shot():
    limits = Limits()
    most = limits.exr_byte_limit(SHOT)
    assert most < 8 << 20  # an uncompressed 16-channel float EXR of 320x192 plus header room
    header = pb.ImageHeader(encoding=pb.ENCODING_EXR, byte_size=most + 1)
    with pytest.raises(WireError, match="larger than any EXR of the shot's size"):
        limits.image_header(header, "plate", shot=SHOT)
    limits.image_header(pb.ImageHeader(encoding=pb.ENCODING_EXR, byte_size=most), "plate", shot=SHOT)


@pytest.mark.parametrize("display, data, words", [
    ((12000, 12000), None, "display window is 12000x12000"),
    ((20000, 20000), None, "display window is 20000x20000"),
    ((320, 192), (0, 0, 19999, 19999), "data window"),
    ((320, 192), (-5, 0, 100, 100), "data window"),
])
def test_exr_windows_that_do_not_fit_the_shot_are_refused_before_any_pixel(display, data, words):
    payload = exr_header_bytes(display, data)
    assert len(payload) < 400
    before = _rss_kib()
    with pytest.raises(WireError, match=words):
        check_exr(payload, "plate", SHOT, Limits())
    assert _rss_kib() - before < 16 << 10  # not one decoded row of pixels: under 16 MiB


def test_a_huge_display_window_costs_no_memory_through_the_whole_receive_path():
    payload = exr_header_bytes((12000, 12000))  # a file of a few hundred bytes: header only
    header = pb.ImageHeader(encoding=pb.ENCODING_EXR, byte_size=len(payload), data=payload)
    limits = Limits()
    budget = DecodeBudget(64 << 20)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(WireError, match="display window is 12000x12000"):
        receive_image(ChunkReader(Peekable(iter(()))), header, "plate", size=SHOT, channels=3,
                      guard=PathGuard([]), limits=limits, budget=budget, temp_dir=None)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 16 << 10  # peak RSS grew < 16 MiB
    assert budget.used == 0  # the reservation was given back


@pytest.mark.parametrize("fmt", ["png", "tif", "jpg", "hdr", "dpx"])
def test_only_openexr_is_accepted_where_exr_is_declared(tmp_path, fmt):
    from ftpvm_core.imaging import io

    import OpenImageIO as oiio

    path = str(tmp_path / f"plate.{fmt}")
    out = oiio.ImageOutput.create(path)
    spec = oiio.ImageSpec(SHOT[0], SHOT[1], 3, oiio.UINT8 if fmt in ("png", "jpg") else oiio.FLOAT)
    if out is None or not out.open(path, spec):
        pytest.skip(f"this OpenImageIO cannot write {fmt}")
    out.write_image(np.full((SHOT[1], SHOT[0], 3), 0.5, np.float32))
    out.close()
    assert io  # the library that would have accepted it
    data = open(path, "rb").read()
    with pytest.raises(WireError, match="magic number"):
        check_exr(data, "plate", SHOT, Limits())


def test_frame_number_padding_in_templates_is_capped():
    assert expand_template("/r/a.%016d.exr", 7).endswith("0" * 15 + "7.exr")
    for template in ("/r/a.%0100d.exr", "/r/a." + "#" * 40 + ".exr"):
        with pytest.raises(WireError, match=f"the most is {MAX_TEMPLATE_PADDING}"):
            expand_template(template, 1)


def test_the_decode_budget_is_one_bound_for_every_call():
    budget = DecodeBudget(100, wait_s=0.2)
    with pytest.raises(QueueFull, match="more than this server's decode budget"):
        with budget.reserve(101, "plate"):
            pass
    with budget.reserve(60, "a") as held:
        with pytest.raises(QueueFull, match="decoding other images"):  # 60 + 60 > 100: waits, then refuses
            with budget.reserve(60, "b"):
                pass
        held.shrink(30)  # the real size turned out smaller
        with budget.reserve(60, "c"):
            assert budget.used == 90
    assert budget.used == 0
    # a waiting reservation goes through as soon as another is given back
    budget = DecodeBudget(100, wait_s=10)
    first = budget.reserve(80, "a")
    first.__enter__()
    got = threading.Event()

    def second():
        with budget.reserve(80, "b"):
            got.set()
    t = threading.Thread(target=second)
    t.start()
    assert not got.wait(0.3)
    first.__exit__(None, None, None)
    t.join(5)
    assert got.is_set() and budget.used == 0


def test_a_folder_swapped_for_a_symlink_after_the_check_cannot_lead_outside(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "shots").mkdir(parents=True), outside.mkdir()
    guard = PathGuard([str(root)])
    with guard.open_writable(str(root / "shots" / "a.0001.exr"), "alpha output") as opened:
        os.rename(root / "shots", root / "moved")  # the attack: swap the folder for a symlink mid-request
        os.symlink(outside, root / "shots")
        with open(opened, "wb") as f:
            f.write(b"pixels")
    assert os.listdir(outside) == []  # nothing written outside the root ...
    assert (root / "moved" / "a.0001.exr").read_bytes() == b"pixels"  # ... it went to the folder that was checked
    with pytest.raises(WireError) as info:  # and the next request sees the symlink and refuses
        with guard.open_writable(str(root / "shots" / "a.0002.exr"), "alpha output"):
            pass
    assert info.value.code == grpc.StatusCode.PERMISSION_DENIED


def test_refusals_never_show_resolved_server_paths(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "hidden-place"
    root.mkdir(), outside.mkdir()
    (outside / "plate.exr").write_bytes(b"x")
    os.symlink(outside, root / "link")
    guard = PathGuard([str(root)])
    with pytest.raises(WireError) as info:
        with guard.open_readable(str(root / "link" / "plate.exr"), "plate"):
            pass
    assert "hidden-place" not in info.value.message and str(root / "link" / "plate.exr") in info.value.message


class _FakeContext:
    def __init__(self):
        self.cancelled = threading.Event()

    def cancel(self):
        self.cancelled.set()


@pytest.mark.parametrize("limit", ["idle", "total"])
def test_the_watchdog_closes_streams_with_deadline_exceeded_naming_the_limit_and_its_flag(limit):
    from ftpvm_server.calls import StreamExpired, Watchdog, _Watched

    stop = threading.Event()

    def client():  # idle: one message, then silence; total: a message every 20 ms, for ever
        yield "start"
        while not stop.is_set():
            if limit == "idle":
                stop.wait(30)
            else:
                stop.wait(0.02)
                yield "more"
    watchdog = Watchdog(idle_s=0.3 if limit == "idle" else 60, total_s=60 if limit == "idle" else 0.5, period=0.05)
    call = _Watched("/ftpvm.v1.Matting/Matte", _FakeContext())
    watchdog.add(call)
    got = []
    try:
        with pytest.raises(StreamExpired) as info:
            for message in call.requests(client()):
                got.append(message)
    finally:
        stop.set()
        call.done.set()
        watchdog.close()
    assert info.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    flag = "--stream-idle-timeout" if limit == "idle" else "--stream-max-seconds"
    assert flag in info.value.message and "the server closed this call" in info.value.message
    assert got[0] == "start" and not call.context.cancelled.is_set()  # closed with a status, not a plain cancel


def test_shared_memory_probes_of_dead_servers_are_removed(tmp_path):
    import subprocess
    import sys

    from ftpvm_server.shm import remove_stale_probes

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead, live = f"ftpvm_probe_{child.pid:x}_0badc0de", f"ftpvm_probe_{os.getpid():x}_600dc0de"
    for name in (dead, live, "ftpvm_1234_abcd"):  # the last: a client's segment, not ours to judge
        (tmp_path / name).write_bytes(b"\0" * 16)
    assert remove_stale_probes(str(tmp_path)) == [str(tmp_path / dead)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live, "ftpvm_1234_abcd"])


class _BlockedShot:
    """A shot whose matte waits for ``go``: decoded frames pile up in the stream meanwhile."""

    id, width, height = "queued", 64, 48

    def __init__(self):
        self.go = threading.Event()

    def keyframes(self):
        return [0]

    def matte(self, frames, passes, cancel, out=None):
        from types import SimpleNamespace

        self.go.wait(30)
        (frame, plate, *_), = frames  # (frame, plate) or (frame, plate, input hash), as Shot.matte takes them
        return [SimpleNamespace(frame=frame, alpha=plate[:, :, 0].copy(), from_cache=False)]


def test_decoded_frames_queued_in_a_stream_count_toward_the_decode_budget():
    from types import SimpleNamespace

    from ftpvm_server.counters import Counters
    from ftpvm_server.payloads import estimate
    from ftpvm_server.scheduler import Scheduler
    from ftpvm_server.shm import ShmHost
    from ftpvm_server.stream import MatteStream
    from ftpvm_wire.planes import raw_header

    shot = _BlockedShot()
    plate = np.random.default_rng(0).random((48, 64, 3), dtype=np.float32)
    header, payload = raw_header(plate, pb.ENCODING_RAW_F32)
    limits = Limits()
    decoding = estimate(header, (64, 48), limits)  # what one frame holds while it is decoded
    scheduler = Scheduler(decode_budget_bytes=decoding + 2 * plate.nbytes)
    budget = scheduler.decode_budget
    service = SimpleNamespace(limits=limits, guard=PathGuard([]), scheduler=scheduler, counters=Counters(),
                              temp_dir=None, shm=ShmHost(enabled=False), get_shot=lambda shot_id: shot)
    messages = [pb.MatteRequest(start=pb.MatteStart(shot_id="queued", passes=[pb.PASS_ALPHA],
                                                    result_encoding=pb.ENCODING_RAW_F32))]
    for f in range(8):
        h = pb.ImageHeader()
        h.CopyFrom(header)
        h.data = payload
        messages.append(pb.MatteRequest(frame=pb.FrameHeader(frame=f, plate=h)))
    stream = MatteStream(service, Peekable(iter(messages)), OpenStreamContext())
    answers = []
    runner = threading.Thread(target=lambda: answers.extend(
        m.result for m in stream.run() if m.WhichOneof("kind") == "result"))
    runner.start()
    try:
        for _ in range(300):  # the engine holds frame 0: the reader fills the budget, then waits for room
            if budget.waiting:
                break
            threading.Event().wait(0.05)
        assert budget.waiting == 1, "the reader never waited: queued frames are not counted"
        assert budget.used == 3 * plate.nbytes <= budget.total  # three decoded frames held, a fourth waits
    finally:
        shot.go.set()
        runner.join(60)
    assert [a.frame for a in answers] == list(range(8)) and all(a.status.code == 0 for a in answers)
    assert budget.used == 0  # every frame's share was given back once the engine had it
    scheduler.close()


def test_a_damaged_frame_index_is_data_loss_with_the_engine_message():
    from ftpvm_core.errors import IndexDamaged
    from ftpvm_server.errors import status_of

    code, message, retry = status_of(IndexDamaged("shot 's': its frame index is damaged; reset the shot's cache"))
    assert code == grpc.StatusCode.DATA_LOSS and "reset the shot's cache" in message and retry is None
