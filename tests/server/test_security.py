"""Token enforcement, path roots (symlinks and .. resolved), path mode I/O and --max-shots."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import grpc
import numpy as np
import pytest

from ftpvm_client import Client, PermissionDenied, ResourceExhausted, Unauthenticated, Unavailable
from ftpvm_client.retry import NO_RETRY
from server_harness import COLORSPACE, launch

TOKEN = "tok-" + "x" * 28


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("paths")
    root, outside = base / "root", base / "outside"
    (root / "in").mkdir(parents=True)
    (root / "out").mkdir()
    outside.mkdir()
    os.symlink(outside, root / "escape")
    return root, outside


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make a test certificate")
    tmp = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(tmp / "key.pem"), "-out", str(tmp / "cert.pem")],
                   check=True, capture_output=True, timeout=60)
    return tmp / "cert.pem", tmp / "key.pem"


@pytest.fixture(scope="module")
def secure_server(tmp_path_factory, synthetic_checkpoint, roots, cert):
    tmp = tmp_path_factory.mktemp("secure")
    srv = launch(tmp / "state", synthetic_checkpoint, tmp / "server.log",
                 extra=["--token", TOKEN, "--allow-root", str(roots[0]), "--max-shots", "3",
                        "--tls-cert", str(cert[0]), "--tls-key", str(cert[1]), "--log-format", "json"])
    yield srv
    assert srv.stop() == 0, srv.log_tail()


@pytest.fixture()
def secure_client(secure_server, cert):
    """Client(token=...) over TLS to the secure server."""
    def make(token=TOKEN, **kwargs):
        return Client(secure_server.address, token=token, tls_root_cert=str(cert[0]), **kwargs)
    return make


@pytest.fixture()
def authed(secure_client):
    with secure_client() as c:
        yield c


def _write_plate(path, image):
    from ftpvm_core.imaging import io

    io.write_exr(path, {c: image[..., i] for i, c in enumerate("RGB")}, pixel_type="float")


def test_token_is_required_and_checked(secure_server, secure_client, authed):
    for token in (None, "tok-" + "y" * 28, TOKEN[:-1]):
        with secure_client(token=token) as c:
            with pytest.raises(Unauthenticated) as info:
                c.list_shots()
        assert ("needs a token" if token is None else "does not match") in info.value.message
    info = authed.info()
    assert info.auth_required and info.path_mode
    # the token may come from the environment
    os.environ["FTPVM_TOKEN"] = TOKEN
    try:
        with secure_client(token=None) as c:
            assert c.info().auth_required
    finally:
        del os.environ["FTPVM_TOKEN"]


def test_health_check_needs_no_token_and_tls_is_required(secure_server, cert):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    credentials = grpc.ssl_channel_credentials(cert[0].read_bytes())
    with grpc.secure_channel(secure_server.address, credentials) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    with Client(secure_server.address, token=TOKEN, retry=NO_RETRY, timeout=5) as plain:
        with pytest.raises(Unavailable):
            plain.info()


def test_logs_are_json_lines(secure_server, authed):
    authed.info()
    lines = [line for line in secure_server.log_tail(50).splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line, gRPC core's included (errors only)
    assert any(e["message"].startswith("serving ") and e["level"] == "info" for e in entries)


def test_path_mode_reads_and_writes_under_the_root(authed, roots, shot_data):
    from ftpvm_core.imaging import io

    root, _ = roots
    d = shot_data
    for f in range(3):
        _write_plate(root / "in" / f"plate.{f:04d}.exr", d.plates_linear[f])
    shot = authed.open_shot("paths", 96, 64, COLORSPACE)
    shot.set_keyframe(0, image=str(root / "in" / "plate.0000.exr"), trimap=d.trimaps[0])
    frames = [(f, str(root / "in" / f"plate.{f:04d}.exr")) for f in range(3)]
    outputs = {"alpha": str(root / "out" / "alpha.####.exr"), "foreground": str(root / "out" / "fg.%04d.exr")}
    results = list(shot.matte(frames, passes=("alpha", "foreground"), outputs=outputs, result_dtype="float32"))
    for r in results:
        assert r.written["alpha"] == str((root / "out" / f"alpha.{r.frame:04d}.exr").resolve())
        written = io.read_image(r.written["alpha"])
        assert written.channels == ("A",)
        np.testing.assert_allclose(written.pixels[..., 0], r.alpha, atol=1e-3)
        assert io.read_image(r.written["foreground"]).channels == ("R", "G", "B")
    # the same frames inline give the same mattes (path mode is only a transport)
    inline = list(shot.matte([(f, d.plates_linear[f]) for f in range(3)], send_dtype="float32",
                             result_dtype="float32"))
    for a, b in zip(results, inline):
        np.testing.assert_array_equal(a.alpha, b.alpha)
    # written files only: no pixels travel back
    only_files = list(shot.matte(frames, passes=("alpha",), outputs={"alpha": outputs["alpha"]},
                                 result_dtype="none"))
    assert all(r.alpha is None and r.written["alpha"] for r in only_files)
    shot.delete()


def test_paths_outside_the_roots_are_refused(authed, roots, shot_data):
    root, outside = roots
    d = shot_data
    _write_plate(outside / "secret.exr", d.plates_linear[0])
    shot = authed.open_shot("escape", 96, 64, COLORSPACE)
    shot.set_keyframe(0, image=d.plates_linear[0], trimap=d.trimaps[0])
    for sneaky in (outside / "secret.exr", root / "escape" / "secret.exr", root / "in" / ".." / ".." / "outside" /
                   "secret.exr"):
        with pytest.raises(PermissionDenied, match="outside the server's --allow-root"):
            list(shot.matte([(0, str(sneaky))]))
        with pytest.raises(PermissionDenied):
            shot.set_keyframe(1, image=str(sneaky), trimap=d.trimaps[0])
    for template in (outside / "a.####.exr", root / "escape" / "a.####.exr"):
        with pytest.raises(PermissionDenied):
            list(shot.matte([(0, d.plates_linear[0])], outputs={"alpha": str(template)}))
    assert not any(p.name.startswith("a.") for p in outside.iterdir())
    # still serving
    assert next(iter(shot.matte([(0, d.plates_linear[0])]))).ok
    shot.delete()


def test_max_shots(authed):
    for s in authed.list_shots():
        authed.delete_shot(s.shot_id)
    for i in range(3):
        authed.open_shot(f"s{i}", 96, 64, COLORSPACE)
    with pytest.raises(ResourceExhausted, match="--max-shots"):
        authed.open_shot("s3", 96, 64, COLORSPACE)
    authed.open_shot("s1", 96, 64, COLORSPACE)  # reopening an existing shot is fine
    authed.delete_shot("s0")
    authed.open_shot("s3", 96, 64, COLORSPACE)
    assert sorted(s.shot_id for s in authed.list_shots()) == ["s1", "s2", "s3"]
