"""Roto mattes (outer, optional inner) travel to a real ftpvm-server on 127.0.0.1; the engine builds the trimap."""
from __future__ import annotations

import itertools

import grpc
import numpy as np
import pytest

from ftpvm_core.engine.settings import ShotSettings, settings_schema
from ftpvm_core.imaging.trimap import trimap_from_inner_outer, trimap_from_outer
from ftpvm_wire.planes import raw_header
from ftpvm_wire.protocol import pb, pb_grpc
from server_harness import COLORSPACE, planes

_ids = itertools.count()
FRAMES = range(3)


def _disk(cx: int, r: int, h: int = 64, w: int = 96) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return (((yy - 32) ** 2 + (xx - cx) ** 2) <= r * r).astype(np.float32)


def _alphas(client, data, settings=None, **guide):
    """Open a fresh shot, set keyframe 0 from ``guide``, matte FRAMES: (reply, alphas)."""
    shot = client.open_shot(f"roto-{next(_ids)}", 96, 64, COLORSPACE, settings=settings)
    reply = shot.set_keyframe(0, image=data.plates_linear[0], **guide)
    alphas = [r.alpha for r in shot.matte([(f, data.plates_linear[f]) for f in FRAMES])]
    shot.delete()
    return reply, alphas


def _same(a, b):
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_an_outer_roto_gets_the_shots_band(client, shot_data):
    roto = (shot_data.alpha[0] > 0.5).astype(np.float32)
    reply, got = _alphas(client, shot_data, outer=roto)
    assert (reply.source, reply.band) == ("mask", 0)
    _, want = _alphas(client, shot_data, trimap=trimap_from_outer(planes(roto), ShotSettings().roto_band))
    _same(got, want)
    reply, got = _alphas(client, shot_data, outer=roto, band=3)
    assert (reply.source, reply.band) == ("mask", 3)
    _, want = _alphas(client, shot_data, trimap=trimap_from_outer(planes(roto), 3))
    _same(got, want)


@pytest.mark.parametrize("combine", ["union", "clip"])
def test_inner_outside_outer_follows_the_shots_roto_combine(client, shot_data, combine):
    """The old engine refused this pair, and the wire could not carry an inner matte at all."""
    outer, inner = _disk(40, 22), _disk(62, 8)   # the core pokes out of the outer matte on the right
    reply, got = _alphas(client, shot_data, settings={"roto_combine": combine}, outer=outer, inner=inner)
    assert reply.source == "inner_outer"
    _, want = _alphas(client, shot_data, trimap=trimap_from_inner_outer(inner, outer, combine))
    _same(got, want)


def test_roto_defaults_are_advertised(client):
    schema = {f["name"]: f for f in client.info().settings_schema}
    assert {f["name"]: f for f in settings_schema()} == schema
    assert schema["roto_combine"]["choices"] == ["union", "clip"]
    assert schema["trimap_tolerance"]["default"] == ShotSettings().trimap_tolerance


def test_bad_guide_combinations_are_refused(server, client, shot_data):
    client.open_shot("roto-bad", 96, 64, COLORSPACE)
    image_header, image_bytes = raw_header(shot_data.plates_linear[0])
    planes_of = {"trimap": np.ones((64, 96)), "outer": np.ones((64, 96)), "inner": np.zeros((64, 96))}

    def call(*names):
        start = pb.KeyframeStart(shot_id="roto-bad", frame=0, image=image_header)
        payload = image_bytes
        for name in names:
            header, data = raw_header(planes_of[name].astype(np.float32))
            getattr(start, name).CopyFrom(header)
            payload += data
        with grpc.insecure_channel(server.address) as channel:
            pb_grpc.MattingStub(channel).SetKeyframe(iter([
                pb.SetKeyframeRequest(start=start), pb.SetKeyframeRequest(chunk=pb.Chunk(data=payload))]),
                timeout=30)

    for names, words in ((("inner",), "exactly one"), (("trimap", "outer"), "exactly one"),
                         (("trimap", "inner"), "inner matte goes with an outer"), (("outer", "inner"), "no solid core")):
        with pytest.raises(grpc.RpcError) as info:
            call(*names)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
        assert words in info.value.details()
    with pytest.raises(ValueError, match="inner= goes with outer="):
        client.shot("roto-bad").set_keyframe(0, image=shot_data.plates_linear[0], trimap=np.ones((64, 96)),
                                             inner=np.ones((64, 96)))


def test_the_advertised_defaults_are_the_servers(tmp_path, synthetic_checkpoint):
    """A server started with --precision advertises it as the default: what a shot gets when it is left out."""
    from ftpvm_client import Client
    from server_harness import launch

    srv = launch(tmp_path / "state", synthetic_checkpoint, tmp_path / "server.log", extra=["--precision", "fp16"])
    try:
        with Client(srv.address, timeout=60) as c:
            advertised = {f["name"]: f["default"] for f in c.info().settings_schema}
            shot = c.open_shot("defaults", 96, 64, COLORSPACE)
            assert advertised["precision"] == shot.info.settings["precision"] != ShotSettings().precision
            assert advertised["roto_band"] == shot.info.settings["roto_band"] == ShotSettings().roto_band
    finally:
        assert srv.stop() == 0, srv.log_tail()
