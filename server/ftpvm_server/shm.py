"""The server's side of the shared-memory transport: the probe it advertises, and per call the client's
segments mapped for reading plates (``ENCODING_SHM``) and writing results (``FrameHeader.result_shm``).

A plate in a region that cannot be read fails its frame with a message saying why; a result region that
cannot be written falls back to chunks (the client sees ``FrameResult.shm`` empty). Names must follow
``ftpvm_wire.shm.check_name``; regions must lie inside their segment and match the image's exact size.
"""
from __future__ import annotations

import logging
import os
import re
import secrets
from multiprocessing import shared_memory
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ftpvm_wire import shm as wire_shm
from ftpvm_wire.planes import raw_byte_size
from ftpvm_wire.protocol import pb

from .limits import Limits, invalid

log = logging.getLogger("ftpvm_server.shm")

#: Segments one Matte call may have mapped at once (a client uses one per call).
MAX_SEGMENTS_PER_CALL = 4
_PROBE_TOKEN_BYTES = 16


class ShmHost:
    """The probe segment a client maps to learn it shares memory with this server; ``close`` unlinks it."""

    def __init__(self, enabled: bool = True):
        self._probe: Optional[shared_memory.SharedMemory] = None
        self.token = b""
        if not enabled:
            return
        try:
            name = f"ftpvm_probe_{os.getpid():x}_{secrets.token_hex(4)}"
            self._probe = shared_memory.SharedMemory(name=name, create=True, size=_PROBE_TOKEN_BYTES)
            self.token = secrets.token_bytes(_PROBE_TOKEN_BYTES)
            self._probe.buf[:_PROBE_TOKEN_BYTES] = self.token
        except OSError as exc:  # e.g. no /dev/shm in a container: inline transport only
            log.warning("shared-memory transport off: cannot create a probe segment (%s)", exc)
            self._probe, self.token = None, b""

    @property
    def enabled(self) -> bool:
        return self._probe is not None

    def support(self) -> pb.ShmSupport:
        """What GetInfo advertises."""
        if self._probe is None:
            return pb.ShmSupport(enabled=False)
        return pb.ShmSupport(enabled=True, probe_name=self._probe.name.lstrip("/"), probe_token=self.token)

    def close(self) -> None:
        if self._probe is not None:
            self._probe.close()
            try:
                self._probe.unlink()
            except FileNotFoundError:
                pass
            self._probe = None


#: Where POSIX shared-memory segments appear as files (Linux).
SHM_DIR = "/dev/shm"
_PROBE = re.compile(r"^ftpvm_probe_([0-9a-f]+)_[0-9a-f]+$")


def remove_stale_probes(directory: str = SHM_DIR) -> List[str]:
    """Unlink probe segments whose server (the PID in the name) is gone, e.g. killed with SIGKILL; returns them."""
    from ftpvm_core.engine.images import pid_alive

    removed: List[str] = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        match = _PROBE.match(name)
        if match is None or pid_alive(int(match.group(1), 16)):
            continue
        try:
            os.unlink(os.path.join(directory, name))
        except OSError:
            continue
        removed.append(os.path.join(directory, name))
    return removed


class ShmSession:
    """The client segments one Matte call has mapped; ``close`` unmaps them all (the client unlinks them)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._segments: Dict[str, shared_memory.SharedMemory] = {}

    def _region(self, region: pb.ShmRegion, what: str) -> memoryview:
        if not self.enabled:
            raise ValueError("this server has the shared-memory transport off; send pixels inline")
        name = wire_shm.check_name(region.name)
        segment = self._segments.get(name)
        if segment is None:
            if len(self._segments) >= MAX_SEGMENTS_PER_CALL:
                raise ValueError(f"a call may use at most {MAX_SEGMENTS_PER_CALL} shared-memory segments")
            try:
                segment = wire_shm.attach(name)
            except FileNotFoundError:
                raise ValueError(f"no shared-memory segment {name!r} on the server's machine; is the client "
                                 f"on another machine? use the inline transport") from None
            except PermissionError:
                raise ValueError(f"shared-memory segment {name!r} is not readable by the server's user") from None
            self._segments[name] = segment
        return wire_shm.region_view(segment, int(region.offset), int(region.size), what)

    def read_plate(self, header: pb.ImageHeader, what: str, limits: Limits) -> np.ndarray:
        """The (H, W, C) float32 plate an ENCODING_SHM header names; WireError when it cannot be.

        Float32 pixels are not copied: the array is a view of the client's slot, which the client rewrites only
        after this frame's result has reached it (the stream drops its frames before :meth:`close`).
        """
        if not header.HasField("shm"):
            raise invalid(f"{what}: ENCODING_SHM needs `shm` (segment name, offset, size)")
        limits.size(header.width, header.height, what)
        if not 1 <= header.channels <= limits.max_channels:
            raise invalid(f"{what} has {header.channels} channel(s); it needs 1 to {limits.max_channels}")
        try:
            expected = raw_byte_size(header.width, header.height, header.channels, header.shm_encoding)
        except ValueError:
            raise invalid(f"{what}: shm_encoding must be RAW_F16 or RAW_F32") from None
        if header.shm.size != expected or header.byte_size != expected:
            raise invalid(f"{what}: shared-memory region of {header.shm.size} bytes (byte_size {header.byte_size}) "
                          f"does not match {header.width}x{header.height} pixels of {header.channels} channel(s) "
                          f"({expected} bytes)")
        if header.data:
            raise invalid(f"{what}: a shared-memory image carries no bytes in the stream; leave data empty")
        try:
            view = self._region(header.shm, what)
            return wire_shm.read_pixels(view, header.width, header.height, header.channels, header.shm_encoding,
                                        copy=False)
        except ValueError as exc:
            raise invalid(f"{what}: {exc}") from None

    def write_result(self, region: pb.ShmRegion, images: Sequence[np.ndarray], encoding: int,
                     layouts: Sequence[pb.PassLayout]) -> bool:
        """Write ``images`` one after another, interleaved, into ``region``, filling each layout's channels and
        byte_size. False (nothing promised to the client) when the region cannot take them: the caller
        then sends chunks."""
        shapes: List[Tuple[int, int]] = []
        for image in images:
            channels = 1 if image.ndim == 2 else image.shape[2]
            shapes.append((channels, raw_byte_size(image.shape[1], image.shape[0], channels, encoding)))
        total = sum(size for _, size in shapes)
        try:
            if region.size < total:
                raise ValueError(f"result region of {region.size} bytes is smaller than the {total} bytes of the "
                                 f"passes")
            view = self._region(pb.ShmRegion(name=region.name, offset=region.offset, size=total), "result")
        except ValueError as exc:
            log.info("result sent inline instead of shared memory: %s", exc)
            return False
        try:
            offset = 0
            for image, (channels, size), layout in zip(images, shapes, layouts):
                part = view[offset:offset + size]
                try:
                    wire_shm.write_pixels(image, part, encoding)
                finally:
                    part.release()
                layout.channels, layout.byte_size = channels, size
                offset += size
        finally:
            view.release()
        return True

    def close(self) -> None:
        for segment in self._segments.values():
            try:
                segment.close()
            except BufferError:  # a plate view still alive (a bug): the mapping lives until its last view goes
                log.warning("shared-memory segment %s still in use at the end of a call", segment.name)
        self._segments.clear()
