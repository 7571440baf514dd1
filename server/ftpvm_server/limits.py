"""Limits on everything that arrives from the wire, and the checks that enforce them.

Each check raises ``WireError`` with the gRPC status to answer and a message that says what
to fix; nothing from a request reaches the engine before passing through here.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Optional, Tuple

import grpc

from ftpvm_wire.planes import raw_byte_size
from ftpvm_wire.protocol import pb
from ftpvm_wire.shots import ShotIdError, check_shot_id


class WireError(Exception):
    """A request the server refuses: carries the gRPC status code and a fix-it message."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> WireError:
    return WireError(grpc.StatusCode.INVALID_ARGUMENT, message)


_PRINTABLE = re.compile(r"[\x20-\x7e]*")
#: Room for an EXR header (attributes, previews) on top of its pixels.
EXR_HEADER_SLACK = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Server limits (advertised by GetInfo)."""

    max_width: int = 16384
    max_height: int = 16384
    max_pixels: int = 8192 * 8192
    max_message_bytes: int = 64 << 20
    chunk_bytes: int = 1 << 20
    max_shots: int = 1000
    max_frames_in_flight: int = 4
    max_keyframe_band: int = 1024
    max_queue: int = 64
    max_settings_bytes: int = 64 << 10
    max_path_chars: int = 4096
    max_frame_number: int = 10**9
    max_channels: int = 16
    max_template_padding: int = 16
    #: Bytes of decoded pixels (and the payloads they come from) held at once, over every call.
    decode_budget_bytes: int = 2 << 30

    def to_proto(self) -> pb.Limits:
        return pb.Limits(max_width=self.max_width, max_height=self.max_height, max_pixels=self.max_pixels,
                         max_message_bytes=self.max_message_bytes, chunk_bytes=self.chunk_bytes,
                         max_shots=self.max_shots, max_frames_in_flight=self.max_frames_in_flight,
                         max_keyframe_band=self.max_keyframe_band)

    # -- scalar fields -------------------------------------------------------------------
    def shot_id(self, value: str) -> str:
        try:
            return check_shot_id(value, "shot_id")
        except ShotIdError as exc:
            raise invalid(str(exc)) from None

    def size(self, width: int, height: int, what: str = "shot") -> tuple[int, int]:
        if width < 1 or height < 1:
            raise invalid(f"{what} size {width}x{height} is empty; width and height must be at least 1")
        if width > self.max_width or height > self.max_height or width * height > self.max_pixels:
            raise invalid(f"{what} size {width}x{height} is beyond this server's limit of "
                          f"{self.max_width}x{self.max_height} ({self.max_pixels} pixels)")
        return int(width), int(height)

    def frame(self, value: int) -> int:
        if abs(value) > self.max_frame_number:
            raise invalid(f"frame number {value} is out of range (|frame| <= {self.max_frame_number})")
        return int(value)

    def colorspace(self, value: str) -> str:
        if not value or len(value) > 256 or not _PRINTABLE.fullmatch(value):
            raise invalid(f"colorspace {value[:64]!r} is not a colourspace name; use e.g. 'ACEScg' or "
                          f"'Linear Rec.709 (sRGB)'")
        return value

    def settings(self, text: str) -> Optional[dict[str, Any]]:
        """Parse settings JSON (None when empty)."""
        if not text:
            return None
        if len(text) > self.max_settings_bytes:
            raise invalid(f"settings_json is {len(text)} bytes; the limit is {self.max_settings_bytes}")
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise invalid(f"settings_json is not valid JSON ({exc}); send an object like "
                          f"{{\"memory_size\": 4}}") from None
        if not isinstance(value, dict):
            raise invalid("settings_json must be a JSON object of setting name -> value")
        return value

    def band(self, value: int) -> int:
        if value > self.max_keyframe_band:
            raise invalid(f"band {value} px is wider than the limit of {self.max_keyframe_band} px")
        return int(value)

    def path(self, value: str, what: str = "path") -> str:
        if not value:
            raise invalid(f"{what} is empty")
        if len(value) > self.max_path_chars or "\x00" in value:
            raise invalid(f"{what} is not a usable path (too long or contains NUL)")
        return value

    # -- image headers -------------------------------------------------------------------
    def exr_byte_limit(self, shot: Tuple[int, int]) -> int:
        """The most bytes an EXR of the shot's size may take: every channel as float, uncompressed,
        plus the header and a chunk table (an EXR never needs more, whatever its compression)."""
        width, height = shot
        return width * height * self.max_channels * 4 + 16 * height + EXR_HEADER_SLACK

    def image_header(self, header: pb.ImageHeader, what: str, *, shot: Tuple[int, int],
                     channels: Optional[int] = None, min_channels: int = 1) -> None:
        """Check an ImageHeader's encoding, size, channels and announced byte size against the shot.

        Runs before any payload byte is buffered: a raw image of another size than the shot, or an
        EXR larger than an uncompressed one of the shot's size, is refused here.
        """
        encoding = header.encoding
        if encoding in (pb.ENCODING_RAW_F16, pb.ENCODING_RAW_F32):
            self.size(header.width, header.height, what)
            if (header.width, header.height) != tuple(shot):
                raise invalid(f"{what} is {header.width}x{header.height} but the shot is {shot[0]}x{shot[1]}; "
                              f"send frames of the shot's size (or open the shot with this size)")
            if channels is not None and header.channels != channels:
                raise invalid(f"{what} has {header.channels} channel(s); it must have {channels}")
            if not min_channels <= header.channels <= self.max_channels:
                raise invalid(f"{what} has {header.channels} channel(s); it needs {min_channels} to "
                              f"{self.max_channels}")
            expected = raw_byte_size(header.width, header.height, header.channels, encoding)
            if header.byte_size != expected:
                raise invalid(f"{what}: byte_size {header.byte_size} does not match {header.channels} planes of "
                              f"{header.width}x{header.height} {'half' if encoding == pb.ENCODING_RAW_F16 else 'float'}"
                              f" ({expected} bytes); send the planes of the whole image")
        elif encoding == pb.ENCODING_EXR:
            if header.byte_size == 0:
                raise invalid(f"{what}: an EXR payload of 0 bytes; send the file's bytes")
            most = self.exr_byte_limit(shot)
            if header.byte_size > most:
                raise invalid(f"{what}: an EXR of {header.byte_size} bytes is larger than any EXR of the shot's "
                              f"size {shot[0]}x{shot[1]} can be ({most} bytes); send a file of the shot's size")
        elif encoding == pb.ENCODING_PATH:
            self.path(header.path, f"{what} path")
            if header.byte_size or header.data:
                raise invalid(f"{what}: a path image carries no bytes; leave byte_size and data empty")
        else:
            raise invalid(f"{what}: encoding {encoding} is not one of RAW_F16, RAW_F32, EXR or PATH")
        if len(header.data) > header.byte_size:
            raise invalid(f"{what}: {len(header.data)} bytes of data but byte_size says {header.byte_size}")

