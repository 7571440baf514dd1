"""The torch backend of the streaming step: the network on a padded working-size frame, eager or compiled."""
from __future__ import annotations

import contextlib
import logging
from typing import Callable

import torch
from torch import Tensor, nn
from torch.utils._pytree import tree_map

from .precision import DTYPES
from .step_types import Memory

log = logging.getLogger(__name__)


class TorchCore:
    """Runs ``forward_with_memory`` under the precision's autocast (see :data:`ftpvm_core.model.step_types.Core`).

    ``compile``: False, True (default mode with weight freezing) or a ``torch.compile`` mode name; any
    compilation failure falls back to eager. Under "reduce-overhead" (CUDA graphs) each call starts a new graph step
    and its outputs are cloned, since the next replay reuses the graph's output buffers while the state is carried.
    """

    def __init__(self, net: nn.Module, precision: str = "fp32", compile: bool | str = False) -> None:
        self.net = net
        self.device = next(net.parameters()).device
        self.dtype = DTYPES[precision]
        self._fn: Callable = net.forward_with_memory
        self._compiled = False
        self._graphs = compile == "reduce-overhead"
        if compile:
            try:
                if isinstance(compile, str):
                    self._fn = torch.compile(net.forward_with_memory, dynamic=False, mode=compile)
                else:  # freezing: weights become constants (prepacked for oneDNN on CPU)
                    self._fn = torch.compile(net.forward_with_memory, dynamic=False, options={"freezing": True})
                self._compiled = True
            except Exception as exc:  # pragma: no cover - depends on the platform's compiler
                log.warning("torch.compile unavailable (%s); running eager", exc)

    def autocast(self) -> contextlib.AbstractContextManager:
        """Autocast for reduced precision (nothing for fp32)."""
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def _run(self, fn: Callable, q: Tensor, memory: Memory, state: tuple[Tensor, ...]) -> list:
        with self.autocast():
            return fn(q, memory.feat16, memory.value, [state[0], state[1]], [state[2], state[3]])

    def __call__(self, q: Tensor, memory: Memory, state: tuple[Tensor, ...]):
        try:
            if self._graphs and self._compiled:
                torch.compiler.cudagraph_mark_step_begin()
                out = tree_map(lambda t: t.clone() if isinstance(t, Tensor) else t,
                               self._run(self._fn, q, memory, state))
            else:
                out = self._run(self._fn, q, memory, state)
        except Exception as exc:
            if not self._compiled:
                raise
            log.warning("compiled FTP-VM failed (%s: %s); falling back to eager", type(exc).__name__, exc)
            self._fn, self._compiled = self.net.forward_with_memory, False
            out = self._run(self._fn, q, memory, state)
        (r8, r16), (r1, r2) = out[3]
        return out[0], out[1], (r8, r16, r1, r2)

    def encode(self, images: Tensor, trimaps: Tensor, ratio: float) -> Memory:
        """Encode keyframes (1, t, 3, H, W) + trimaps (1, t, 1, H, W) under the same autocast."""
        with self.autocast():
            feat16, value = self.net.encode_imgs_to_value(images, trimaps, ratio)
        return Memory(feat16, value)


__all__ = ["TorchCore"]
