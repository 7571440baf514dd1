"""Wire validation: allowed roots (symlinks and .. resolved first), templates, sizes and names."""
from __future__ import annotations

import os

import grpc
import pytest

from ftpvm_server.limits import Limits, WireError
from ftpvm_server.paths import PathGuard, expand_template
from ftpvm_wire.protocol import pb


def test_paths_inside_roots_only(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir(), outside.mkdir()
    (root / "a.exr").write_bytes(b"x")
    (outside / "secret.exr").write_bytes(b"x")
    os.symlink(outside, root / "link")
    guard = PathGuard([str(root)])
    with guard.open_readable(str(root / "a.exr"), "plate") as opened:
        with open(opened, "rb") as f:
            assert f.read() == b"x"
    for sneaky in (root / "link" / "secret.exr", root / ".." / "outside" / "secret.exr",
                   tmp_path / "rootx" / "a.exr"):
        with pytest.raises(WireError) as info:
            with guard.open_readable(str(sneaky), "plate"):
                pass
        assert info.value.code == grpc.StatusCode.PERMISSION_DENIED and "--allow-root" in info.value.message
    with pytest.raises(WireError) as info:
        guard.check("relative/a.exr", "plate")
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(WireError) as info:
        PathGuard([]).check(str(root / "a.exr"), "plate")
    assert info.value.code == grpc.StatusCode.PERMISSION_DENIED and "path mode is off" in info.value.message


def test_templates():
    assert expand_template("/r/a.####.exr", 7) == "/r/a.0007.exr"
    assert expand_template("/r/a.%04d.exr", 1001) == "/r/a.1001.exr"
    assert expand_template("/r/a.%d.exr", -3) == "/r/a.-3.exr"
    with pytest.raises(WireError, match="no frame number"):
        expand_template("/r/a.exr", 1)


def test_limits_refuse_with_fix_it_messages():
    limits = Limits()
    for bad in ("", ".hidden", "a/b", "x" * 129, "sh 010"):
        with pytest.raises(WireError):
            limits.shot_id(bad)
    with pytest.raises(WireError, match="beyond this server's limit"):
        limits.size(100000, 10)
    with pytest.raises(WireError, match="empty"):
        limits.size(0, 10)
    with pytest.raises(WireError, match="not valid JSON"):
        limits.settings("{nope")
    with pytest.raises(WireError, match="JSON object"):
        limits.settings("[1, 2]")
    header = pb.ImageHeader(encoding=pb.ENCODING_RAW_F16, width=4, height=2, channels=3, byte_size=10)
    with pytest.raises(WireError, match="does not match 3 planes of 4x2 half"):
        limits.image_header(header, "plate", shot=(4, 2), channels=3)
    with pytest.raises(WireError, match="is not one of"):
        limits.image_header(pb.ImageHeader(encoding=9), "plate", shot=(4, 2))


def test_templates_accept_what_the_command_line_accepts():
    for spelling in ("####", "%04d", "@@@@", "#"):
        assert expand_template(f"/r/a.{spelling}.exr", 12) == "/r/a.0012.exr", spelling
    with pytest.raises(WireError, match="exactly one frame field") as info:
        expand_template("/r/a.%04d.####.exr", 1)
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_shot_ids_follow_the_wire_rule():
    from ftpvm_wire.shots import is_valid_shot_id

    limits = Limits()
    for value in ("sh010", ".x", "a b", "x" * 128, "x" * 129, "-ok", ""):
        if is_valid_shot_id(value):
            assert limits.shot_id(value) == value
        else:
            with pytest.raises(WireError, match="shot_id"):
                limits.shot_id(value)
