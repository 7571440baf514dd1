"""A real ftpvm-server on 127.0.0.1: health, reflection, the bad-input table, concurrency, cancellation.

Every bad request is followed by a good one that must still succeed with the reference result.
"""
from __future__ import annotations

import itertools
import threading
import time

import grpc
import numpy as np
import pytest

from ftpvm_client import Client
from ftpvm_wire.planes import raw_header
from ftpvm_wire.protocol import pb, pb_grpc
from server_harness import COLORSPACE

_ids = itertools.count()


@pytest.fixture(scope="module")
def other_data():
    from ftpvm_core.synthetic import make_shot

    return make_shot(8, 64, 96, seed=11)


@pytest.fixture(scope="module")
def reference(server, shot_data):
    """Alpha of frames 0..3 of shot_data, keyframe 0, from a fresh shot through one client."""
    with Client(server.address) as c:
        shot = c.open_shot("reference", 96, 64, COLORSPACE)
        shot.set_keyframe(0, image=shot_data.plates_linear[0], trimap=shot_data.trimaps[0])
        return [r.alpha for r in shot.matte([(f, shot_data.plates_linear[f]) for f in range(4)])]


@pytest.fixture()
def stub(server):
    with grpc.insecure_channel(server.address) as channel:
        yield pb_grpc.MattingStub(channel)


def assert_still_serves(client: Client, data, reference) -> None:
    """A good request on a fresh shot gives exactly the reference mattes."""
    shot = client.open_shot(f"good-{next(_ids)}", 96, 64, COLORSPACE)
    shot.set_keyframe(0, image=data.plates_linear[0], trimap=data.trimaps[0])
    got = [r.alpha for r in shot.matte([(f, data.plates_linear[f]) for f in range(2)])]
    for a, b in zip(got, reference):
        np.testing.assert_array_equal(a, b)
    shot.delete()


def _frame_messages(frame, image=None, header=None, payload=b"", split_at=None):
    if header is None:
        header, payload = raw_header(image)
    cut = len(payload) if split_at is None else split_at
    header.data = payload[:min(cut, 1 << 20)]
    msgs = [pb.MatteRequest(frame=pb.FrameHeader(frame=frame, plate=header))]
    rest = payload[len(header.data):cut]
    msgs += [pb.MatteRequest(chunk=pb.Chunk(data=rest[i:i + (1 << 20)])) for i in range(0, len(rest), 1 << 20)]
    return msgs


def _matte_raw(stub, shot_id, messages, passes=(pb.PASS_ALPHA,)):
    """Send a hand-made Matte stream; return [(FrameResult, payload bytes)]."""
    requests = [pb.MatteRequest(start=pb.MatteStart(shot_id=shot_id, passes=passes))] + messages
    results = []
    for response in stub.Matte(iter(requests), timeout=60):
        if response.WhichOneof("kind") == "result":
            results.append([response.result, b""])
        else:
            results[-1][1] += response.chunk.data
    return results


@pytest.fixture(scope="module")
def keyed_shot(server, shot_data):
    with Client(server.address) as c:
        shot = c.open_shot("keyed", 96, 64, COLORSPACE)
        shot.set_keyframe(0, image=shot_data.plates_linear[0], trimap=shot_data.trimaps[0])
        return shot.shot_id


def test_health_and_reflection(server):
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    with grpc.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for name in ("", "ftpvm.v1.Matting"):
            status = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10).status
            assert status == health_pb2.HealthCheckResponse.SERVING
        services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
    assert {"ftpvm.v1.Matting", "grpc.health.v1.Health"} <= services


