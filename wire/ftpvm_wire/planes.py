"""Frames <-> wire payloads: numpy images as planar half/float bytes, split into chunks.

An image travels as an ``ImageHeader`` (size, channels, encoding, total ``byte_size`` and the
first part of the bytes) followed by ``Chunk`` messages with the rest. Raw pixels are planar
(channel by channel), little-endian. Both the client and the server use this module, so
both ends agree byte for byte.
"""
from __future__ import annotations

from typing import Iterator, Optional, Tuple

import numpy as np

from .protocol import pb

#: Bytes per message the client and server aim for (well under gRPC's default 4 MiB limit).
CHUNK_BYTES = 1 << 20

_RAW_DTYPES = {pb.ENCODING_RAW_F16: np.dtype("<f2"), pb.ENCODING_RAW_F32: np.dtype("<f4")}
ENCODING_OF_DTYPE = {"float16": pb.ENCODING_RAW_F16, "float32": pb.ENCODING_RAW_F32}


def raw_dtype(encoding: int) -> np.dtype:
    """The numpy dtype of a raw encoding; ValueError for anything else."""
    try:
        return _RAW_DTYPES[encoding]
    except KeyError:
        raise ValueError(f"encoding {encoding} is not a raw pixel encoding") from None


def raw_byte_size(width: int, height: int, channels: int, encoding: int) -> int:
    """Exact byte size of raw planes of this shape."""
    return int(width) * int(height) * int(channels) * raw_dtype(encoding).itemsize


def to_planes(image: np.ndarray, encoding: int = pb.ENCODING_RAW_F16) -> Tuple[int, int, int, bytes]:
    """(H, W) or (H, W, C) array -> (width, height, channels, planar bytes)."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise ValueError(f"an image must be (H, W) or (H, W, C); got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
            or array.dtype == np.bool_):
        raise ValueError(f"an image must hold numbers; got dtype {array.dtype}")
    height, width, channels = array.shape
    planar = np.ascontiguousarray(np.moveaxis(array, 2, 0), dtype=raw_dtype(encoding))
    return width, height, channels, planar.tobytes()


def from_planes(data: bytes, width: int, height: int, channels: int, encoding: int) -> np.ndarray:
    """Planar bytes -> (H, W, C) float32 array. ValueError when the size does not match."""
    dtype = raw_dtype(encoding)
    expected = raw_byte_size(width, height, channels, encoding)
    if len(data) != expected:
        raise ValueError(
            f"{len(data)} bytes do not make {channels} planes of {width}x{height} {dtype.name} "
            f"({expected} bytes expected)"
        )
    planes = np.frombuffer(data, dtype=dtype).reshape(channels, height, width)
    return np.ascontiguousarray(np.moveaxis(planes, 0, 2), dtype=np.float32)


def raw_header(image: np.ndarray, encoding: int = pb.ENCODING_RAW_F16) -> Tuple[pb.ImageHeader, bytes]:
    """An ImageHeader (without data) and the payload for a numpy image."""
    width, height, channels, payload = to_planes(image, encoding)
    header = pb.ImageHeader(encoding=encoding, width=width, height=height, channels=channels,
                            byte_size=len(payload))
    return header, payload


def exr_header(data: bytes) -> Tuple[pb.ImageHeader, bytes]:
    """An ImageHeader for the bytes of an EXR file (size checked by the server)."""
    return pb.ImageHeader(encoding=pb.ENCODING_EXR, byte_size=len(data)), bytes(data)


def path_header(path: str) -> pb.ImageHeader:
    """An ImageHeader naming a file on the server's disk."""
    return pb.ImageHeader(encoding=pb.ENCODING_PATH, path=str(path))


def split(payload: bytes, first: int = CHUNK_BYTES, chunk_bytes: int = CHUNK_BYTES) -> Tuple[bytes, Iterator[bytes]]:
    """(first part for the header, iterator over the remaining chunks)."""
    view = memoryview(payload)

    def rest() -> Iterator[bytes]:
        for start in range(first, len(view), chunk_bytes):
            yield bytes(view[start:start + chunk_bytes])

    return bytes(view[:first]), rest()


class Assembler:
    """Collects a payload of known size from a header's data and following chunks."""

    def __init__(self, byte_size: int, first: bytes = b"", limit: Optional[int] = None):
        if limit is not None and byte_size > limit:
            raise ValueError(f"payload of {byte_size} bytes is larger than the limit of {limit} bytes")
        self.byte_size = int(byte_size)
        self._buffer = bytearray()
        self.add(first)

    @property
    def missing(self) -> int:
        """Bytes still expected."""
        return self.byte_size - len(self._buffer)

    def add(self, data: bytes) -> None:
        """Append a chunk; ValueError if it overruns the announced size."""
        if len(data) > self.missing:
            raise ValueError(
                f"chunk overruns the payload: {len(self._buffer) + len(data)} bytes sent, "
                f"{self.byte_size} announced in the header"
            )
        self._buffer += data

    def bytes(self) -> bytes:
        """The complete payload; ValueError if truncated."""
        if self.missing:
            raise ValueError(
                f"truncated payload: {len(self._buffer)} of {self.byte_size} bytes arrived"
            )
        return bytes(self._buffer)
