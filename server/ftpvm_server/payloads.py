"""Wire payloads -> numpy images on the server: raw planes, EXR bytes or allowed paths.

Reads the bytes an ImageHeader announces from the request stream (refusing truncated or
overrunning chunks), decodes them, checks the size, and replaces NaN/inf values with 0,
counting the pixels that had any. Sizes are judged before bytes: the header against the shot
before buffering (``Limits.image_header``), an EXR's own header against the shot before any
pixel is decoded (``check_exr``), and every receive+decode holds its bytes in the scheduler's
one ``DecodeBudget``.
"""
from __future__ import annotations

import threading
from typing import Iterator, List, Optional, Tuple

import numpy as np

from ftpvm_wire.exr_header import MAX_HEADER_BYTES, ExrHeader, ExrHeaderError, is_exr, parse_header, read_header
from ftpvm_wire.planes import Assembler, from_planes
from ftpvm_wire.protocol import pb

from .limits import Limits, invalid
from .paths import PathGuard
from .scheduler import DecodeBudget, Reservation


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
    """Replace NaN/inf with 0; return the image and how many pixels had a non-finite value.

    A finite sum proves every value finite in one read, without a mask (a sum that overflows only costs the full
    check)."""
    if np.isfinite(image.sum(dtype=np.float32)):
        return image, 0
    bad = ~np.isfinite(image)
    if not bad.any():
        return image, 0
    count = int(bad.reshape(image.shape[0], image.shape[1], -1).any(axis=2).sum())
    image = np.where(bad, np.float32(0), image).astype(np.float32)
    return image, count


def check_exr(data: bytes, what: str, shot: Tuple[int, int], limits: Limits) -> ExrHeader:
    """The EXR header of ``data`` (the file's first bytes), refused unless it is OpenEXR and fits the shot.

    Runs before any pixel is decoded: a display window other than the shot's size, a data window
    outside it, deep data or more channels than the server's limit are refused with what to fix.
    """
    try:
        header = parse_header(data)
    except ExrHeaderError as exc:
        raise invalid(f"{what}: {exc}; the payload was declared EXR, send an OpenEXR file") from None
    return check_exr_header(header, what, shot, limits)


def check_exr_header(header: ExrHeader, what: str, shot: Tuple[int, int], limits: Limits) -> ExrHeader:
    """``header`` when its windows, data kind and channel count fit the shot and the limits."""
    width, height = shot
    if header.deep:
        raise invalid(f"{what}: deep OpenEXR data is not an image the server reads; send a flat EXR")
    if header.display_size != (width, height):
        raise invalid(f"{what}: the EXR's display window is {header.display_size[0]}x{header.display_size[1]} but "
                      f"the shot is {width}x{height}; send frames of the shot's size")
    dx0, dy0, dx1, dy1 = header.display_window
    x0, y0, x1, y1 = header.data_window
    if x0 < dx0 or y0 < dy0 or x1 > dx1 or y1 > dy1:
        raise invalid(f"{what}: the EXR's data window ({x0}, {y0})-({x1}, {y1}) reaches outside its display "
                      f"window ({dx0}, {dy0})-({dx1}, {dy1}); crop the data window to the format")
    if len(header.channels) > limits.max_channels:
        raise invalid(f"{what}: the EXR has {len(header.channels)} channels; this server reads at most "
                      f"{limits.max_channels} (write only the layers it needs)")
    return header


def decode_cost(width: int, height: int, channels: int) -> int:
    """Bytes a decode of that many float channels holds at its peak (the library's read plus our copy)."""
    return width * height * (channels + 3) * 4 * 2


def estimate(header: pb.ImageHeader, shot: Tuple[int, int], limits: Limits) -> int:
    """The most bytes receiving and decoding ``header``'s image may hold (checked headers only)."""
    width, height = shot
    channels = header.channels if header.encoding in (pb.ENCODING_RAW_F16, pb.ENCODING_RAW_F32) else limits.max_channels
    return header.byte_size + decode_cost(width, height, channels)


