"""A minimal OpenEXR reader and writer in numpy, for uncompressed scanline files only.

Nuke's Python has no image library, yet the node must hand guide pixels to the client and, in
inline mode, write the results it receives. The node's internal Write nodes produce uncompressed
scanline EXRs (``compression none``), which this module reads (the header through ``ftpvm_wire.exr_header``,
the pixels into the display window); it writes the same kind, which every EXR reader (Nuke included) opens.
"""
from __future__ import annotations

import os
import struct
from typing import Any, Dict, Mapping

import numpy as np
from ftpvm_wire import exr_header

_TYPES: Dict[int, "np.dtype[Any]"] = {0: np.dtype("<u4"), 1: np.dtype("<f2"), 2: np.dtype("<f4")}
_CODES = {"half": 1, "float": 2}
_CODES_BY_NAME = {"uint": 0, "half": 1, "float": 2}


class ExrError(ValueError):
    """The file is not an EXR this module reads."""


def read(path: str) -> Dict[str, np.ndarray]:
    """Channels of an uncompressed scanline EXR as {name: (H, W) float32}, H x W being the display window.

    Nuke's EXR writer stores the input's bounding box as the data window and the format as the display window
    (NDK ``exrWriter.cpp``): a Roto's bbox is its shape, a blurred matte's reaches past the frame edge. The data
    window is placed into the display window: cropped where it lies outside, black where it does not cover it.
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        header = exr_header.parse_header(data)
    except exr_header.ExrHeaderError as exc:
        raise ExrError(f"{path} is not an EXR file this node reads: {exc}") from None
    if header.tiled or header.deep:
        raise ExrError(f"{path} is tiled or deep; write it as plain scanlines")
    if header.compression != "none":
        raise ExrError(f"{path} is compressed; the node's Write nodes must use compression 'none'")
    if any((c.x_sampling, c.y_sampling) != (1, 1) for c in header.channels):
        raise ExrError(f"{path} has subsampled channels; only full-resolution channels are read")
    x0, y0, _x1, _y1 = header.data_window
    dx0, dy0, _dx1, _dy1 = header.display_window
    width, height = header.data_size
    out_w, out_h = header.display_size
    offsets = struct.unpack_from(f"<{height}Q", data, header.header_bytes)
    planes = {c.name: np.zeros((out_h, out_w), np.float32) for c in header.channels}
    left, right = max(dx0 - x0, 0), min(dx0 + out_w - x0, width)   # data columns inside the display window
    for offset in offsets:
        y, _size = struct.unpack_from("<ii", data, offset)
        at = offset + 8
        row = y - dy0
        for channel in header.channels:
            dtype = _TYPES[_CODES_BY_NAME[channel.pixel_type]]
            if 0 <= row < out_h and right > left:
                values = np.frombuffer(data, dtype, width, at)
                planes[channel.name][row, x0 - dx0 + left:x0 - dx0 + right] = values[left:right]
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
    header = struct.pack("<ii", exr_header.MAGIC, 2) + b"".join([
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
