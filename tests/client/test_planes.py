"""Frames <-> planar half/float bytes, and chunk assembly (shared by client and server)."""
from __future__ import annotations

import numpy as np
import pytest

from ftpvm_wire.planes import Assembler, from_planes, raw_header, split, to_planes
from ftpvm_wire.protocol import pb


def test_planes_are_channel_by_channel_little_endian():
    image = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    width, height, channels, data = to_planes(image, pb.ENCODING_RAW_F32)
    assert (width, height, channels) == (3, 2, 3)
    planes = np.frombuffer(data, "<f4").reshape(3, 2, 3)
    np.testing.assert_array_equal(planes[0], image[:, :, 0])  # the whole R plane comes first
    np.testing.assert_array_equal(from_planes(data, 3, 2, 3, pb.ENCODING_RAW_F32), image)


def test_half_round_trip_and_single_channel():
    rng = np.random.default_rng(0)
    image = rng.random((5, 7), dtype=np.float32) * 100
    header, data = raw_header(image)
    assert header.encoding == pb.ENCODING_RAW_F16 and header.channels == 1 and header.byte_size == 5 * 7 * 2
    back = from_planes(data, 7, 5, 1, pb.ENCODING_RAW_F16)[:, :, 0]
    np.testing.assert_array_equal(back, image.astype(np.float16).astype(np.float32))


def test_wrong_sizes_are_refused_with_the_expected_size():
    with pytest.raises(ValueError, match="24 bytes expected"):
        from_planes(b"\0" * 23, 2, 2, 3, pb.ENCODING_RAW_F16)
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, C\)"):
        to_planes(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="numbers"):
        to_planes(np.array([["a"]]))


def test_split_and_assemble():
    payload = bytes(range(256)) * 41  # 10496 bytes
    first, rest = split(payload, first=1000, chunk_bytes=4096)
    chunks = list(rest)
    assert len(first) == 1000 and [len(c) for c in chunks] == [4096, 4096, 1304]
    assembler = Assembler(len(payload), first)
    for c in chunks:
        assembler.add(c)
    assert assembler.bytes() == payload
    short = Assembler(10, b"12345")
    with pytest.raises(ValueError, match="truncated payload: 5 of 10"):
        short.bytes()
    with pytest.raises(ValueError, match="overruns"):
        short.add(b"123456")
    with pytest.raises(ValueError, match="larger than the limit"):
        Assembler(100, limit=10)
