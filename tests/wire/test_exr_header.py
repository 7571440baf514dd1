"""The pure-Python EXR header reader against files written by OpenImageIO and against hostile headers."""
from __future__ import annotations

import io
import struct

import numpy as np
import OpenImageIO as oiio
import pytest

from ftpvm_wire.exr_header import MAX_HEADER_BYTES, ExrHeaderError, is_exr, parse_header, read_header


def _write(path, width=40, height=24, *, data_origin=(0, 0), full=None, channels=("R", "G", "B"),
           pixel=oiio.HALF, compression="zip", tiled=False):
    spec = oiio.ImageSpec(width, height, len(channels), pixel)
    spec.channelnames = channels
    spec.x, spec.y = data_origin
    if full is not None:
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = full
    spec.attribute("compression", compression)
    if tiled:
        spec.tile_width = spec.tile_height = 16
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), oiio.geterror()
    pixels = np.random.default_rng(0).random((height, width, len(channels)), dtype=np.float32)
    assert out.write_image(pixels)
    out.close()
    return path


def test_windows_channels_and_compression_of_a_real_file(tmp_path):
    path = _write(tmp_path / "a.exr", 40, 24, data_origin=(5, 7), full=(0, 0, 64, 48),
                  channels=("R", "G", "B", "A"), compression="piz")
    header = read_header(str(path))
    assert header.data_window == (5, 7, 44, 30)
    assert header.data_size == (40, 24)
    assert header.display_window == (0, 0, 63, 47)
    assert header.display_size == (64, 48)
    assert set(header.channel_names) == {"R", "G", "B", "A"}
    assert {c.pixel_type for c in header.channels} == {"half"}
    assert header.compression == "piz"
    assert not header.tiled and not header.multipart
    assert header.decoded_bytes() == 40 * 24 * 4 * 2


def test_float_and_tiled_files(tmp_path):
    header = read_header(str(_write(tmp_path / "t.exr", pixel=oiio.FLOAT, tiled=True, compression="none")))
    assert header.tiled
    assert header.compression == "none"
    assert {c.pixel_type for c in header.channels} == {"float"}


def test_reads_only_the_header_from_a_stream(tmp_path):
    data = _write(tmp_path / "big.exr", 512, 256, compression="none").read_bytes()

    class Counting(io.BytesIO):
        taken = 0

        def read(self, n=-1):
            chunk = super().read(n)
            Counting.taken += len(chunk)
            return chunk

    header = read_header(Counting(data))
    assert header.data_size == (512, 256)
    assert Counting.taken < len(data)
    assert header.header_bytes < 4096


def _attr(name: str, kind: str, payload: bytes) -> bytes:
    return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(payload)) + payload


def _hostile(display=(0, 0, 11999, 11999), data=None, magic=20000630, version=2, extra=b"") -> bytes:
    chlist = b"R\0" + struct.pack("<iB3xii", 1, 0, 1, 1) + b"\0"
    return struct.pack("<ii", magic, version) + b"".join([
        _attr("channels", "chlist", chlist),
        _attr("compression", "compression", b"\0"),
        _attr("dataWindow", "box2i", struct.pack("<iiii", *(data or display))),
        _attr("displayWindow", "box2i", struct.pack("<iiii", *display)),
    ]) + extra + b"\0"


def test_a_tiny_file_that_declares_a_huge_image_is_measured_not_decoded():
    data = _hostile()
    assert len(data) < 400
    header = parse_header(data)
    assert header.display_size == (12000, 12000)
    assert header.decoded_bytes() == 12000 * 12000 * 2


@pytest.mark.parametrize("data, message", [
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "magic number"),
    (b"v/1", "fewer than 8 bytes"),
    (_hostile(version=3), "version 3"),
    (_hostile(version=2 | 0x1000), "multi-part"),
    (_hostile(display=(10, 10, 5, 5)), "empty"),
    (_hostile()[:60], "truncated"),
    (struct.pack("<ii", 20000630, 2) + _attr("channels", "chlist", b"R\0" + struct.pack("<iB3xii", 1, 0, 1, 1)
                                               + b"\0") + b"\0", "compression"),
    (struct.pack("<ii", 20000630, 2) + b"n\0t\0" + struct.pack("<i", 1 << 30), "longer than"),
    (struct.pack("<ii", 20000630, 2) + b"n\0t\0" + struct.pack("<i", 100) + b"xx", "beyond the header"),
    (struct.pack("<ii", 20000630, 2) + b"x" * 40, "over-long attribute name"),
])
def test_hostile_or_foreign_bytes_are_refused_with_a_reason(data, message):
    with pytest.raises(ExrHeaderError, match=message):
        parse_header(data)


def test_an_endless_header_is_refused_at_the_cap():
    filler = b"".join(_attr(f"a{i}", "string", b"x" * 1000) for i in range(MAX_HEADER_BYTES // 1000 + 2))
    with pytest.raises(ExrHeaderError, match="longer than"):
        read_header(io.BytesIO(_hostile(extra=filler)))


def test_is_exr():
    assert is_exr(_hostile())
    assert not is_exr(b"\x89PNG")
