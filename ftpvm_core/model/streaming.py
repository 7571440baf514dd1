"""The one streaming step: a frame, the encoded memory and the recurrent state in; its matte and the next state out.

Everything that runs the network frame by frame uses it: the shot engine (and so the server and ``ftpvm matte``),
the benchmarks and the tests. Typical use::

    net = prepare_for_inference(load_model("ftpvm.pth"), device="auto")   # folded copy
    step = StreamingStep(net)                      # downsample_ratio="auto", precision="auto", backend="torch"
    memory = step.encode_memory(key_image, key_trimap)    # (3,H,W) / (1,H,W) tensors in [0, 1]
    out = step(key_image, memory, trimap=key_trimap)      # a keyframe: its matte follows the given trimap
    for frame in frames:
        out = step(frame, memory, out.state)              # StepOutput(trimap_logits, boundary, full, state)

The step holds no shot state, so one step serves many shots (and threads). Backends: "torch" (eager or
``torch.compile``d, fp16/bf16 autocast with the trimap/matte fusion and the guided filter kept in float32) and
"onnx" (ONNX Runtime on the CPU, float32; reduced precision there runs in torch). "auto" picks ONNX Runtime on
the CPU when it is installed, for the stock network only.
"""
from __future__ import annotations

import logging
from typing import Sequence

import torch
from torch import Tensor, nn

from . import onnx_backend
from .ftpvm import FastTrimapPropagationVideoMatting
from .precision import DTYPES, resolve_precision
from .prepare import prepare_for_inference
from .step_types import Core, Memory, StepOutput, StreamState, state_shapes
from .torch_core import TorchCore
from .working_size import check_downsample_ratio, ratio_for, working_size

log = logging.getLogger(__name__)

BACKENDS = ("auto", "torch", "onnx")


