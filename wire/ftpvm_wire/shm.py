"""Shared-memory transport rules both ends share: segment names, mapping, and raw planes in a region.

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


def write_planes(image: np.ndarray, out: memoryview, encoding: int) -> Tuple[int, int, int]:
    """Write (H, W) or (H, W, C) ``image`` as raw planes of ``encoding`` into ``out`` (exactly its size).

    One pass, no intermediate bytes object. Returns (width, height, channels).
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise ValueError(f"an image must be (H, W) or (H, W, C); got shape {array.shape}")
    height, width, channels = array.shape
    dtype = raw_dtype(encoding)
    if len(out) != height * width * channels * dtype.itemsize:
        raise ValueError(f"{len(out)} bytes cannot hold {channels} planes of {width}x{height} {dtype.name}")
    planes = np.frombuffer(out, dtype=dtype).reshape(channels, height, width)
    for c in range(channels):
        planes[c] = array[:, :, c]
    return width, height, channels


def read_planes(data: memoryview, width: int, height: int, channels: int, encoding: int) -> np.ndarray:
    """Raw planes in ``data`` -> a new (H, W, C) float32 array (a copy: the region may be reused at once)."""
    dtype = raw_dtype(encoding)
    if len(data) != width * height * channels * dtype.itemsize:
        raise ValueError(f"{len(data)} bytes do not make {channels} planes of {width}x{height} {dtype.name}")
    planes = np.frombuffer(data, dtype=dtype).reshape(channels, height, width)
    out = np.empty((height, width, channels), dtype=np.float32)
    for c in range(channels):
        out[:, :, c] = planes[c]
    return out


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


__all__ = ["MAX_NAME", "PREFIX", "attach", "check_name", "probe_matches", "read_planes", "region_view",
           "write_planes"]
