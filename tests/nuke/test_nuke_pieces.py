"""The numpy EXR module, keyframe guides and artist messages."""
from __future__ import annotations

import numpy as np
import pytest

from nuke_support import write_exr
from ftpvm_nuke import exr, guides, messages
from ftpvm_nuke.plan import PlanError


def test_exr_write_read_back_with_openimageio(tmp_path):
    from ftpvm_core.imaging import io

    a = np.linspace(0, 1, 35, dtype=np.float32).reshape(5, 7)
    exr.write(str(tmp_path / "a.exr"), {"A": a, "R": a * 2}, "half")
    img = io.read_image(tmp_path / "a.exr")
    assert sorted(img.channels) == ["A", "R"]
    assert np.abs(img.channel("A") - a).max() < 1e-3 and np.abs(img.channel("R") - 2 * a).max() < 2e-3
    exr.write(str(tmp_path / "f.exr"), {"Y": a}, "float")
    assert np.array_equal(exr.read(str(tmp_path / "f.exr"))["Y"], a)


def test_exr_reads_openimageio_files_and_refuses_compressed(tmp_path):
    import OpenImageIO as oiio

    a = np.random.default_rng(0).random((6, 9)).astype(np.float32)
    write_exr(tmp_path / "zip.exr", {"R": a, "G": a, "B": a})       # zip compression (OIIO's default)
    with pytest.raises(exr.ExrError, match="compressed"):
        exr.read(str(tmp_path / "zip.exr"))
    spec = oiio.ImageSpec(9, 6, 2, oiio.FLOAT)
    spec.channelnames = ("A", "R")
    spec.attribute("compression", "none")
    out = oiio.ImageOutput.create(str(tmp_path / "raw.exr"))
    out.open(str(tmp_path / "raw.exr"), spec)
    out.write_image(np.stack([a, a / 2], -1))
    out.close()
    planes = exr.read(str(tmp_path / "raw.exr"))
    assert np.array_equal(planes["A"], a) and np.array_equal(planes["R"], a / 2)
    (tmp_path / "junk.exr").write_bytes(b"nope")
    with pytest.raises(exr.ExrError, match="not an EXR"):
        exr.read(str(tmp_path / "junk.exr"))


def test_guides_by_mode_are_the_channels_as_they_are():
    """The node sends its roto channels; it builds no trimap (the engine's rules do, on the server)."""
    inner = np.zeros((8, 8), np.float32)
    inner[3:5, 3:5] = 1
    outer = np.zeros((8, 8), np.float32)
    outer[2:6, 2:6] = 0.7
    planes = {"R": inner, "A": outer}
    got = guides.guide("roto", planes, 1)
    assert list(got) == ["outer"] and np.array_equal(got["outer"], outer)
    got = guides.guide("inner_outer", planes, 1, inner_channel="red", outer_channel="alpha")
    assert sorted(got) == ["inner", "outer"]
    assert np.array_equal(got["inner"], inner) and np.array_equal(got["outer"], outer)   # no merge, no snap
    got = guides.guide("trimap", {"A": outer * 0.5 + inner * 0.5}, 1)
    assert list(got) == ["trimap"] and np.array_equal(got["trimap"], outer * 0.5 + inner * 0.5)
    with pytest.raises(PlanError, match="no green channel"):
        guides.guide("roto", planes, 1, roto_channel="green")
    with pytest.raises(PlanError, match="Unknown trimap mode"):
        guides.guide("matte", planes, 1)


def test_messages_say_what_to_do():
    from ftpvm_client import FailedPrecondition, Unavailable

    text = messages.explain(Unavailable("connection refused"), "10.0.0.5:50051")
    assert "cannot reach" in text and "10.0.0.5:50051" in text and "ftpvm-server" in text
    text = messages.explain(FailedPrecondition("shot 'a' exists with size 96x64; open with reset"), "x")
    assert "another 'shot id'" in text
    assert "Set a keyframe" in messages.explain(FailedPrecondition("shot 'a' has no keyframe"), "x")
    assert messages.explain(PlanError("Connect the plate.")) == "FTPVMMatte: Connect the plate."
    assert "Script Editor" in messages.explain(KeyError("boom"))
    assert "ftpvm nuke install" in messages.explain(ModuleNotFoundError("No module named 'grpc'"))
