"""Shared-memory transport rules both ends share: segment names, mapping, and pixels in a region.

A client on the server's machine puts plates and takes results through POSIX shared memory instead
of the gRPC stream (``ENCODING_SHM``, ``FrameHeader.result_shm``; see docs/server.md). The client
creates and unlinks its segments; the server only maps them for one call. Python's resource
tracker would unlink a segment that a process merely *attached* when that process exits, so
:func:`attach` maps without registering it.
"""
from __future__ import annotations

import re
from multiprocessing import resource_tracker, shared_memory
from typing import Tuple

import numpy as np

from .planes import raw_dtype

#: Every segment of the transport starts with this (the server maps no other names).
PREFIX = "ftpvm_"
#: Portable POSIX name length (macOS allows 31 bytes with the leading slash).
MAX_NAME = 30
_NAME = re.compile(r"^ftpvm_[A-Za-z0-9_]{1,24}$")


def check_name(name: str) -> str:
    """``name`` when it is a transport segment name; ValueError saying the rule otherwise."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"shared-memory segment name {name!r} is not allowed: it must be {PREFIX!r} followed by "
                         f"1 to 24 letters, digits or underscores")
    return name


def attach(name: str) -> shared_memory.SharedMemory:
    """Map an existing segment without handing it to the resource tracker (its creator unlinks it)."""
    segment = shared_memory.SharedMemory(name=check_name(name), create=False)
    try:  # Python < 3.13 registers attached segments too; undo that so our exit never unlinks them
        resource_tracker.unregister(getattr(segment, "_name", "/" + name), "shared_memory")
    except Exception:  # noqa: BLE001 - no tracker process, or an interpreter that did not register it
        pass
    return segment


def region_view(segment: shared_memory.SharedMemory, offset: int, size: int, what: str) -> memoryview:
    """The bytes ``[offset, offset + size)`` of ``segment``; ValueError when they are not all inside it."""
    if offset < 0 or size < 0 or offset + size > segment.size:
        raise ValueError(f"{what}: region [{offset}, {offset + size}) is outside segment {segment.name!r} of "
                         f"{segment.size} bytes")
    return segment.buf[offset:offset + size]


def _pixels(data: memoryview, width: int, height: int, channels: int, encoding: int) -> np.ndarray:
    dtype = raw_dtype(encoding)
    if len(data) != width * height * channels * dtype.itemsize:
        raise ValueError(f"{len(data)} bytes do not make {width}x{height} pixels of {channels} {dtype.name} "
                         f"channel(s) ({width * height * channels * dtype.itemsize} bytes)")
    return np.frombuffer(data, dtype=dtype).reshape(height, width, channels)


def write_pixels(image: np.ndarray, out: memoryview, encoding: int) -> Tuple[int, int, int]:
    """Write (H, W) or (H, W, C) ``image`` into ``out`` (exactly its size) as interleaved pixels of ``encoding``.

    Shared memory carries pixels interleaved (row by row, channels together), as host apps and the engine hold
    them, so float32 costs one plain copy, and none when ``image`` already lies on exactly these bytes (it was
    written in place). Returns (width, height, channels).
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise ValueError(f"an image must be (H, W) or (H, W, C); got shape {array.shape}")
    height, width, channels = array.shape
    target = _pixels(out, width, height, channels, encoding)
    if not (array.dtype == target.dtype and array.flags.c_contiguous
            and array.__array_interface__["data"][0] == target.__array_interface__["data"][0]):
        np.copyto(target, array, casting="unsafe")
    return width, height, channels


def read_pixels(data: memoryview, width: int, height: int, channels: int, encoding: int,
                copy: bool = True) -> np.ndarray:
    """Interleaved pixels in ``data`` -> (H, W, C) float32: a new array, or with ``copy=False`` and float32 pixels
    a view of ``data`` itself (valid only while the region is not reused)."""
    return _pixels(data, width, height, channels, encoding).astype(np.float32, copy=copy)


def probe_matches(name: str, token: bytes) -> bool:
    """True when segment ``name`` can be mapped here and begins with ``token`` (the server's probe)."""
    if not token:
        return False
    try:
        segment = attach(name)
    except (OSError, ValueError):
        return False
    try:
        return bytes(segment.buf[:len(token)]) == token
    finally:
        segment.close()


__all__ = ["MAX_NAME", "PREFIX", "attach", "check_name", "probe_matches", "read_pixels", "region_view",
           "write_pixels"]
