"""The client's side of the shared-memory transport: segments cut into slots, pooled across Matte calls.

Slot ``n % slots`` carries the n-th frame sent through a segment: its plate (interleaved pixels) and room for its
result. A call keeps at most ``slots`` frames unanswered and copies each result out (or, handing out views of it,
waits until the caller takes the next result) before the slot's next frame goes, so a slot is never rewritten while
the server may still read or write it, or the caller still reads it. A call that ends with every frame
answered gives its segment back to the client's :class:`ShmPool`, so the next call of the same layout reuses it:
its pages are already mapped on both ends (the server keeps its mapping too) and nothing is created per call.
A call that fails or is abandoned closes its segment (the server might still write into it). The pool unlinks
its segments when the client closes; if the process dies, Python's resource tracker unlinks them.

Results are copied out of their slot, or handed out as views of it (``ShotHandle.matte(..., result_views=True)``):
those arrays lie on a second mapping of the segment that they alone keep alive, so closing the segment unlinks it at
once and the memory is unmapped when the last view is gone (never under a live array).
"""
from __future__ import annotations

import mmap
import os
import secrets
import threading
from multiprocessing import shared_memory
from typing import Any, List, Optional, Tuple, cast

import numpy as np

from ftpvm_wire import shm as wire_shm
from ftpvm_wire.planes import raw_byte_size
from ftpvm_wire.protocol import pb


def layout_of(width: int, height: int, send_encoding: int, result_encoding: int, result_channels: int,
              slots: int) -> tuple:
    """What must match for a pooled segment to serve a call."""
    result_bytes = raw_byte_size(width, height, result_channels, result_encoding) if result_channels else 0
    return int(width), int(height), send_encoding, result_encoding, result_bytes, int(slots)


