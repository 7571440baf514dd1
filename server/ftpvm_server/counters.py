"""Per-shot counters of this server process: frames answered, cache hits, errors, speed."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Dict

from ftpvm_wire.protocol import pb


@dataclass
class _Count:
    frames: int = 0
    cache_hits: int = 0
    errors: int = 0
    seconds: float = 0.0


class Counters:
    """Thread-safe counters keyed by shot id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Dict[str, _Count] = {}

    def frame(self, shot_id: str, seconds: float, from_cache: bool) -> None:
        with self._lock:
            c = self._counts.setdefault(shot_id, _Count())
            c.frames += 1
            c.cache_hits += int(from_cache)
            c.seconds += seconds

    def error(self, shot_id: str) -> None:
        with self._lock:
            self._counts.setdefault(shot_id, _Count()).errors += 1

    def forget(self, shot_id: str) -> None:
        with self._lock:
            self._counts.pop(shot_id, None)

    def to_proto(self, shot_id: str) -> pb.ShotCounters:
        with self._lock:
            c = self._counts.get(shot_id, _Count())
            fps = c.frames / c.seconds if c.seconds > 0 else 0.0
            return pb.ShotCounters(frames=c.frames, cache_hits=c.cache_hits, errors=c.errors, frames_per_second=fps)