def receive_image(reader: ChunkReader, header: pb.ImageHeader, what: str, *, size: Tuple[int, int],
                  channels: Optional[int], guard: PathGuard, limits: Limits, budget: DecodeBudget,
                  temp_dir: Optional[str], cancel: Optional[threading.Event] = None) -> Tuple[np.ndarray, int]:
    """Buffer and decode one checked image inside the decode budget; returns (image, non-finite pixel count).

    The budget is reserved for the worst case the header allows before any byte is buffered, and shrunk
    to the image's real cost once its own header is read.
    """
    image, bad, held = receive_held(reader, header, what, size=size, channels=channels, guard=guard, limits=limits,
                                    budget=budget, temp_dir=temp_dir, cancel=cancel)
    held.release()
    return image, bad


def receive_held(reader: ChunkReader, header: pb.ImageHeader, what: str, *, size: Tuple[int, int],
                 channels: Optional[int], guard: PathGuard, limits: Limits, budget: DecodeBudget,
                 temp_dir: Optional[str], cancel: Optional[threading.Event] = None
                 ) -> Tuple[np.ndarray, int, Reservation]:
    """``receive_image``, the decoded pixels still counted in the budget: the caller releases the reservation
    when the engine has taken them (a Matte stream's queued frames)."""
    held = budget.hold(estimate(header, size, limits), what, cancel)
    try:
        payload = reader.read_payload(header, what, limits.exr_byte_limit(size))
        if header.encoding == pb.ENCODING_EXR:
            exr = check_exr(payload[:MAX_HEADER_BYTES], what, size, limits)
            held.shrink(len(payload) + decode_cost(*exr.data_size, len(exr.channels)))
        image, bad = decode_image(header, payload, what, size=size, channels=channels, guard=guard, limits=limits,
                                  temp_dir=temp_dir, held=held)
    except BaseException:
        held.release()
        raise
    del payload
    held.shrink(image.nbytes)
    return image, bad, held


def _decode_bytes(data: bytes, what: str, rgb: bool, temp_dir: Optional[str]) -> np.ndarray:
    from ftpvm_core.engine import InvalidInput, decode_image as engine_decode

    try:
        return engine_decode(data, "frame" if rgb else "guide", temp_dir=temp_dir)
    except InvalidInput as exc:
        raise invalid(f"{what}: not a readable EXR ({exc}); send the file's complete bytes") from None


def _decode_path(path: str, what: str, rgb: bool, size: Tuple[int, int], limits: Limits, guard: PathGuard,
                 held: Optional[Reservation]) -> np.ndarray:
    """Open ``path`` under the roots (no symlinks), check its header against the shot, then decode it."""
    from ftpvm_core.engine import InvalidInput, decode_image as engine_decode
    from ftpvm_core.engine.images import probe

    with guard.open_readable(path, what) as opened:
        try:
            with open(opened, "rb") as f:
                head = f.read(8)
            if is_exr(head) or path.lower().endswith(".exr"):
                with open(opened, "rb") as f:
                    try:
                        exr = read_header(f)
                    except ExrHeaderError as exc:
                        raise invalid(f"{what} {path!r}: {exc}; write the plate as OpenEXR") from None
                check_exr_header(exr, what, size, limits)
                cost = decode_cost(*exr.data_size, len(exr.channels))
            else:
                width, height, nch = probe(opened)
                if (width, height) != size or nch > limits.max_channels:
                    raise invalid(f"{what} {path!r} is {width}x{height} with {nch} channel(s); the shot is "
                                  f"{size[0]}x{size[1]} (at most {limits.max_channels} channels)")
                cost = decode_cost(width, height, nch)
            if held is not None:
                held.shrink(cost)
            return engine_decode(opened, "frame" if rgb else "guide")
        except InvalidInput as exc:
            raise invalid(f"{what} {path!r}: {str(exc).replace(opened, '<file>')}") from None


def decode_image(header: pb.ImageHeader, payload: bytes, what: str, *, size: Tuple[int, int],
                 channels: Optional[int], guard: PathGuard, limits: Limits, temp_dir: Optional[str] = None,
                 held: Optional[Reservation] = None) -> Tuple[np.ndarray, int]:
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
        check_exr(payload[:MAX_HEADER_BYTES], what, size, limits)
        image = _decode_bytes(payload, what, rgb, temp_dir)
    elif header.encoding == pb.ENCODING_PATH:
        image = _decode_path(header.path, what, rgb, size, limits, guard, held)
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
