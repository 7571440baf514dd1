"""The client surface the plugins use, end to end against a real server on 127.0.0.1."""
from __future__ import annotations

import grpc
import numpy as np
import pytest

from ftpvm_client import AlreadyExists, Client, FailedPrecondition, InvalidArgument, NotFound, Progress
from server_harness import COLORSPACE


def _frames(data, frames):
    return [(f, data.plates_linear[f]) for f in frames]


def test_info_reports_model_device_limits_and_schema(client):
    info = client.info()
    assert info.protocol == "ftpvm.v1"
    assert info.device == "cpu"
    assert info.weights_source and len(info.model_fingerprint) >= 16
    assert set(info.passes) == {"alpha", "foreground", "trimap", "boundary"}
    names = {f["name"] for f in info.settings_schema}
    assert {"downsample_ratio", "memory_size", "precision"} <= names
    assert info.limits["chunk_bytes"] == 1 << 20 and info.limits["max_width"] >= 4096
    assert not info.auth_required and not info.path_mode
    assert info.precision == "fp32"  # the short precision names, on the CPU
    assert COLORSPACE in info.colorspaces


def test_surface_end_to_end(client, shot_data):
    d = shot_data
    shot = client.open_shot("sh010", width=96, height=64, colorspace=COLORSPACE)
    assert (shot.shot_id, shot.width, shot.height) == ("sh010", 96, 64)
    kf = shot.set_keyframe(0, image=d.plates_linear[0], trimap=d.trimaps[0])
    assert (kf.frame, kf.source) == (0, "trimap")
    seen = []
    results = list(shot.matte(_frames(d, range(6)), passes=("alpha", "foreground", "trimap", "boundary"),
                              progress=seen.append))
    assert [r.frame for r in results] == list(range(6))
    for r in results:
        assert r.ok and r.alpha.shape == (64, 96) and r.foreground.shape == (64, 96, 3)
        assert r.trimap.shape == (64, 96) and r.boundary.shape == (64, 96)
        assert np.isfinite(r.alpha).all() and 0 <= r.alpha.min() and r.alpha.max() <= 1
        assert set(np.unique(r.trimap)) <= {0.0, 0.5, 1.0}
    # the keyframe's trimap comes back as given
    np.testing.assert_array_equal(results[0].trimap, d.trimaps[0])
    assert [p.done for p in seen] == [1, 2, 3, 4, 5, 6] and all(p.total == 6 for p in seen)
    assert isinstance(seen[-1], Progress) and seen[-1].fraction == 1.0

    again = list(shot.matte(_frames(d, range(6)), passes=("alpha",)))
    assert all(r.from_cache for r in again)
    assert all(r.foreground is None for r in again)
    for a, b in zip(results, again):
        np.testing.assert_array_equal(a.alpha, b.alpha)

    listed = {s.shot_id: s for s in client.list_shots()}
    assert listed["sh010"].keyframes == (0,)
    assert listed["sh010"].frames == 12 and listed["sh010"].cache_hits == 6
    assert listed["sh010"].cached_frames == 6  # the engine's count, not a placeholder
    assert client.delete_shot("sh010") is True
    assert "sh010" not in {s.shot_id for s in client.list_shots()}
    assert client.delete_shot("sh010") is False


def test_open_shot_is_idempotent_and_conflicts_are_explained(client):
    a = client.open_shot("idem", 96, 64, COLORSPACE, settings={"memory_size": 3})
    b = client.open_shot("idem", 96, 64, COLORSPACE)  # no settings: keep the shot's
    assert b.info.settings["memory_size"] == 3 and a.info.settings == b.info.settings
    with pytest.raises(AlreadyExists, match="width"):
        client.open_shot("idem", 128, 64, COLORSPACE)
    c = client.open_shot("idem", 128, 64, COLORSPACE, reset=True)
    assert c.width == 128
    client.delete_shot("idem")


def test_keyframe_from_roto_mask_and_keyframe_list(client, shot_data):
    d = shot_data
    shot = client.open_shot("roto", 96, 64, COLORSPACE)
    roto = (d.alpha[2] > 0.5).astype(np.float32)
    two_shapes = np.stack([roto * 0, roto], axis=-1)  # several roto mattes are united
    kf = shot.set_keyframe(2, image=d.plates_linear[2], outer=two_shapes, band=4)
    assert (kf.frame, kf.source, kf.band) == (2, "mask", 4)
    shot.set_keyframe(5, image=d.plates_linear[5], trimap=d.trimaps[5])
    assert [k.frame for k in shot.keyframes()] == [2, 5]
    tri = next(iter(shot.matte([(2, d.plates_linear[2])], passes=("trimap",)))).trimap
    assert (tri == 0.5).any() and (tri == 1).any() and (tri == 0).any()
    assert shot.remove_keyframe(5).keyframes == (2,)
    with pytest.raises(NotFound, match="no keyframe at frame 5"):
        shot.remove_keyframe(5)
    shot.delete()


