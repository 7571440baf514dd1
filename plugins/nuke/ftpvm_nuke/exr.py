"""A minimal OpenEXR reader and writer in numpy, for uncompressed scanline files only.

Nuke's Python has no image library, yet the node must hand guide pixels to the client and, in
inline mode, write the results it receives. The node's internal Write nodes produce uncompressed
scanline EXRs (``compression none``), which this module reads; it writes the same kind, which
every EXR reader (Nuke included) opens.
"""
from __future__ import annotations

import os
import struct
from typing import Dict, Mapping, Tuple

import numpy as np

MAGIC = 20000630
_TYPES = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}
_CODES = {"half": 1, "float": 2}


class ExrError(ValueError):
    """The file is not an EXR this module reads."""


def _attributes(data: bytes) -> Tuple[Dict[str, Tuple[str, bytes]], int]:
    attrs: Dict[str, Tuple[str, bytes]] = {}
    pos = 8
    while True:
        end = data.index(b"\0", pos)
        name = data[pos:end].decode()
        pos = end + 1
        if not name:
            return attrs, pos
        end = data.index(b"\0", pos)
        kind = data[pos:end].decode()
        (size,) = struct.unpack_from("<i", data, end + 1)
        pos = end + 5
        attrs[name] = (kind, data[pos:pos + size])
        pos += size


def _channels(raw: bytes) -> list:
    out, pos = [], 0
    while raw[pos:pos + 1] not in (b"\0", b""):
        end = raw.index(b"\0", pos)
        name = raw[pos:end].decode()
        ptype, _linear, xs, ys = struct.unpack_from("<iB3xii", raw, end + 1)
        if (xs, ys) != (1, 1):
            raise ExrError(f"channel {name!r} is subsampled; only full-resolution channels are read")
        out.append((name, ptype))
        pos = end + 1 + 16
    return out


def read(path: str) -> Dict[str, np.ndarray]:
    """Channels of an uncompressed scanline EXR as {name: (H, W) float32}."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        magic, version = struct.unpack_from("<ii", data, 0)
    except struct.error:
        raise ExrError(f"{path} is not an EXR file (too short)") from None
    if magic != MAGIC:
        raise ExrError(f"{path} is not an EXR file")
    if version & 0x1A00:
        raise ExrError(f"{path} is tiled, deep or multi-part; write it as plain scanlines")
    attrs, pos = _attributes(data)
    if attrs["compression"][1][0] != 0:
        raise ExrError(f"{path} is compressed; the node's Write nodes must use compression 'none'")
    x0, y0, x1, y1 = struct.unpack("<iiii", attrs["dataWindow"][1])
    width, height = x1 - x0 + 1, y1 - y0 + 1
    channels = _channels(attrs["channels"][1])
    offsets = struct.unpack_from(f"<{height}Q", data, pos)
    planes = {name: np.empty((height, width), np.float32) for name, _ in channels}
    for offset in offsets:
        y, _size = struct.unpack_from("<ii", data, offset)
        at = offset + 8
        for name, ptype in channels:
            dtype = _TYPES[ptype]
            row = np.frombuffer(data, dtype, width, at)
            planes[name][y - y0] = row
            at += width * dtype.itemsize
    return planes


def _attr(name: str, kind: str, payload: bytes) -> bytes:
    return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(payload)) + payload


def write(path: str, channels: Mapping[str, np.ndarray], pixel_type: str = "half") -> None:
    """Write {name: (H, W)} planes as an uncompressed scanline EXR, atomically."""
    names = sorted(channels)
    if not names:
        raise ExrError("an EXR needs at least one channel")
    planes = [np.asarray(channels[n], np.float32) for n in names]
    height, width = planes[0].shape
    if any(p.shape != (height, width) for p in planes):
        raise ExrError("all channels of an EXR must have one size")
    code = _CODES[pixel_type]
    dtype = _TYPES[code]
    chlist = b"".join(n.encode() + b"\0" + struct.pack("<iB3xii", code, 0, 1, 1) for n in names) + b"\0"
    box = struct.pack("<iiii", 0, 0, width - 1, height - 1)
    header = struct.pack("<ii", MAGIC, 2) + b"".join([
        _attr("channels", "chlist", chlist),
        _attr("compression", "compression", b"\0"),
        _attr("dataWindow", "box2i", box),
        _attr("displayWindow", "box2i", box),
        _attr("lineOrder", "lineOrder", b"\0"),
        _attr("pixelAspectRatio", "float", struct.pack("<f", 1.0)),
        _attr("screenWindowCenter", "v2f", struct.pack("<ff", 0.0, 0.0)),
        _attr("screenWindowWidth", "float", struct.pack("<f", 1.0)),
    ]) + b"\0"
    row_bytes = width * dtype.itemsize * len(names)
    first = len(header) + 8 * height
    offsets = struct.pack(f"<{height}Q", *[first + y * (8 + row_bytes) for y in range(height)])
    stacked = np.stack([p.astype(dtype) for p in planes], 1)  # (H, C, W)
    body = b"".join(struct.pack("<ii", y, row_bytes) + stacked[y].tobytes() for y in range(height))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(header + offsets + body)
    os.replace(tmp, path)
