"""A frame's passes on their way from the device to host memory, without stalling the device.

On CUDA the copies go into pinned host buffers with ``non_blocking=True`` and an event marks their end: the matte
loop goes on (foreground estimation reads the passes still on the device) and the result cache's writer thread
waits for the event, not the loop. On the CPU the tensors are already host memory: :meth:`HostCopy.arrays` returns
views of them, as before.

A caller that owns the memory a pass must end in (the server's shared-memory slot for the client) hands it to
:meth:`HostCopy.arrays` as ``into``: that pass's one copy to the host lands there (from the device on CUDA), and the
pinned copy stays the cache's own.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch


def destination(dest: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``dest`` when it can receive a float32 pass of ``shape``; ValueError saying what it must be otherwise."""
    if dest.shape != shape or dest.dtype != np.float32 or not dest.flags.writeable:
        kind = f"{'' if dest.flags.writeable else 'read-only '}{dest.dtype}"
        raise ValueError(f"a pass of shape {shape} cannot be written into a {kind} array of shape {dest.shape}; "
                         f"give a writable float32 array of the pass's shape")
    return dest


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

    def arrays(self, into: Sequence[np.ndarray | None] = ()) -> tuple[np.ndarray, ...]:
        """The host copies as numpy arrays, waiting (only this thread) for the copies to finish.

        ``into[i]``, when given, is a float32 array of tensor ``i``'s shape that receives it instead (and is returned
        in its place): copied straight from the device on CUDA, from the host tensor on the CPU."""
        out: list[np.ndarray] = []
        for i, t in enumerate(self.device):
            dest = into[i] if i < len(into) else None
            if dest is not None:
                torch.from_numpy(destination(dest, tuple(t.shape))).copy_(t)
                out.append(dest)
            else:
                if self._event is not None:
                    self._event.synchronize()
                out.append(self._host[i].numpy())
        return tuple(out)


__all__ = ["HostCopy", "destination"]