# -- the bad-input table -------------------------------------------------------------------
def test_bad_unary_requests_get_the_right_status(server, client, stub, shot_data, keyed_shot, reference):
    d = shot_data
    cases = [
        (lambda: stub.OpenShot(pb.OpenShotRequest(shot_id="huge", width=100000, height=100000,
                                                  colorspace=COLORSPACE)), "INVALID_ARGUMENT", "limit"),
        (lambda: stub.OpenShot(pb.OpenShotRequest(shot_id="../etc", width=96, height=64, colorspace=COLORSPACE)),
         "INVALID_ARGUMENT", "shot_id"),
        (lambda: stub.OpenShot(pb.OpenShotRequest(shot_id="cs", width=96, height=64, colorspace="NoSuchSpace")),
         "INVALID_ARGUMENT", "NoSuchSpace"),
        (lambda: stub.OpenShot(pb.OpenShotRequest(shot_id="js", width=96, height=64, colorspace=COLORSPACE,
                                                  settings_json="{bad")), "INVALID_ARGUMENT", "JSON"),
        (lambda: stub.OpenShot(pb.OpenShotRequest(shot_id="js", width=96, height=64, colorspace=COLORSPACE,
                                                  settings_json='{"memory_size": 99}')),
         "INVALID_ARGUMENT", "memory_size"),
        (lambda: stub.OpenShot(pb.OpenShotRequest(shot_id="js", width=96, height=64, colorspace=COLORSPACE,
                                                  settings_json='{"warp_speed": 9}')),
         "INVALID_ARGUMENT", "warp_speed"),
        (lambda: stub.GetShot(pb.ShotRef(shot_id="unknown-shot")), "NOT_FOUND", "unknown-shot"),
        (lambda: stub.ResetCache(pb.ShotRef(shot_id="unknown-shot")), "NOT_FOUND", "unknown-shot"),
        (lambda: stub.RemoveKeyframe(pb.RemoveKeyframeRequest(shot_id="keyed", frame=77)), "NOT_FOUND", "77"),
    ]
    for call, code, words in cases:
        with pytest.raises(grpc.RpcError) as info:
            call()
        assert info.value.code().name == code, info.value.details()
        assert words in info.value.details()
        assert_still_serves(client, d, reference)


def _keyframe_requests(shot_id, image_header, image_bytes, trimap=None, outer=None, chop=0):
    start = pb.KeyframeStart(shot_id=shot_id, frame=0, image=image_header)
    payload = image_bytes
    if trimap is not None:
        h, b = raw_header(trimap)
        start.trimap.CopyFrom(h)
        payload += b
    if outer is not None:
        h, b = raw_header(outer)
        start.outer.CopyFrom(h)
        payload += b
    payload = payload[:len(payload) - chop]
    return iter([pb.SetKeyframeRequest(start=start), pb.SetKeyframeRequest(chunk=pb.Chunk(data=payload))])


def test_bad_keyframes_get_invalid_argument(server, client, stub, shot_data, keyed_shot, reference):
    d = shot_data
    image_header, image_bytes = raw_header(d.plates_linear[0])
    small_header, small_bytes = raw_header(np.zeros((8, 8, 3), np.float32))
    cases = [
        (_keyframe_requests("keyed", image_header, image_bytes, trimap=np.full((64, 96), 0.3, np.float32)),
         "INVALID_ARGUMENT", "trimap"),
        (_keyframe_requests("keyed", image_header, image_bytes, trimap=d.trimaps[0], chop=100),
         "INVALID_ARGUMENT", "truncated"),
        (_keyframe_requests("keyed", small_header, small_bytes, trimap=np.zeros((8, 8), np.float32)),
         "INVALID_ARGUMENT", "8x8"),
        (_keyframe_requests("keyed", image_header, image_bytes), "INVALID_ARGUMENT", "exactly one"),
        (_keyframe_requests("keyed", image_header, image_bytes, trimap=np.zeros((64, 96, 2), np.float32)),
         "INVALID_ARGUMENT", "channel"),
        (_keyframe_requests("unknown-shot", image_header, image_bytes, trimap=d.trimaps[0]), "NOT_FOUND", "unknown"),
        (iter([pb.SetKeyframeRequest(chunk=pb.Chunk(data=b"xx"))]), "INVALID_ARGUMENT", "start"),
    ]
    for requests, code, words in cases:
        with pytest.raises(grpc.RpcError) as info:
            stub.SetKeyframe(requests, timeout=30)
        assert info.value.code().name == code, info.value.details()
        assert words in info.value.details()
        assert_still_serves(client, d, reference)
    assert [k.frame for k in client.shot("keyed").keyframes()] == [0]


