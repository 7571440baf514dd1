"""Read an OpenEXR file's header without touching its pixels (pure Python, bounded).

Used wherever an EXR must be judged before it is decoded: the server refuses a file whose windows do not fit the
shot before any pixel memory is allocated, and hosts without an image library (Nuke's Python) learn where the
pixels sit. Facts from the OpenEXR file layout document ("OpenEXR File Layout", openexr.com): a file starts with
the magic number 20000630 and a version field whose low byte is the format version (2) and whose bits 9-12 flag
tiles (0x200), long names (0x400), deep data (0x800) and multiple parts (0x1000); then attributes
``name\\0type\\0<int32 size><bytes>`` until an empty name. ``dataWindow`` and ``displayWindow`` are box2i
(xMin, yMin, xMax, yMax, inclusive). Everything is little-endian.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO, Dict, List, Tuple, Union

MAGIC = 20000630
MAGIC_BYTES = struct.pack("<i", MAGIC)
#: No real header comes near this; a longer one is refused before it is read further.
MAX_HEADER_BYTES = 1 << 20
TILED, LONG_NAMES, DEEP, MULTIPART = 0x200, 0x400, 0x800, 0x1000
COMPRESSIONS = ("none", "rle", "zips", "zip", "piz", "pxr24", "b44", "b44a", "dwaa", "dwab", "htj2k256",
                "htj2k32")
PIXEL_TYPES = {0: "uint", 1: "half", 2: "float"}
PIXEL_BYTES = {0: 4, 1: 2, 2: 4}

Box = Tuple[int, int, int, int]


class ExrHeaderError(ValueError):
    """The bytes are not an OpenEXR header this reader understands; the message says why."""


@dataclass(frozen=True)
class Channel:
    name: str
    pixel_type: str  # "uint" | "half" | "float"
    x_sampling: int
    y_sampling: int


@dataclass(frozen=True)
class ExrHeader:
    """The facts of a single-part scanline or tiled EXR that decide whether and how to read it."""

    version: int
    flags: int
    data_window: Box
    display_window: Box
    channels: Tuple[Channel, ...]
    compression: str
    header_bytes: int  # bytes up to and including the header's end (the offset table follows)

    @property
    def tiled(self) -> bool:
        return bool(self.flags & TILED)

    @property
    def deep(self) -> bool:
        return bool(self.flags & DEEP)

    @property
    def multipart(self) -> bool:
        return bool(self.flags & MULTIPART)

    @property
    def data_size(self) -> Tuple[int, int]:
        """(width, height) of the data window."""
        x0, y0, x1, y1 = self.data_window
        return x1 - x0 + 1, y1 - y0 + 1

    @property
    def display_size(self) -> Tuple[int, int]:
        """(width, height) of the display window (the image's format)."""
        x0, y0, x1, y1 = self.display_window
        return x1 - x0 + 1, y1 - y0 + 1

    @property
    def channel_names(self) -> Tuple[str, ...]:
        return tuple(c.name for c in self.channels)

    def decoded_bytes(self) -> int:
        """Bytes the data window's pixels take once decoded (every channel, its own pixel size)."""
        width, height = self.data_size
        return sum(width * height * PIXEL_BYTES[_code(c.pixel_type)] // (c.x_sampling * c.y_sampling)
                   for c in self.channels)


def _code(pixel_type: str) -> int:
    return {v: k for k, v in PIXEL_TYPES.items()}[pixel_type]


def is_exr(data: bytes) -> bool:
    """True when ``data`` starts with the OpenEXR magic number."""
    return data[:4] == MAGIC_BYTES


def _cstring(data: bytes, pos: int, limit: int, what: str) -> Tuple[str, int]:
    end = data.find(b"\0", pos, min(len(data), pos + limit + 1))
    if end < 0:
        raise ExrHeaderError(f"EXR header is truncated or has an over-long {what}")
    try:
        return data[pos:end].decode("ascii"), end + 1
    except UnicodeDecodeError:
        raise ExrHeaderError(f"EXR header has a non-ASCII {what}") from None


def _box(raw: bytes, name: str) -> Box:
    if len(raw) != 16:
        raise ExrHeaderError(f"EXR attribute {name} must be a box2i of 16 bytes, not {len(raw)}")
    x0, y0, x1, y1 = struct.unpack("<iiii", raw)
    if x1 < x0 or y1 < y0:
        raise ExrHeaderError(f"EXR {name} ({x0}, {y0}) - ({x1}, {y1}) is empty")
    return x0, y0, x1, y1


def _channel_list(raw: bytes) -> Tuple[Channel, ...]:
    channels: List[Channel] = []
    pos = 0
    while pos < len(raw) and raw[pos:pos + 1] != b"\0":
        name, pos = _cstring(raw, pos, 255, "channel name")
        if pos + 16 > len(raw):
            raise ExrHeaderError("EXR channel list is truncated")
        code, _linear, xs, ys = struct.unpack_from("<iB3xii", raw, pos)
        pos += 16
        if code not in PIXEL_TYPES:
            raise ExrHeaderError(f"EXR channel {name!r} has unknown pixel type {code}")
        if xs < 1 or ys < 1:
            raise ExrHeaderError(f"EXR channel {name!r} has invalid sampling {xs}x{ys}")
        channels.append(Channel(name, PIXEL_TYPES[code], xs, ys))
    if not channels:
        raise ExrHeaderError("EXR header lists no channels")
    return tuple(channels)


def parse_header(data: bytes) -> ExrHeader:
    """Parse the header at the start of ``data`` (the whole file, or at least its header).

    Raises :class:`ExrHeaderError` for anything but a single-part OpenEXR header with the required attributes.
    """
    if len(data) < 8:
        raise ExrHeaderError("not an OpenEXR file: fewer than 8 bytes")
    if not is_exr(data):
        raise ExrHeaderError("not an OpenEXR file: the magic number 20000630 is missing")
    (version_field,) = struct.unpack_from("<i", data, 4)
    version, flags = version_field & 0xFF, version_field & ~0xFF
    if version != 2:
        raise ExrHeaderError(f"OpenEXR format version {version} is not supported (only 2)")
    if flags & MULTIPART:
        raise ExrHeaderError("multi-part OpenEXR files are not supported; write a single-part file")
    name_limit = 255 if flags & LONG_NAMES else 31
    attrs: Dict[str, Tuple[str, bytes]] = {}
    pos = 8
    while True:
        if pos >= MAX_HEADER_BYTES:
            raise ExrHeaderError(f"EXR header is longer than {MAX_HEADER_BYTES} bytes")
        name, pos = _cstring(data, pos, name_limit, "attribute name")
        if not name:
            break
        kind, pos = _cstring(data, pos, name_limit, "attribute type")
        if pos + 4 > len(data):
            raise ExrHeaderError("EXR header is truncated")
        (size,) = struct.unpack_from("<i", data, pos)
        pos += 4
        if size >= 0 and pos + size > MAX_HEADER_BYTES:
            raise ExrHeaderError(f"EXR header is longer than {MAX_HEADER_BYTES} bytes")
        if size < 0 or pos + size > len(data):
            raise ExrHeaderError(f"EXR attribute {name!r} declares {size} bytes, beyond the header")
        attrs[name] = (kind, data[pos:pos + size])
        pos += size
    for required in ("channels", "compression", "dataWindow", "displayWindow"):
        if required not in attrs:
            raise ExrHeaderError(f"EXR header lacks the required attribute {required!r}")
    compression_raw = attrs["compression"][1]
    if len(compression_raw) != 1 or compression_raw[0] >= len(COMPRESSIONS):
        raise ExrHeaderError("EXR header has an unknown compression")
    return ExrHeader(version=version, flags=flags, data_window=_box(attrs["dataWindow"][1], "dataWindow"),
                     display_window=_box(attrs["displayWindow"][1], "displayWindow"),
                     channels=_channel_list(attrs["channels"][1]), compression=COMPRESSIONS[compression_raw[0]],
                     header_bytes=pos)


def read_header(source: Union[str, BinaryIO]) -> ExrHeader:
    """Parse the header of an EXR file given by path or binary file object, reading at most the header."""
    if isinstance(source, str):
        with open(source, "rb") as f:
            return read_header(f)
    data = b""
    step = 4096
    while True:
        more = source.read(step)
        data += more
        if len(data) >= 8 and not is_exr(data):
            return parse_header(data)  # raises: not an EXR, known from the first bytes
        try:
            return parse_header(data)
        except ExrHeaderError:
            if not more or len(data) >= MAX_HEADER_BYTES:
                raise
        step = min(step * 2, MAX_HEADER_BYTES - len(data)) or 1


__all__ = ["COMPRESSIONS", "Channel", "ExrHeader", "ExrHeaderError", "MAGIC", "MAX_HEADER_BYTES", "is_exr",
           "parse_header", "read_header"]
