"""Chain keys and the shot's index: which computation produced each frame's state and result.

Every processed frame gets a *chain key*: a hash of the previous frame's key (or :data:`FRESH` at the start of a
chain), the frame's input hash, the memory it read (keyframe contents by policy) and the shot's static signature
(model fingerprint, size, colour space, model-affecting settings). States and results are stored under that key,
so a key names exactly the computation that produced it: editing a keyframe or a setting changes the keys of the
frames that depend on it and nothing else, and an undo finds the old entries again.

``index.json`` records, per frame, the key of the last chain that processed it (with its previous key and input
hash); an entry is trusted only if its key recomputes under the current keyframes and settings.
"""
from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

from ftpvm_core.engine.store import Store, atomic_write_json, read_json

FRESH = "fresh"
INDEX_SCHEMA = 1

#: ``key(prev, input_hash, frame) -> chain key`` under the shot's current keyframes and settings.
KeyFn = Callable[[str, str, int], str]


def sha1(*parts: bytes | str) -> str:
    """Hash of the parts, each followed by a NUL byte."""
    h = hashlib.sha1()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()


#: Frames are hashed in chunks of this many bytes, in parallel (hashlib releases the GIL); part of the key's rule.
HASH_CHUNK = 4 << 20
_HASH_THREADS = max(1, min(4, os.cpu_count() or 1))
_hash_pool: ThreadPoolExecutor | None = None
_hash_pool_lock = threading.Lock()


def _chunk_digest(chunk: memoryview) -> bytes:
    return hashlib.sha256(chunk).digest()


def image_hash(image: np.ndarray) -> str:
    """Content hash of a frame as sent: SHA-256 over its shape and the SHA-256 of each ``HASH_CHUNK`` of its float32
    bytes, hashed in place (no copy of a C-contiguous float32 frame) on up to 4 threads.

    SHA-256 because CPUs with SHA extensions (x86 since 2017, ARMv8) hash it as fast as SHA-1 and 2x faster than
    BLAKE2b (bench/bench_engine.py), and it is collision resistant; the chunks let a 1080p frame use several cores.
    """
    global _hash_pool
    a = np.ascontiguousarray(image, dtype=np.float32)
    data = memoryview(a).cast("B")
    chunks = [data[i:i + HASH_CHUNK] for i in range(0, len(data), HASH_CHUNK)]
    if len(chunks) > 1 and _HASH_THREADS > 1:
        with _hash_pool_lock:
            if _hash_pool is None:
                _hash_pool = ThreadPoolExecutor(_HASH_THREADS, thread_name_prefix="ftpvm-hash")
        digests = list(_hash_pool.map(_chunk_digest, chunks))
    else:
        digests = [_chunk_digest(c) for c in chunks]
    h = hashlib.sha256(f"{a.shape}\0".encode())
    for d in digests:
        h.update(d)
    return h.hexdigest()[:24]


def _checked(entry: dict) -> dict:
    """An index entry as written by :meth:`ChainIndex.record`; anything else raises (the index is damaged)."""
    if not all(isinstance(entry[k], str) for k in ("key", "prev", "input")):
        raise ValueError("index entry of the wrong type")
    return entry


class ChainIndex:
    """Frame -> ``{"key", "prev", "input"}`` of the last chain that processed it, persisted in ``index.json``
    (written behind by the store), with a cache of which entries are still valid."""

    def __init__(self, store: Store, path: Path, key: KeyFn) -> None:
        self._store = store
        self._path = path
        self._key = key
        self._entries: dict[int, dict] = {}
        self._valid: dict[int, bool] = {}
        self._version = 0
        #: the file exists but is not an index this engine wrote: which frame came from which chain is unknown
        self.damaged = False
        try:
            self._entries = {int(k): _checked(v) for k, v in read_json(path).get("frames", {}).items()}
        except FileNotFoundError:
            self._entries = {}
        except (OSError, ValueError, AttributeError, TypeError, KeyError):
            self._entries, self.damaged = {}, True

    def entry(self, frame: int) -> dict | None:
        return self._entries.get(frame)

    def frames(self) -> list[int]:
        return sorted(self._entries)

    def invalidate(self) -> None:
        """Keyframes or settings changed: every entry must be checked again."""
        self._valid.clear()

    def clear(self) -> None:
        """Forget every entry (the file is removed by the caller's cache reset)."""
        self.damaged = False
        self._entries.clear()
        self._valid.clear()
        self._version += 1

    def valid_key(self, frame: int) -> str | None:
        """The key for ``frame`` if it still describes the current keyframes and settings."""
        path, ok, k = [], False, frame
        while True:
            if k in self._valid:
                ok = self._valid[k]
                break
            e = self._entries.get(k)
            if e is None:
                self._valid[k] = ok = False
                break
            path.append(k)
            if e["prev"] == FRESH:
                ok = True
                break
            k -= 1
        for m in reversed(path):
            e = self._entries[m]
            if e["prev"] != FRESH:
                ok = ok and self._entries.get(m - 1, {}).get("key") == e["prev"]
            ok = ok and self._key(e["prev"], e["input"], m) == e["key"]
            self._valid[m] = ok
        return self._entries[frame]["key"] if self._valid.get(frame) else None

    def record(self, frame: int, key: str, prev: str, input_hash: str) -> None:
        """``frame`` was processed under ``key``; later frames' entries must be checked again."""
        self._entries[frame] = {"key": key, "prev": prev, "input": input_hash}
        self._valid = {k: v for k, v in self._valid.items() if k < frame}
        self._valid[frame] = True
        self._version += 1
        version, snapshot = self._version, {str(k): v for k, v in self._entries.items()}

        def write() -> None:
            if version == self._version:
                atomic_write_json(self._path, {"schema": INDEX_SCHEMA, "frames": snapshot})
        self._store.submit(write)

    def warmup_chain(self, frame: int, frames: int, has_input: Callable[[str], bool]) -> tuple[str, int | None]:
        """Re-key a fresh chain over up to ``frames`` stored inputs just before ``frame``:
        (its last key, its start frame), or (FRESH, None) when there is nothing to warm up from."""
        start = frame
        for j in range(frame - 1, frame - 1 - frames, -1):
            e = self._entries.get(j)
            if e is None or not has_input(e["input"]):
                break
            start = j
        if start == frame:
            return FRESH, None
        prev = FRESH
        for j in range(start, frame):
            input_hash = self._entries[j]["input"]
            key = self._key(prev, input_hash, j)
            self.record(j, key, prev, input_hash)
            prev = key
        return prev, start


__all__ = ["FRESH", "HASH_CHUNK", "ChainIndex", "KeyFn", "image_hash", "sha1"]
