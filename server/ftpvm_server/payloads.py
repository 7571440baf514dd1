"""Wire payloads -> numpy images on the server: raw planes, EXR bytes or allowed paths.

Reads the bytes an ImageHeader announces from the request stream (refusing truncated or
overrunning chunks), decodes them, checks the size, and replaces NaN/inf values with 0,
counting the pixels that had any.
"""
from __future__ import annotations

from typing import Iterator, List, Optional, Tuple

import numpy as np

from ftpvm_wire.planes import Assembler, from_planes
from ftpvm_wire.protocol import pb

from .limits import Limits, invalid
from .paths import PathGuard


class Peekable:
    """An iterator over request messages with one message of look-ahead."""

    _EMPTY = object()

    def __init__(self, iterator: Iterator):
        self._it = iterator
        self._head = self._EMPTY

    def peek(self):
        if self._head is self._EMPTY:
            self._head = next(self._it, None)
        return self._head

    def next(self):
        value = self.peek()
        self._head = self._EMPTY
        return value


class ChunkReader:
    """Pulls ``Chunk`` payloads that follow a header, possibly spanning several images."""

    def __init__(self, requests: Peekable, chunk_of=lambda m: m.chunk if m.WhichOneof("kind") == "chunk" else None):
        self._requests = requests
        self._chunk_of = chunk_of
        self._leftover = b""

    def read_payload(self, header: pb.ImageHeader, what: str, limit: int) -> bytes:
        """The header's inline data plus following chunks, exactly ``byte_size`` bytes."""
        if header.encoding == pb.ENCODING_PATH:
            return b""
        try:
            assembler = Assembler(header.byte_size, header.data, limit=limit)
            while assembler.missing:
                if not self._leftover:
                    message = self._requests.peek()
                    chunk = self._chunk_of(message) if message is not None else None
                    if chunk is None:
                        raise ValueError(f"truncated payload: {header.byte_size - assembler.missing} of "
                                         f"{header.byte_size} bytes arrived before the next message")
                    self._requests.next()
                    self._leftover = chunk.data
                take = self._leftover[:assembler.missing]
                self._leftover = self._leftover[len(take):]
                assembler.add(take)
            return assembler.bytes()
        except ValueError as exc:
            raise invalid(f"{what}: {exc}") from None

    def finish(self, what: str) -> None:
        """Refuse chunk bytes left over after the last image."""
        extra = len(self._leftover)
        message = self._requests.peek()
        if message is not None and self._chunk_of(message) is not None:
            extra += len(self._chunk_of(message).data)
        if extra:
            raise invalid(f"{what}: {extra} bytes more than the headers announced; check byte_size")


def keyframe_guides(start: pb.KeyframeStart) -> List[Tuple[str, pb.ImageHeader]]:
    """The guide images a SetKeyframe start announces, in payload order: trimap, or outer (+ inner).

    Only the combination is checked here; what the pixels mean is the engine's rule.
    """
    has = {name: start.HasField(name) for name in ("trimap", "outer", "inner")}
    if has["trimap"] == has["outer"]:
        raise invalid("a keyframe needs exactly one of trimap or outer (the roto matte), and inner only with outer")
    if has["inner"] and not has["outer"]:
        raise invalid("an inner matte goes with an outer matte, not with a trimap: send outer + inner, or a trimap")
    return [(name, getattr(start, name)) for name in ("trimap", "outer", "inner") if has[name]]


def sanitize(image: np.ndarray) -> Tuple[np.ndarray, int]:
    """Replace NaN/inf with 0; return the image and how many pixels had a non-finite value."""
    bad = ~np.isfinite(image)
    if not bad.any():
        return image, 0
    count = int(bad.reshape(image.shape[0], image.shape[1], -1).any(axis=2).sum())
    image = np.where(bad, np.float32(0), image).astype(np.float32)
    return image, count


def _read_exr_bytes(data: bytes, what: str, rgb: bool) -> np.ndarray:
    from ftpvm_core.engine import InvalidInput, decode_image

    try:
        return decode_image(data, "frame" if rgb else "guide")
    except InvalidInput as exc:
        raise invalid(f"{what}: not a readable EXR ({exc}); send the file's complete bytes") from None


def _read_path(path: str, what: str, rgb: bool) -> np.ndarray:
    from ftpvm_core.engine import InvalidInput, decode_image

    try:
        return decode_image(path, "frame" if rgb else "guide")
    except InvalidInput as exc:
        raise invalid(f"{what}: {exc}") from None


def decode_image(header: pb.ImageHeader, payload: bytes, what: str, *, size: Tuple[int, int],
                 channels: Optional[int], guard: PathGuard, limits: Limits) -> Tuple[np.ndarray, int]:
    """Decode to float32 (H, W, C) (C = ``channels``, or as sent when None); check the size.

    Returns the sanitised image and its count of non-finite pixels.
    """
    rgb = channels == 3
    if header.encoding in (pb.ENCODING_RAW_F16, pb.ENCODING_RAW_F32):
        try:
            image = from_planes(payload, header.width, header.height, header.channels, header.encoding)
        except ValueError as exc:
            raise invalid(f"{what}: {exc}") from None
    elif header.encoding == pb.ENCODING_EXR:
        image = _read_exr_bytes(payload, what, rgb)
    elif header.encoding == pb.ENCODING_PATH:
        image = _read_path(guard.readable(header.path, what), what, rgb)
    else:  # limits.image_header refused it already
        raise invalid(f"{what}: unsupported encoding {header.encoding}")
    if image.ndim == 2:
        image = image[:, :, None]
    height, width = image.shape[:2]
    limits.size(width, height, what)
    if (width, height) != size:
        raise invalid(f"{what} is {width}x{height} but the shot is {size[0]}x{size[1]}; "
                      f"send frames of the shot's size (or open the shot with this size)")
    if channels is not None and image.shape[2] != channels:
        raise invalid(f"{what} has {image.shape[2]} channel(s); it must have {channels}")
    return sanitize(np.ascontiguousarray(image, dtype=np.float32))