def resolve_backend(backend: str, device: torch.device, stock: bool = True) -> str:
    """The backend for ``device``: "auto" = ONNX Runtime on a CPU where it is installed, for the stock network
    only (``stock``; a subclass may override methods an export would bypass), else torch."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "auto":
        return "onnx" if stock and device.type == "cpu" and onnx_backend.is_available() else "torch"
    if backend == "onnx":
        if device.type != "cpu":
            raise ValueError(f"the onnx backend runs on the CPU, not on {device}; use --backend torch there")
        if not onnx_backend.is_available():
            raise ValueError("the onnx backend needs the optional extra: pip install 'ftpvm[onnx]'")
    return backend


class _CoreCache(dict):
    """Cores kept on a prepared net and shared by its steps; copies and pickles of the net start with an empty
    cache (sessions and compiled functions are not copyable)."""

    def __deepcopy__(self, memo: dict) -> "_CoreCache":
        return _CoreCache()

    def __reduce__(self):
        return (_CoreCache, ())


def _as_clip(x: Tensor, channels: int, what: str) -> Tensor:
    """(c,h,w) | (1,c,h,w) | (1,1,c,h,w) -> (1,1,c,h,w)."""
    if x.ndim == 3:
        x = x[None, None]
    elif x.ndim == 4:
        x = x[:, None]
    if x.ndim != 5 or x.shape[0] != 1 or x.shape[1] != 1 or x.shape[2] != channels:
        raise ValueError(f"{what} must be ({channels},H,W), (1,{channels},H,W) or (1,1,{channels},H,W); "
                         f"got {tuple(x.shape)}")
    return x


class StreamingStep:
    """Streams frames through FTP-VM (see the module docstring).

    ``net``: best a copy from :func:`prepare_for_inference` (anything else is prepared here on ``device``).
    ``downsample_ratio``: a float in (0, 1] or "auto" (:func:`~ftpvm_core.model.working_size.auto_downsample_ratio`
    of each frame's size). ``precision``: fp32 | fp16 | bf16 | auto (long names accepted). ``backend``: torch |
    onnx | auto. ``onnx_spin`` lets onnxruntime's worker threads busy-wait between operators: about 10% faster on
    an otherwise idle CPU, worse next to a busy host app.
    """

    def __init__(self, net: nn.Module, *, downsample_ratio: float | str = "auto", device: str | torch.device = "auto",
                 precision: str = "auto", compile: bool | str = False, backend: str = "torch",
                 onnx_cache_dir: str | None = None, onnx_spin: bool = False) -> None:
        if not hasattr(net, "inference_config"):
            net = prepare_for_inference(net, device)
        self.net = net
        self.device: torch.device = net.inference_config.device
        self.precision = resolve_precision(precision, self.device)
        if self.precision != "fp32" and self.device.type != "cuda":
            log.info("%s autocast on %s: reduced precision is meant for CUDA", self.precision, self.device)
        self.downsample_ratio = check_downsample_ratio(downsample_ratio)
        backend = resolve_backend(backend, self.device, type(net) is FastTrimapPropagationVideoMatting)
        self.backend = "torch" if self.precision != "fp32" else backend  # ONNX Runtime runs the float32 graph
        cores = net.__dict__.setdefault("_streaming_cores", _CoreCache())
        key = (self.backend, self.precision, compile, str(onnx_cache_dir), onnx_spin)
        if key not in cores:
            if self.backend == "onnx":
                cores[key] = onnx_backend.OnnxCore(net, cache_dir=onnx_cache_dir, spin=onnx_spin)
            else:
                cores[key] = TorchCore(net, self.precision, compile)
        self.core: Core = cores[key]
        # memory is always encoded in torch, under the step's precision
        self._encoder = cores[key] if self.backend == "torch" else TorchCore(net, self.precision)

    def ratio_for(self, height: int, width: int) -> float:
        """The downsample ratio used for frames of this size."""
        return ratio_for(self.downsample_ratio, height, width)

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """The padded size the network sees for frames of this size."""
        return working_size(height, width, self.ratio_for(height, width))

    # ------------------------------------------------------------------ memory
    @torch.inference_mode()
    def encode_memory(self, images: Tensor, trimaps: Tensor) -> Memory:
        """Encode keyframe(s): ``images`` (t,3,H,W) or (3,H,W) or (1,1,3,H,W), trimaps alike with 1 channel."""
        images = images.reshape(-1, *images.shape[-3:])
        trimaps = trimaps.reshape(-1, *trimaps.shape[-3:])
        if images.shape[1] != 3 or trimaps.shape[1] != 1 or images.shape[0] != trimaps.shape[0] \
                or images.shape[-2:] != trimaps.shape[-2:]:
            raise ValueError(f"keyframes must be (t,3,H,W) with trimaps (t,1,H,W); got {tuple(images.shape)}, "
                             f"{tuple(trimaps.shape)}")
        ratio = self.ratio_for(*images.shape[-2:])
        return self._encoder.encode(images[None].to(self.device, torch.float32),
                                    trimaps[None].to(self.device, torch.float32), ratio)

    def join_memory(self, memories: Sequence[Memory]) -> Memory:
        """Several encoded keyframes as one bank, on this step's device."""
        return Memory.cat([m.to(self.device) for m in memories])

    # ------------------------------------------------------------------ frames
    def start_state(self, height: int, width: int) -> StreamState:
        """The state at the start of a shot for frames of this size (zeros)."""
        hs, ws = self.working_size(height, width)
        dtype = DTYPES[self.precision] if self.device.type == "cuda" else torch.float32
        zeros = tuple(torch.zeros(s, device=self.device, dtype=dtype) for s in state_shapes(self.net, hs, ws))
        return StreamState(zeros, 0)  # type: ignore[arg-type]

    @torch.inference_mode()
    def __call__(self, frame: Tensor, memory: Memory, state: StreamState | None = None,
                 trimap: Tensor | None = None) -> StepOutput:
        """Matte one frame (3,H,W) in [0, 1] reading ``memory``, after ``state`` (None = start of a shot).

        With ``trimap`` (1,H,W), the full matte follows that trimap instead of the predicted one: with the memory
        encoded from exactly this frame and trimap it equals the model's
        ``forward(frame, frame, trimap, replace_given_seg=True)`` (a keyframe).
        """
        clip = _as_clip(frame, 3, "frame").to(self.device, torch.float32)
        h, w = clip.shape[-2:]
        ratio = self.ratio_for(h, w)
        q_small, pad = self.net._working_size(clip, ratio)
        hs, ws = q_small.shape[-2:]
        if tuple(memory.feat16.shape[-2:]) != (hs // 16, ws // 16):
            raise ValueError(f"frame size {(h, w)} does not match the memory (encoded at working size "
                             f"{tuple(s * 16 for s in memory.feat16.shape[-2:])}, this frame's is {(hs, ws)})")
        if state is None:
            state = self.start_state(h, w)
        elif tuple(state.tensors[2].shape[-2:]) != (hs, ws):
            raise ValueError(f"frame size {(h, w)} does not match the state (working size "
                             f"{tuple(state.tensors[2].shape[-2:])}, this frame's is {(hs, ws)})")
        logits, boundary, new_state = self.core(q_small, memory, state.tensors)
        given = None if trimap is None else \
            self.net._working_size(_as_clip(trimap, 1, "trimap").to(self.device, torch.float32), ratio)[0]
        logits, boundary, full = self.net.matte_outputs(clip, q_small, pad, logits.float(), boundary.float(), ratio,
                                                        given)
        return StepOutput(logits[:, 0], boundary[:, 0], full[:, 0],
                          StreamState(new_state, state.frames + 1))  # type: ignore[arg-type]


__all__ = ["BACKENDS", "StreamingStep", "resolve_backend"]
