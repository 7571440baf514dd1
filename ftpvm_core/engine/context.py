"""What a shot needs from its engine, given explicitly (the shot never sees the engine)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from ftpvm_core.engine.store import Store
from ftpvm_core.model.streaming import StreamingStep


@dataclass(frozen=True)
class ShotContext:
    """The store, the loaded network's identity and device, its streaming steps, cache sizes and checkpointing."""

    store: Store
    fingerprint: str
    device: torch.device
    #: ``step(precision, downsample_ratio)``: the engine's streaming step for a shot's settings
    step: Callable[[str, "float | str"], StreamingStep]
    memory_states: int
    warmup_frames: int
    #: a recurrent-state checkpoint every this many frames of a chain (a resume replays at most this many - 1)
    state_every: int = 8
    #: the dtype checkpoints are stored (and carried on from) in: "float16" or "float32"
    state_dtype: str = "float16"


__all__ = ["ShotContext"]