def test_errors_carry_status_and_message(client, shot_data):
    with pytest.raises(NotFound) as info:
        client.get_shot("nope")
    assert info.value.code == grpc.StatusCode.NOT_FOUND and "nope" in info.value.message
    shot = client.open_shot("nokey", 96, 64, COLORSPACE)
    with pytest.raises(FailedPrecondition, match="no keyframe"):
        list(shot.matte(_frames(shot_data, [0])))
    with pytest.raises(ValueError, match="exactly one"):
        shot.set_keyframe(0, image=shot_data.plates_linear[0])
    with pytest.raises(InvalidArgument, match="trimap"):
        shot.set_keyframe(0, image=shot_data.plates_linear[0], trimap=np.full((64, 96), 0.3, np.float32))
    shot.delete()


def test_frame_errors_do_not_end_the_stream(client, shot_data):
    d = shot_data
    shot = client.open_shot("partial", 96, 64, COLORSPACE)
    shot.set_keyframe(0, image=d.plates_linear[0], trimap=d.trimaps[0])
    frames = [(0, d.plates_linear[0]), (1, np.zeros((32, 32, 3), np.float32)), (2, d.plates_linear[2])]
    results = list(shot.matte(frames, raise_errors=False))
    assert [r.frame for r in results] == [0, 1, 2]
    assert results[0].ok and results[2].ok
    assert isinstance(results[1].error, InvalidArgument) and "32x32" in str(results[1].error)
    with pytest.raises(InvalidArgument) as info:
        list(shot.matte(frames))
    assert info.value.frame == 1
    assert shot.refresh().errors == 2
    shot.delete()


def test_exr_bytes_frames(client, shot_data, tmp_path):
    from ftpvm_core.imaging import io

    d = shot_data
    shot = client.open_shot("exr", 96, 64, COLORSPACE)
    shot.set_keyframe(0, image=d.plates_linear[0], trimap=d.trimaps[0])
    path = tmp_path / "plate.exr"
    # float, so the EXR holds exactly the float32 planes sent below (half EXRs are half since write_exr honours it)
    io.write_exr(path, {c: d.plates_linear[1][..., i] for i, c in enumerate("RGB")}, pixel_type="float")
    from_exr = next(iter(shot.matte([(1, path.read_bytes())])))
    shot.reset_cache()
    from_planes = list(shot.matte([(1, d.plates_linear[1])], send_dtype="float32"))[0]
    assert not from_planes.from_cache
    np.testing.assert_array_equal(from_exr.alpha, from_planes.alpha)
    with pytest.raises(InvalidArgument, match="EXR"):
        list(shot.matte([(1, b"not an exr at all")]))
    shot.delete()


def test_big_frames_stream_in_chunks_under_default_grpc_limits(server, client):
    """A frame far above gRPC's default 4 MiB limit, through a channel that keeps that limit."""
    width, height = 1600, 900
    rng = np.random.default_rng(0)
    plate = rng.random((height, width, 3), dtype=np.float32)
    tri = np.zeros((height, width), np.float32)
    tri[200:700, 400:1200] = 0.5
    tri[300:600, 500:1100] = 1.0
    shot = client.open_shot("big", width, height, COLORSPACE, settings={"downsample_ratio": 0.1})
    shot.set_keyframe(0, image=plate, trimap=tri, dtype="float32")  # 17 MB of plate
    result = next(iter(shot.matte([(0, plate)], passes=("alpha", "foreground"), send_dtype="float32",
                                  result_dtype="float32")))
    assert result.alpha.shape == (height, width) and result.foreground.shape == (height, width, 3)
    # A client that keeps gRPC's default 4 MiB message limit still works: every message is a ~1 MiB chunk.
    with Client(server.address, max_message_bytes=4 << 20) as small:
        again = next(iter(small.shot("big").matte([(0, plate)], passes=("alpha", "foreground"),
                                                  send_dtype="float32", result_dtype="float32")))
    assert again.from_cache
    np.testing.assert_array_equal(again.alpha, result.alpha)
    np.testing.assert_array_equal(again.foreground, result.foreground)
    client.delete_shot("big")


def test_cancel_event_stops_a_long_matte(client, shot_data):
    import threading

    from ftpvm_client import Cancelled

    d = shot_data
    shot = client.open_shot("cancel-me", 96, 64, COLORSPACE)
    shot.set_keyframe(0, image=d.plates_linear[0], trimap=d.trimaps[0])
    cancel = threading.Event()
    got = []
    endless = ((f, d.plates_linear[f % 8]) for f in range(10_000))
    with pytest.raises(Cancelled):
        for r in shot.matte(endless, cancel=cancel):
            got.append(r.frame)
            if len(got) == 3:
                cancel.set()
    assert 3 <= len(got) < 20
    shot.delete()


def test_matte_timeout_is_a_deadline(client, shot_data):
    from ftpvm_client import DeadlineExceeded

    d = shot_data
    shot = client.open_shot("deadline", 96, 64, COLORSPACE)
    shot.set_keyframe(0, image=d.plates_linear[0], trimap=d.trimaps[0])
    slow = ((f, d.plates_linear[f % 8] * (1 + f * 1e-3)) for f in range(100_000))
    with pytest.raises(DeadlineExceeded):
        for _ in shot.matte(slow, timeout=1.0):
            pass
    assert next(iter(shot.matte([(0, d.plates_linear[0])]))).ok  # the shot still works
    shot.delete()