def test_bad_frames_fail_alone_inside_a_stream(server, client, stub, shot_data, keyed_shot, reference):
    d = shot_data
    good = d.plates_linear[1]
    header, payload = raw_header(good)
    wrong_size = pb.ImageHeader(encoding=pb.ENCODING_RAW_F16, width=96, height=64, channels=3,
                                byte_size=len(payload) - 2)
    huge = pb.ImageHeader(encoding=pb.ENCODING_RAW_F16, width=100000, height=100000, channels=3, byte_size=6)
    bad_dtype = pb.ImageHeader(encoding=7, width=96, height=64, channels=3, byte_size=len(payload))
    messages = []
    messages += _frame_messages(1, good)                                                     # ok
    messages += _frame_messages(2, header=pb.ImageHeader(**{**_fields(header), "byte_size": len(payload)}),
                                payload=payload, split_at=len(payload) // 2)                # truncated chunk
    messages += _frame_messages(3, header=wrong_size, payload=payload[:-2])                 # wrong size/dtype
    messages += _frame_messages(4, header=huge, payload=b"\0" * 6)                          # absurd dimensions
    messages += _frame_messages(5, header=bad_dtype, payload=payload)                       # unknown encoding
    messages += _frame_messages(6, header=pb.ImageHeader(encoding=pb.ENCODING_EXR, byte_size=64),
                                payload=b"\x76\x2f\x31\x01" + b"\0" * 60)                   # corrupt EXR
    messages += _frame_messages(7, header=pb.ImageHeader(encoding=pb.ENCODING_PATH, path="/etc/passwd"))
    messages += _frame_messages(8, np.zeros((64, 96, 4), np.float32))                       # 4 channels
    messages += _frame_messages(2, d.plates_linear[2])                                      # ok again
    results = _matte_raw(stub, keyed_shot, messages)
    codes = [(r.frame, grpc.StatusCode.OK if r.status.code == 0 else
              next(c for c in grpc.StatusCode if c.value[0] == r.status.code)) for r, _ in results]
    assert codes == [(1, grpc.StatusCode.OK), (2, grpc.StatusCode.INVALID_ARGUMENT),
                     (3, grpc.StatusCode.INVALID_ARGUMENT), (4, grpc.StatusCode.INVALID_ARGUMENT),
                     (5, grpc.StatusCode.INVALID_ARGUMENT), (6, grpc.StatusCode.INVALID_ARGUMENT),
                     (7, grpc.StatusCode.PERMISSION_DENIED), (8, grpc.StatusCode.INVALID_ARGUMENT),
                     (2, grpc.StatusCode.OK)]
    messages_by_frame = {r.frame: r.status.message for r, _ in results[1:-1]}
    assert "truncated" in messages_by_frame[2]
    assert "does not match" in messages_by_frame[3]
    assert "limit" in messages_by_frame[4]
    assert "encoding" in messages_by_frame[5]
    assert "EXR" in messages_by_frame[6]
    assert "--allow-root" in messages_by_frame[7]
    assert "channel" in messages_by_frame[8]
    assert all(p for r, p in (results[0], results[-1]))
    assert_still_serves(client, d, reference)


def _fields(header):
    return {f.name: getattr(header, f.name) for f in header.DESCRIPTOR.fields if f.name != "data"}


def test_broken_streams_are_refused_as_a_whole(server, client, stub, shot_data, keyed_shot, reference):
    cases = [
        ([pb.MatteRequest(frame=pb.FrameHeader(frame=1))], "INVALID_ARGUMENT", "start"),
        ([pb.MatteRequest(start=pb.MatteStart(shot_id="unknown-shot"))], "NOT_FOUND", "unknown-shot"),
        ([pb.MatteRequest(start=pb.MatteStart(shot_id=keyed_shot, passes=[9]))], "INVALID_ARGUMENT", "pass"),
        ([pb.MatteRequest(start=pb.MatteStart(shot_id=keyed_shot, outputs=[
            pb.OutputTemplate(path="/tmp/a.####.exr")]))], "INVALID_ARGUMENT", "not asked for"),
    ]
    with Client(server.address) as c:
        c.open_shot("no-keyframe", 96, 64, COLORSPACE)
    cases.append(([pb.MatteRequest(start=pb.MatteStart(shot_id="no-keyframe"))], "FAILED_PRECONDITION",
                  "keyframe"))
    for requests, code, words in cases:
        with pytest.raises(grpc.RpcError) as info:
            list(stub.Matte(iter(requests), timeout=30))
        assert info.value.code().name == code, info.value.details()
        assert words in info.value.details()
        assert_still_serves(client, shot_data, reference)


def test_nan_and_inf_are_sanitised_and_counted(server, client, shot_data, keyed_shot, reference):
    plate = shot_data.plates_linear[1].copy()
    plate[0, 0, 0] = np.nan
    plate[5, 7, :] = np.inf
    plate[9, 9, 2] = -np.inf
    result = next(iter(client.shot(keyed_shot).matte([(1, plate)], send_dtype="float32")))
    assert result.ok and result.nonfinite_pixels == 3 and np.isfinite(result.alpha).all()
    assert_still_serves(client, shot_data, reference)


# -- concurrency and cancellation -------------------------------------------------------------
def test_four_clients_two_shots_each_match_the_single_client_result(server, shot_data, other_data):
    datasets = {"a": shot_data, "b": other_data}
    expected = {}
    with Client(server.address) as c:
        for kind, data in datasets.items():
            shot = c.open_shot(f"single-{kind}", 96, 64, COLORSPACE)
            shot.set_keyframe(0, image=data.plates_linear[0], trimap=data.trimaps[0])
            expected[kind] = [r.alpha for r in shot.matte([(f, data.plates_linear[f]) for f in range(8)])]
        shared = c.open_shot("shared-b", 96, 64, COLORSPACE)
        shared.set_keyframe(0, image=other_data.plates_linear[0], trimap=other_data.trimaps[0])

    failures, got = [], {}

    def run(client_index: int, kind: str, shot_id: str) -> None:
        data = datasets[kind]
        try:
            with Client(server.address) as c:
                shot = c.open_shot(shot_id, 96, 64, COLORSPACE)
                if kind == "a":
                    shot.set_keyframe(0, image=data.plates_linear[0], trimap=data.trimaps[0])
                got[(client_index, kind)] = [r.alpha for r in shot.matte(
                    [(f, data.plates_linear[f]) for f in range(8)])]
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i, "a", f"client{i}-a")) for i in range(4)]
    threads += [threading.Thread(target=run, args=(i, "b", "shared-b")) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not failures, failures
    assert len(got) == 8
    for (i, kind), alphas in got.items():
        assert len(alphas) == 8
        for a, b in zip(alphas, expected[kind]):
            np.testing.assert_array_equal(a, b)


def test_cancelled_render_frees_the_worker(server, client, shot_data, keyed_shot, reference):
    d = shot_data
    endless = ((f, d.plates_linear[f % 8] * (1 + f * 1e-3)) for f in range(1, 100_000))  # never cached
    stream = client.shot(keyed_shot).matte(endless)
    for _ in range(3):
        next(stream)
    stream.close()  # cancels the call
    time.sleep(0.5)
    frames_after_cancel = client.get_shot(keyed_shot).frames
    time.sleep(1.0)
    assert client.get_shot(keyed_shot).frames == frames_after_cancel  # no more work for that stream
    started = time.monotonic()
    assert_still_serves(client, d, reference)
    assert time.monotonic() - started < 30
