"""What the streaming step reads and returns: encoded memory, recurrent state, one frame's output.

All batch 1. The recurrent state is always four explicit tensors (zeros at the start of a shot, which equals the
model's ``None``), so eager, compiled and exported steps share one signature (:data:`Core`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import torch
from torch import Tensor, nn


@dataclass
class Memory:
    """Encoded keyframes at the working size: ``feat16`` (1, t, c, h/16, w/16), ``value`` (1, c, t, h/16, w/16)."""

    feat16: Tensor
    value: Tensor

    @property
    def frames(self) -> int:
        return self.feat16.size(1)

    @staticmethod
    def cat(memories: Sequence["Memory"]) -> "Memory":
        """Several encoded keyframes as one memory bank."""
        if not memories:
            raise ValueError("Memory.cat needs at least one memory")
        if len(memories) == 1:
            return memories[0]
        return Memory(torch.cat([m.feat16 for m in memories], 1), torch.cat([m.value for m in memories], 2))

    def to(self, device: str | torch.device) -> "Memory":
        return Memory(self.feat16.to(device), self.value.to(device))


@dataclass
class StreamState:
    """Recurrent state after ``frames`` streamed frames: ``[seg r8, seg r16, mat r1, mat r2]`` at the working size."""

    tensors: tuple[Tensor, Tensor, Tensor, Tensor]
    frames: int = 0

    def to(self, device: str | torch.device) -> "StreamState":
        return StreamState(tuple(t.to(device) for t in self.tensors), self.frames)  # type: ignore[arg-type]

    def clone(self) -> "StreamState":
        return StreamState(tuple(t.clone() for t in self.tensors), self.frames)  # type: ignore[arg-type]

    def as_dict(self) -> dict:
        """Plain tensors/ints on the CPU, safe for ``torch.save`` + ``torch.load(weights_only=True)``."""
        return {"tensors": [t.detach().cpu().clone() for t in self.tensors], "frames": self.frames}

    @staticmethod
    def from_dict(d: dict) -> "StreamState":
        return StreamState(tuple(d["tensors"]), int(d["frames"]))  # type: ignore[arg-type]


class StepOutput(NamedTuple):
    """One frame's result, float32, batch 1, and the state after it.

    ``trimap_logits`` (1, 3, h, w) and ``boundary`` (1, 1, h, w) are at the working size (padded to a multiple of
    16 when the ratio is not 1; :func:`ftpvm_core.model.working_size.to_input_size` brings them to the frame),
    ``full`` (1, 1, H, W) is the full matte at the input size.
    """

    trimap_logits: Tensor
    boundary: Tensor
    full: Tensor
    state: StreamState


#: ``core(q_small (1,1,3,h,w), memory, state tensors) -> (trimap_logits, boundary, new state tensors)``
Core = Callable[[Tensor, Memory, tuple[Tensor, ...]], tuple[Tensor, Tensor, tuple[Tensor, ...]]]


def state_shapes(net: nn.Module, height: int, width: int) -> list[tuple[int, int, int, int]]:
    """Shapes of the 4 recurrent tensors for a working size (multiple of 16)."""
    seg, mat = net.seg_decoder, net.mat_decoder
    return [
        (1, seg.decode3.half, height // 8, width // 8),
        (1, seg.decode4.half, height // 16, width // 16),
        (1, mat.decode2.half, height, width),
        (1, mat.decode1.half, height // 2, width // 2),
    ]


__all__ = ["Core", "Memory", "StepOutput", "StreamState", "state_shapes"]
