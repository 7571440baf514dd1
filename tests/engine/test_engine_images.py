"""The engine's one way to decode a frame or guide from bytes or a path, and to write a result pass."""
from __future__ import annotations

import numpy as np
import pytest

from ftpvm_core.engine import InvalidInput, decode_image, write_pass
from ftpvm_core.imaging.io import read_image, write_exr


def test_bytes_and_paths_decode_alike(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.random((6, 8, 3)).astype(np.float32)
    write_exr(tmp_path / "f.exr", {c: rgb[..., i] for i, c in enumerate("RGB")}, pixel_type="float")
    write_exr(tmp_path / "g.exr", {"A": rgb[..., 0]}, pixel_type="float")
    frame = decode_image(str(tmp_path / "f.exr"), "frame")
    assert frame.shape == (6, 8, 3) and np.array_equal(frame, rgb)
    assert np.array_equal(decode_image((tmp_path / "f.exr").read_bytes(), "frame"), frame)
    guide = decode_image((tmp_path / "g.exr").read_bytes(), "guide")
    assert guide.shape == (6, 8) and np.array_equal(guide, rgb[..., 0])


def test_bad_input_is_explained(tmp_path):
    with pytest.raises(InvalidInput, match="<bytes>"):
        decode_image(b"not an exr", "frame")
    with pytest.raises(InvalidInput, match="not found"):
        decode_image(str(tmp_path / "missing.exr"), "guide")
    with pytest.raises(ValueError, match="kind"):
        decode_image(b"", "plate")
    assert not list(tmp_path.iterdir())


def test_write_pass_uses_the_wire_channel_names(tmp_path):
    fg = np.full((4, 5, 3), 0.25, np.float32)
    write_pass(str(tmp_path / "fg.exr"), "foreground", fg, {"shot": "sh010", "frame": 3})
    write_pass(str(tmp_path / "a.exr"), "alpha", fg[..., 0], {"shot": "sh010", "frame": 3})
    img = read_image(tmp_path / "fg.exr")
    assert img.channels == ("R", "G", "B") and img.metadata["ftpvm:shot"] == "sh010"
    assert read_image(tmp_path / "a.exr").channels == ("A",)
