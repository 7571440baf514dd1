"""A frame's passes on their way from the device to host memory, without stalling the device.

On CUDA the copies go into pinned host buffers with ``non_blocking=True`` and an event marks their end: the matte
loop goes on (foreground estimation reads the passes still on the device) and the result cache's writer thread
waits for the event, not the loop. On the CPU the tensors are already host memory: :meth:`HostCopy.arrays` returns
views of them, as before.
"""
from __future__ import annotations

import numpy as np
import torch


class HostCopy:
    """Tensors on the engine's device (``device``) and their host copy, ready after :meth:`arrays`."""

    def __init__(self, tensors: tuple[torch.Tensor, ...]) -> None:
        self.device = tuple(t.detach() for t in tensors)
        self._event: torch.cuda.Event | None = None
        if self.device and self.device[0].device.type == "cuda":
            self._host = tuple(torch.empty(t.shape, dtype=t.dtype, pin_memory=True).copy_(t, non_blocking=True)
                               for t in self.device)
            self._event = torch.cuda.Event()
            self._event.record()
        else:
            self._host = self.device

    @property
    def pinned(self) -> bool:
        """True when the host copies live in pinned (page-locked) memory, filled asynchronously."""
        return self._event is not None

    def ready(self) -> bool:
        """True once the host copies are complete (always on the CPU)."""
        return self._event is None or self._event.query()

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The host copies as numpy arrays, waiting (only this thread) for the copies to finish."""
        if self._event is not None:
            self._event.synchronize()
        return tuple(t.numpy() for t in self._host)


__all__ = ["HostCopy"]
