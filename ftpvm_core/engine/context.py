"""What a shot needs from its engine, given explicitly (the shot never sees the engine)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ftpvm_core.engine.store import Store
from ftpvm_core.model.streaming import StreamingStep


@dataclass(frozen=True)
class ShotContext:
    """The store, the loaded network's identity and device, its streaming steps and the cache sizes."""

    store: Store
    fingerprint: str
    device: torch.device
    #: ``step(precision, downsample_ratio)``: the engine's streaming step for a shot's settings
    step: Callable[[str, "float | str"], StreamingStep]
    memory_states: int
    warmup_frames: int


__all__ = ["ShotContext"]
