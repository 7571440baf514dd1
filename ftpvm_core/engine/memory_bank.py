"""The memory bank: which keyframes a frame reads from (the policy), and their encoded memory, persisted.

Policies (``memory_size`` = n slots):

- ``first_last`` (default, the original's online policy): candidates are the keyframes at or before the frame
  (if none, the first keyframe after it); the bank holds the first candidate and the latest n - 1. Editing a
  keyframe therefore never changes frames before it.
- ``nearest``: the n keyframes nearest in time, before or after (ties go to the earlier one).

Encoded memory (``encode_imgs_to_value``) is computed once per keyframe content, downsample ratio, precision and
model fingerprint, kept in RAM and on disk under ``memory/<fingerprint>/``; a new engine on the same directory
loads it instead of re-encoding, and new weights (another fingerprint) re-encode.
"""
from __future__ import annotations

import hashlib
import threading
from typing import Callable

import torch

from ftpvm_core.atomic import atomic_write_bytes
from ftpvm_core.engine.store import Store, tensor_bytes, tensor_load
from ftpvm_core.model.step_types import Memory


def select_memory(keyframes: list[int], frame: int, size: int, policy: str) -> list[int]:
    """The keyframe numbers whose memory ``frame`` reads, sorted by frame number."""
    kfs = sorted(keyframes)
    if not kfs:
        return []
    if policy == "nearest":
        return sorted(sorted(kfs, key=lambda k: (abs(k - frame), k))[:size])
    past = [k for k in kfs if k <= frame]
    if not past:
        return [kfs[len(past)]]
    if len(past) <= size:
        return past
    return [past[0]] + (past[-(size - 1):] if size > 1 else [])


class MemoryBank:
    """Encoded keyframe memory for one shot, in RAM and on disk (keyed by content, ratio, precision, weights)."""

    def __init__(self, store: Store, shot_id: str, fingerprint: str):
        self.store = store
        self.dir = store.shot_dir(shot_id) / "memory" / fingerprint
        self.fingerprint = fingerprint
        self._ram: dict[str, Memory] = {}
        self._lock = threading.Lock()
        self.encodes = 0  # how many times the network encoded a keyframe (tests check restarts do not)

    @staticmethod
    def key(content_hash: str, ratio: float, precision: str) -> str:
        return hashlib.sha1(f"{content_hash}|{ratio:.6f}|{precision}".encode()).hexdigest()[:24]

    def get(self, key: str, encode: Callable[[], Memory], device: torch.device) -> Memory:
        """The memory for ``key``: from RAM, else disk, else ``encode()`` (then saved)."""
        with self._lock:
            mem = self._ram.get(key)
        if mem is not None:
            return mem
        path = self.dir / f"{key}.pt"
        mem = None
        if path.is_file():
            try:
                feat, value = tensor_load(path.read_bytes())
                mem = Memory(feat, value).to(device)
            except Exception:  # unreadable file: re-encode below
                mem = None
        if mem is None:
            mem = encode()
            self.encodes += 1
            atomic_write_bytes(path, tensor_bytes((mem.feat16.cpu(), mem.value.cpu())))
        with self._lock:
            self._ram[key] = mem
        return mem

    def forget_unused(self, keep: set[str]) -> None:
        """Drop RAM copies of memories no keyframe uses any more (files stay for undo; cleared on reset)."""
        with self._lock:
            for k in list(self._ram):
                if k not in keep:
                    del self._ram[k]

    def drop_files(self, keep: set[str]) -> None:
        """Delete memory files not in ``keep`` (used when keyframes are removed or replaced)."""
        if not self.dir.is_dir():
            return
        for p in self.dir.glob("*.pt"):
            if p.stem not in keep:
                try:
                    p.unlink()
                except OSError:
                    pass

