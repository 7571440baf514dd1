"""Issue 19 rows against real servers on 127.0.0.1: tiny requests cannot exhaust memory, slow calls cannot hold
the server, one server per state directory, one-line start-up errors, tokens from a file, a second `start`."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

from ftpvm_client import Client
from ftpvm_wire.planes import raw_header
from ftpvm_wire.protocol import pb, pb_grpc
from server_harness import COLORSPACE, launch, server_env
from test_reliability_units import exr_header_bytes

TOKEN = "reliability-token-0123456789"


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


@pytest.fixture(scope="module")
def tight(tmp_path_factory, synthetic_checkpoint):
    """A server with 6 RPC threads (2 for streams) and a 1 s stream idle timeout."""
    tmp = tmp_path_factory.mktemp("tight")
    srv = launch(tmp / "state", synthetic_checkpoint, tmp / "server.log",
                 extra=["--workers", "6", "--stream-idle-timeout", "1", "--decode-memory", "64"])
    yield srv
    assert srv.stop() == 0, srv.log_tail()


def _keyed(client, shot_data, shot_id):
    shot = client.open_shot(shot_id, 96, 64, COLORSPACE)
    shot.set_keyframe(0, image=shot_data.plates_linear[0], trimap=shot_data.trimaps[0])
    return shot


def test_tiny_exr_headers_declaring_huge_windows_cost_no_server_memory(tight, shot_data):
    with Client(tight.address) as client:
        _keyed(client, shot_data, "huge")
    pid = tight.process.pid
    before = _rss_mib(pid)
    payload = exr_header_bytes((4000, 4000))  # ~300 bytes declaring 16 M pixels (~190 MB of float RGB)
    started = time.monotonic()
    with grpc.insecure_channel(tight.address) as channel:
        stub = pb_grpc.MattingStub(channel)
        for _ in range(3):
            header = pb.ImageHeader(encoding=pb.ENCODING_EXR, byte_size=len(payload), data=payload)
            start = pb.KeyframeStart(shot_id="huge", frame=1, image=header, trimap=raw_header(
                np.zeros((64, 96), np.float32))[0])
            with pytest.raises(grpc.RpcError) as info:
                stub.SetKeyframe(iter([pb.SetKeyframeRequest(start=start)]), timeout=30)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "display window is 4000x4000" in info.value.details()
        frames = [pb.MatteRequest(start=pb.MatteStart(shot_id="huge", passes=[pb.PASS_ALPHA]))]
        frames += [pb.MatteRequest(frame=pb.FrameHeader(frame=f, plate=pb.ImageHeader(
            encoding=pb.ENCODING_EXR, byte_size=len(payload), data=payload))) for f in range(3)]
        answers = [m.result for m in stub.Matte(iter(frames), timeout=30) if m.WhichOneof("kind") == "result"]
    assert [a.status.code for a in answers] == [grpc.StatusCode.INVALID_ARGUMENT.value[0]] * 3
    assert all("display window" in a.status.message for a in answers)
    assert _rss_mib(pid) - before < 64  # the issue measured +3.3 GiB per such file at 12000x12000
    assert time.monotonic() - started < 20


def test_images_of_other_formats_sent_as_exr_are_refused(tight, shot_data, tmp_path):
    import OpenImageIO as oiio

    path = str(tmp_path / "plate.png")
    out = oiio.ImageOutput.create(path)
    out.open(path, oiio.ImageSpec(96, 64, 3, oiio.UINT8))
    out.write_image(np.full((64, 96, 3), 0.5, np.float32))
    out.close()
    data = open(path, "rb").read()
    with Client(tight.address) as client:
        _keyed(client, shot_data, "png")
    with grpc.insecure_channel(tight.address) as channel:
        stub = pb_grpc.MattingStub(channel)
        start = pb.KeyframeStart(shot_id="png", frame=2, image=pb.ImageHeader(
            encoding=pb.ENCODING_EXR, byte_size=len(data), data=data), trimap=raw_header(shot_data.trimaps[2])[0])
        _, trimap_bytes = raw_header(shot_data.trimaps[2])
        with pytest.raises(grpc.RpcError) as info:
            stub.SetKeyframe(iter([pb.SetKeyframeRequest(start=start),
                                   pb.SetKeyframeRequest(chunk=pb.Chunk(data=trimap_bytes))]), timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "magic number" in info.value.details()
    with Client(tight.address) as client:
        assert [k.frame for k in client.shot("png").keyframes()] == [0]


def test_slow_streams_cannot_hold_the_server(tight, shot_data):
    """8 streams that never send on a server with 6 threads: the rest answer, the idle ones are closed."""
    with Client(tight.address) as client:
        _keyed(client, shot_data, "slow")
    hold = threading.Event()
    outcomes, details = [], []

    def silent():
        yield pb.MatteRequest(start=pb.MatteStart(shot_id="slow", passes=[pb.PASS_ALPHA]))
        hold.wait(15)  # then nothing: a client that stalls

    def stream():
        with grpc.insecure_channel(tight.address) as channel:
            try:
                list(pb_grpc.MattingStub(channel).Matte(silent(), timeout=15))
                outcomes.append("OK")
            except grpc.RpcError as exc:
                outcomes.append(exc.code().name)
                if exc.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
                    details.append(exc.details())

    threads = [threading.Thread(target=stream) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(tight.address) as channel:
        for _ in range(3):
            assert pb_grpc.MattingStub(channel).GetInfo(pb.GetInfoRequest(), timeout=3).limits.max_shots > 0
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            pb_grpc.MattingStub(channel).ListShots(pb.ListShotsRequest(), timeout=3)
    for t in threads:
        t.join(20)
    hold.set()
    assert len(outcomes) == 8
    assert outcomes.count("RESOURCE_EXHAUSTED") >= 6  # only 2 stream slots on 6 threads
    # the admitted ones closed by the idle timeout, with a status and a message that say which limit and flag
    assert set(outcomes) <= {"RESOURCE_EXHAUSTED", "DEADLINE_EXCEEDED"}
    assert details and all("no message from the client for 1 s" in d and "--stream-idle-timeout" in d
                           for d in details), details
    assert "closing /ftpvm.v1.Matting/Matte: no message from the client" in tight.log_tail(200)
    for _ in range(100):  # the server side of the closed streams ends (and frees its slots) right after
        if tight.log_tail(400).count("matte stream ended shot=slow") >= 2:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(tight.log_tail(40))


def test_a_stalled_keyframe_upload_is_closed_with_deadline_exceeded_naming_the_flag(tight, shot_data):
    with Client(tight.address) as client:
        _keyed(client, shot_data, "stall")
    header, _ = raw_header(shot_data.plates_linear[1])
    start = pb.KeyframeStart(shot_id="stall", frame=1, image=header, trimap=raw_header(shot_data.trimaps[1])[0])
    hold = threading.Event()

    def stalled():
        yield pb.SetKeyframeRequest(start=start)
        hold.wait(15)  # the chunks never come
    try:
        with grpc.insecure_channel(tight.address) as channel:
            with pytest.raises(grpc.RpcError) as info:
                pb_grpc.MattingStub(channel).SetKeyframe(stalled(), timeout=15)
    finally:
        hold.set()
    assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert "the server closed this call" in info.value.details()
    assert "--stream-idle-timeout" in info.value.details()


def test_a_second_start_fails_the_call_but_the_frame_before_it_is_answered(tight, shot_data):
    with Client(tight.address) as client:
        _keyed(client, shot_data, "twice")
    header, payload = raw_header(shot_data.plates_linear[0])
    header.data = payload
    start = pb.MatteRequest(start=pb.MatteStart(shot_id="twice", passes=[pb.PASS_ALPHA]))
    got = []
    with grpc.insecure_channel(tight.address) as channel:
        with pytest.raises(grpc.RpcError) as info:
            for message in pb_grpc.MattingStub(channel).Matte(
                    iter([start, pb.MatteRequest(frame=pb.FrameHeader(frame=0, plate=header)), start]), timeout=60):
                if message.WhichOneof("kind") == "result":
                    got.append((message.result.frame, message.result.status.code))
    assert got == [(0, 0)]
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "`start`" in info.value.details()


def test_a_second_server_on_the_same_state_dir_refuses_with_one_line(tight, synthetic_checkpoint):
    state = tight.process.args[tight.process.args.index("--state-dir") + 1]
    out = subprocess.run([sys.executable, "-m", "ftpvm_server", "--state-dir", state, "--weights",
                          str(synthetic_checkpoint), "--port", "0", "--no-warmup", "--cpu"],
                         capture_output=True, text=True, timeout=120, env=server_env())
    lines = [line for line in out.stderr.splitlines() if line.strip() and " INFO " not in line
             and " WARNING " not in line]
    assert out.returncode == 2 and len(lines) == 1 and "is in use by ftpvm pid" in lines[0], out.stderr


def test_a_corrupt_state_file_is_one_line_and_exit_2(tmp_path, synthetic_checkpoint):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "state.json").write_text('{"sch')
    out = subprocess.run([sys.executable, "-m", "ftpvm_server", "--state-dir", str(tmp_path / "state"),
                          "--weights", str(synthetic_checkpoint), "--port", "0", "--no-warmup", "--cpu"],
                         capture_output=True, text=True, timeout=120, env=server_env())
    lines = [line for line in out.stderr.splitlines() if line.strip() and " INFO " not in line
             and " WARNING " not in line]
    assert out.returncode == 2 and len(lines) == 1 and "state.json is damaged" in lines[0], out.stderr


def test_token_from_a_file_and_reflection_behind_it(tmp_path, synthetic_checkpoint):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    srv = launch(tmp_path / "state", synthetic_checkpoint, tmp_path / "server.log",
                 extra=["--token-file", str(token_file)])
    try:
        with Client(srv.address, token=TOKEN) as client:
            assert client.info().auth_required
        from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

        with grpc.insecure_channel(srv.address) as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            with pytest.raises(grpc.RpcError) as info:
                list(stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                               timeout=10))
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
            answers = list(stub.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10,
                metadata=(("authorization", f"Bearer {TOKEN}"),)))
            assert answers and answers[0].list_services_response.service
        assert TOKEN not in open(f"/proc/{srv.process.pid}/cmdline").read()
    finally:
        assert srv.stop() == 0, srv.log_tail()


def test_a_truncated_shot_record_is_a_clear_error_without_server_paths_and_can_be_deleted(tight, shot_data):
    with Client(tight.address) as client:
        _keyed(client, shot_data, "torn")
    state = tight.process.args[tight.process.args.index("--state-dir") + 1]
    record = f"{state}/shots/torn/shot.json"
    with open(record, "r+b") as f:
        f.truncate(20)
    with grpc.insecure_channel(tight.address) as channel:
        stub = pb_grpc.MattingStub(channel)
        with pytest.raises(grpc.RpcError) as info:
            stub.GetShot(pb.ShotRef(shot_id="torn"), timeout=10)
        assert info.value.code() == grpc.StatusCode.DATA_LOSS
        assert "is damaged" in info.value.details() and "delete the shot (DeleteShot" in info.value.details()
        assert state not in info.value.details()
        listed = {s.shot_id: s for s in stub.ListShots(pb.ListShotsRequest(), timeout=10).shots}
        # what --max-shots counts is what ListShots shows: every shot record, the damaged one with why
        on_disk = {p.name for p in (Path(state) / "shots").iterdir() if (p / "shot.json").is_file()}
        assert set(listed) == on_disk and "torn" in listed
        assert "is damaged" in listed["torn"].damaged and state not in listed["torn"].damaged
        assert not any(s.damaged for i, s in listed.items() if i != "torn")
        assert stub.DeleteShot(pb.ShotRef(shot_id="torn"), timeout=10).deleted
        assert "torn" not in {s.shot_id for s in stub.ListShots(pb.ListShotsRequest(), timeout=10).shots}
    with Client(tight.address) as client:  # and it can be opened again
        assert client.open_shot("torn", 96, 64, COLORSPACE).keyframes() == []