class ShmSlots:
    """A segment of ``slots`` x (plate + result) bytes for frames of one shot size; ``close`` unlinks it."""

    def __init__(self, width: int, height: int, send_encoding: int, result_encoding: int, result_channels: int,
                 slots: int):
        self.width, self.height = int(width), int(height)
        self.send_encoding, self.result_encoding = send_encoding, result_encoding
        self.plate_bytes = raw_byte_size(width, height, 3, send_encoding)
        self.result_bytes = raw_byte_size(width, height, result_channels, result_encoding) if result_channels else 0
        self.slot_bytes = self.plate_bytes + self.result_bytes
        self.slots = int(slots)
        self.layout = layout_of(width, height, send_encoding, result_encoding, result_channels, slots)
        name = f"{wire_shm.PREFIX}{os.getpid() % (1 << 32):x}_{secrets.token_hex(6)}"
        self.segment: Optional[shared_memory.SharedMemory] = shared_memory.SharedMemory(
            name=name, create=True, size=self.slot_bytes * self.slots)
        self.name = self.segment.name.lstrip("/")
        self.sent = 0
        #: the mapping result views lie on (made on first use; each view keeps it alive, so it is never closed here)
        self._views: Optional[mmap.mmap] = None

    def fits(self, plate: np.ndarray) -> bool:
        """True when ``plate`` is an (H, W, 3) array of this shot's size (anything else goes inline)."""
        return isinstance(plate, np.ndarray) and plate.shape == (self.height, self.width, 3)

    def put_plate(self, plate: np.ndarray) -> Tuple[pb.ImageHeader, Optional[pb.ShmRegion]]:
        """Write the next frame's plate into its slot; its header and the region for its result."""
        assert self.segment is not None, "the call's shared memory is closed"
        base = (self.sent % self.slots) * self.slot_bytes
        self.sent += 1
        buf = self.segment.buf
        assert buf is not None, "the call's shared memory is unmapped"
        view = buf[base:base + self.plate_bytes]
        try:
            wire_shm.write_pixels(plate, view, self.send_encoding)
        finally:
            view.release()
        header = pb.ImageHeader(encoding=pb.ENCODING_SHM, width=self.width, height=self.height, channels=3,
                                byte_size=self.plate_bytes, shm_encoding=cast(Any, self.send_encoding),
                                shm=pb.ShmRegion(name=self.name, offset=base, size=self.plate_bytes))
        result = pb.ShmRegion(name=self.name, offset=base + self.plate_bytes, size=self.result_bytes) \
            if self.result_bytes else None
        return header, result

    def result_region(self) -> Optional[pb.ShmRegion]:
        """A result region for the next frame when its plate does not travel here (a path, EXR bytes)."""
        if not self.result_bytes:
            return None
        base = (self.sent % self.slots) * self.slot_bytes
        self.sent += 1
        return pb.ShmRegion(name=self.name, offset=base + self.plate_bytes, size=self.result_bytes)

    def read(self, region: pb.ShmRegion, offset: int, size: int, width: int, height: int, channels: int,
             encoding: int, view: bool = False) -> np.ndarray:
        """One pass out of a result region the server wrote (``offset`` within the region): a copy, or with ``view``
        and float32 pixels an array over the slot itself (valid until the slot is written again)."""
        segment = self.segment
        assert segment is not None, "the call's shared memory is closed"
        if region.name != self.name or offset + size > region.size:
            raise ValueError(f"the server named result region {region.name!r} [{region.offset}+{offset}, "
                             f"+{size}) which is not this call's")
        start = int(region.offset) + offset
        data = wire_shm.region_view(segment, start, size, "result")  # refuses a region outside the segment
        fd = getattr(segment, "_fd", -1)
        if view and encoding == pb.ENCODING_RAW_F32 and fd is not None and fd >= 0:
            data.release()
            if self._views is None:
                self._views = mmap.mmap(fd, segment.size)
            return wire_shm.read_pixels(memoryview(self._views)[start:start + size], width, height, channels,
                                        encoding, copy=False)
        try:
            return wire_shm.read_pixels(data, width, height, channels, encoding)
        finally:
            data.release()

    def close(self) -> None:
        """Unmap and unlink the segment (idempotent); result views still alive keep their own mapping."""
        if self.segment is not None:
            segment, self.segment, self._views = self.segment, None, None
            segment.close()
            try:
                segment.unlink()
            except FileNotFoundError:
                pass


class ShmPool:
    """A client's segments kept between Matte calls, at most ``keep`` idle; ``close`` unlinks them all."""

    def __init__(self, keep: int = 2):
        self.keep = int(keep)
        self._idle: List[ShmSlots] = []  # most recently given back last
        self._lock = threading.Lock()
        self._closed = False

    def take(self, width: int, height: int, send_encoding: int, result_encoding: int, result_channels: int,
             slots: int) -> ShmSlots:
        """An idle segment of this layout, or a new one."""
        wanted = layout_of(width, height, send_encoding, result_encoding, result_channels, slots)
        with self._lock:
            if self._closed:
                raise RuntimeError("the client is closed")
            for i, idle in enumerate(self._idle):
                if idle.layout == wanted:
                    return self._idle.pop(i)
        return ShmSlots(width, height, send_encoding, result_encoding, result_channels, slots)

    def give_back(self, slots: ShmSlots) -> None:
        """Keep ``slots`` for a later call (every frame sent through it was answered); the oldest beyond
        ``keep`` are closed."""
        if slots.segment is None:
            return
        with self._lock:
            if self._closed:
                extra = [slots]
            else:
                self._idle.append(slots)
                extra = []
                while len(self._idle) > self.keep:
                    extra.append(self._idle.pop(0))
        for old in extra:
            old.close()

    def idle(self) -> List[ShmSlots]:
        with self._lock:
            return list(self._idle)

    def close(self) -> None:
        """Unlink every idle segment; segments in use are closed by their calls."""
        with self._lock:
            self._closed, idle, self._idle = True, self._idle, []
        for slots in idle:
            slots.close()
