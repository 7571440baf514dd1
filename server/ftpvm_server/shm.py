"""The server's side of the shared-memory transport: the probe it advertises, the clients' segments it keeps
mapped, and per call the segments used for reading plates (``ENCODING_SHM``) and writing results
(``FrameHeader.result_shm``).

A client keeps its segments across calls (``ftpvm_client.shm.ShmPool``), so the server maps each one once and keeps
the mapping while the segment lives: a mapping no call uses is dropped as soon as its client has unlinked the
segment (closed, or crashed and cleaned by its resource tracker), and beyond ``KEEP_IDLE`` idle mappings the
least recently used go first.

A plate in a region that cannot be read fails its frame with a message saying why; a result region that
cannot be written falls back to chunks (the client sees ``FrameResult.shm`` empty). Names must follow
``ftpvm_wire.shm.check_name``; regions must lie inside their segment and match the image's exact size.
"""
from __future__ import annotations

import collections
import logging
import os
import re
import secrets
import threading
from multiprocessing import shared_memory
from typing import Deque, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ftpvm_wire import shm as wire_shm
from ftpvm_wire.planes import raw_byte_size
from ftpvm_wire.protocol import pb

from .limits import Limits, invalid

log = logging.getLogger("ftpvm_server.shm")

#: Segments one Matte call may have mapped at once (a client uses one per call).
MAX_SEGMENTS_PER_CALL = 4
#: Mappings no call uses that stay mapped for the next call of their client (least recently used dropped first).
KEEP_IDLE = 4
_PROBE_TOKEN_BYTES = 16


def unlinked(segment: shared_memory.SharedMemory) -> bool:
    """True when the segment's name is gone (its creator unlinked it): no client can use it again."""
    fd = getattr(segment, "_fd", -1)
    if fd is None or fd < 0:  # no descriptor to ask (not POSIX): judge by the name
        try:
            wire_shm.attach(segment.name.lstrip("/")).close()
            return False
        except (OSError, ValueError):
            return True
    try:
        return os.fstat(fd).st_nlink == 0
    except OSError:
        return True


class _Mapping:
    def __init__(self, segment: shared_memory.SharedMemory):
        self.segment = segment
        self.users = 0


class ShmHost:
    """The probe segment a client maps to learn it shares memory with this server, and the clients' segments
    mapped across calls (:meth:`acquire` / :meth:`release`); ``close`` unlinks the probe and unmaps them all."""

    def __init__(self, enabled: bool = True, keep_idle: int = KEEP_IDLE):
        self._probe: Optional[shared_memory.SharedMemory] = None
        self.token = b""
        self.keep_idle = int(keep_idle)
        self._mapped: Dict[str, _Mapping] = {}
        self._idle: Deque[str] = collections.deque()  # least recently released first
        self._lock = threading.Lock()
        #: segments mapped since start (a client's segment is mapped once while it lives)
        self.maps = 0
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

    def acquire(self, name: str) -> shared_memory.SharedMemory:
        """The client segment ``name``, mapped once and kept; every acquire needs its :meth:`release`.
        FileNotFoundError / PermissionError / ValueError as mapping it raises."""
        with self._lock:
            mapping = self._mapped.get(name)
            if mapping is not None and mapping.users == 0 and unlinked(mapping.segment):
                self._unmap(name)  # a new segment under an old name: map it afresh
                mapping = None
            if mapping is None:
                mapping = _Mapping(wire_shm.attach(name))
                self._mapped[name] = mapping
                self.maps += 1
            if name in self._idle:
                self._idle.remove(name)
            mapping.users += 1
            return mapping.segment

    def release(self, name: str) -> None:
        """A call is done with ``name`` (its views are gone); unmap what is unlinked or beyond ``keep_idle``."""
        with self._lock:
            mapping = self._mapped.get(name)
            if mapping is None:
                return
            mapping.users -= 1
            if mapping.users == 0:
                self._idle.append(name)
            self._sweep()

    def mapped(self) -> List[str]:
        """Names of the segments mapped now."""
        with self._lock:
            return sorted(self._mapped)

    def _sweep(self) -> None:
        for name in list(self._idle):
            if unlinked(self._mapped[name].segment):
                self._unmap(name)
        while len(self._idle) > self.keep_idle:
            self._unmap(self._idle[0])

    def _unmap(self, name: str) -> None:
        mapping = self._mapped.pop(name)
        if name in self._idle:
            self._idle.remove(name)
        try:
            mapping.segment.close()
        except BufferError:  # a plate view still alive (a bug): the mapping lives until its last view goes
            log.warning("shared-memory segment %s still in use when unmapped", name)

    def close(self) -> None:
        if self._probe is not None:
            self._probe.close()
            try:
                self._probe.unlink()
            except FileNotFoundError:
                pass
            self._probe = None
        with self._lock:
            for name in list(self._mapped):
                self._unmap(name)


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
    """The client segments one Matte call uses, acquired from the host; ``close`` releases them (the host keeps
    them mapped for the client's next call; the client unlinks them)."""

    def __init__(self, host: ShmHost):
        self.host = host
        self.enabled = host.enabled
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
                segment = self.host.acquire(name)
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

    def result_arrays(self, region: pb.ShmRegion, channels: Sequence[int], width: int, height: int,
                      encoding: int) -> Optional[List[np.ndarray]]:
        """Float32 arrays over ``region`` where :meth:`write_result` puts passes of these channel counts ((H, W) for
        one channel, (H, W, C) else), for the engine to write its passes into; None when the encoding is not float32
        or the region cannot take them (the passes are then copied in, or sent in chunks)."""
        if encoding != pb.ENCODING_RAW_F32:
            return None
        sizes = [raw_byte_size(width, height, c, encoding) for c in channels]
        try:
            if region.size < sum(sizes):
                raise ValueError(f"result region of {region.size} bytes is smaller than the {sum(sizes)} bytes of "
                                 f"the passes")
            view = self._region(pb.ShmRegion(name=region.name, offset=region.offset, size=sum(sizes)), "result")
        except ValueError as exc:
            log.info("results not written in place: %s", exc)
            return None
        arrays, offset = [], 0
        for c, size in zip(channels, sizes):
            pixels = wire_shm.read_pixels(view[offset:offset + size], width, height, c, encoding, copy=False)
            arrays.append(pixels[:, :, 0] if c == 1 else pixels)
            offset += size
        return arrays

    def write_result(self, region: pb.ShmRegion, images: Sequence[np.ndarray], encoding: int,
                     layouts: Sequence[pb.PassLayout]) -> bool:
        """Write ``images`` one after another, interleaved, into ``region``, filling each layout's channels and
        byte_size; an image that is already there (the engine wrote it into :meth:`result_arrays`) is not copied.
        False (nothing promised to the client) when the region cannot take them: the caller then sends chunks."""
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
        for name in self._segments:
            self.host.release(name)
        self._segments.clear()
