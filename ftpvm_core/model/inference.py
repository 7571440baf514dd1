"""Fast streaming inference for FTP-VM: one frame at a time, memory encoded once.

Typical use (what an application or the shot engine does)::

    net = prepare_for_inference(load_model("ftpvm.pth"), device="auto")  # folded copy
    matter = StreamingMatter(net, downsample_ratio="auto")
    matter.set_memory(key_image, key_trimap)       # (3,H,W) / (1,H,W) tensors in [0, 1]
    out = matter.step(key_image, trimap=key_trimap)  # first frame = the keyframe itself (optional)
    for frame in frames:
        out = matter.step(frame)                   # StepOutput(trimap_logits, boundary, full)
    saved = matter.state                           # StreamState; matter.state = saved resumes

Speed-ups (none changes results beyond float rounding): ``torch.inference_mode``, convolution +
batch-norm folding, image-guide convolutions split off the decoders' concatenations, optional
channels-last layout and ``torch.compile`` (guarded: any failure falls back to eager), fp16/bf16
autocast on CUDA with the trimap/matte fusion and the guided filter kept in float32. The recurrent state is always an explicit tensor (zeros at the start of a
shot, which equals the model's ``None``), so compiled and exported graphs see one signature.
"""
from __future__ import annotations

import contextlib
import copy
import logging
from dataclasses import dataclass
from typing import Callable, Literal, NamedTuple, Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .checkpoint import resolve_device
from .fusion import MemoryReader
from .guided_filter import FastGuidedUpsampler
from .layers import ConcatConv2d

log = logging.getLogger(__name__)

Precision = Literal["fp32", "fp16", "bf16"]
PRECISIONS: dict[str, torch.dtype] = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
#: Long side (pixels) the network should see when the downsample ratio is "auto".
AUTO_TARGET = 512


def auto_downsample_ratio(height: int, width: int, target: int = AUTO_TARGET) -> float:
    """Ratio that brings the long side to about ``target`` pixels (never upscales).

    512x288 and smaller -> 1; 1920x1080 -> 0.2667; 3840x2160 -> 0.1333.
    """
    return min(1.0, target / max(height, width))


# ---------------------------------------------------------------------------- preparation
def _fold_pairs(module: nn.Module) -> list[tuple[str, str]]:
    """(conv, batch-norm) child names that run back to back in ``module``'s forward."""
    if isinstance(module, nn.Sequential):
        names = list(module._modules)
        return [(a, b) for a, b in zip(names, names[1:])
                if isinstance(module._modules[a], nn.Conv2d) and isinstance(module._modules[b], nn.BatchNorm2d)]
    from .backbone import ConvBnAct, DepthwiseSeparable, InvertedResidual, MobileNetV3LargeEncoder

    known: dict[type, list[tuple[str, str]]] = {
        MobileNetV3LargeEncoder: [("conv_stem", "bn1")],
        DepthwiseSeparable: [("conv_dw", "bn1"), ("conv_pw", "bn2")],
        InvertedResidual: [("conv_pw", "bn1"), ("conv_dw", "bn2"), ("conv_pwl", "bn3")],
        ConvBnAct: [("conv", "bn1")],
    }
    return known.get(type(module), [])


def _fuse(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """Fold ``bn`` into ``conv`` (computed in float64, stored in the conv's dtype)."""
    dtype = conv.weight.dtype
    fused = fuse_conv_bn_eval(copy.deepcopy(conv).double().eval(), copy.deepcopy(bn).double().eval())
    return fused.to(dtype)


def fold_batchnorm(model: nn.Module) -> int:
    """Fold every batch norm that directly follows a convolution into it, in place.

    The batch norm becomes ``nn.Identity``. Returns how many were folded. Batch norms after an
    activation (the matting decoder's skip gates) stay as they are.
    """
    count = 0
    for module in list(model.modules()):
        for conv_name, bn_name in _fold_pairs(module):
            conv, bn = getattr(module, conv_name), getattr(module, bn_name)
            if not isinstance(conv, nn.Conv2d) or not isinstance(bn, nn.BatchNorm2d) or not bn.track_running_stats:
                continue
            setattr(module, conv_name, _fuse(conv, bn))
            setattr(module, bn_name, nn.Identity())
            count += 1
    return count


class Float32MemoryReader(MemoryReader):
    """Memory read whose key affinity (dot products + softmax) always runs in float32, also
    under fp16/bf16 autocast, with denormal weights set to zero; otherwise identical to
    :class:`MemoryReader`.

    Softmax weights below float32's smallest normal number (~1.2e-38) change no read-out value,
    but denormal arithmetic made the read-out product about ten times slower on x86. Zeroing them
    here avoids that without flushing denormals for the whole thread (a process-wide CPU flag
    that would also change float16 conversions elsewhere in the host application).
    """

    @staticmethod
    def affinity(mem_key: Tensor, query_key: Tensor) -> Tensor:
        with torch.autocast(mem_key.device.type, enabled=False):
            weights = MemoryReader.affinity(mem_key.float(), query_key.float())
        return weights.masked_fill(weights < torch.finfo(torch.float32).tiny, 0.0)


def split_image_guides(model: nn.Module) -> int:
    """Split the image-guide part off every decoder convolution over a concatenation, in place
    (:meth:`ConcatConv2d.split_guide`; call after :func:`fold_batchnorm`). Returns how many."""
    return sum(m.split_guide() for m in model.modules() if isinstance(m, ConcatConv2d))


@dataclass(frozen=True)
class InferenceConfig:
    """How a prepared copy runs (stored on it as ``inference_config``)."""

    device: torch.device
    precision: str = "fp32"
    channels_last: bool = False
    compile: bool | str = False
    folded: int = 0


def prepare_for_inference(
    model: nn.Module,
    device: str | torch.device = "auto",
    precision: Precision = "fp32",
    channels_last: bool | None = None,
    compile: bool | str = False,
    split_guides: bool = True,
) -> nn.Module:
    """A copy of ``model`` ready for fast inference; ``model`` itself is not touched.

    The copy is in eval mode on ``device`` with batch norms folded into convolutions (a clean
    module tree: folded norms are ``nn.Identity``), weights in float32 (reduced precision is
    applied by autocast at run time, see :class:`StreamingMatter`), the memory affinity
    pinned to float32 (:class:`Float32MemoryReader`) and the guided upsampling computed faster
    (:class:`FastGuidedUpsampler`). ``channels_last`` defaults
    to True on CUDA and False on CPU (where it was measured not to help). ``compile`` asks
    :class:`StreamingMatter` to run the network through ``torch.compile`` (True or a mode name
    such as "max-autotune-no-cudagraphs"; falls back to eager if compilation fails).
    ``split_guides`` gives the decoders' image-guide inputs convolutions of their own
    (:func:`split_image_guides`).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, not {precision!r}")
    dev = resolve_device(device)
    net = copy.deepcopy(model).float().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    folded = fold_batchnorm(net)
    if split_guides:
        split_image_guides(net)
    net.bottleneck_fuse.reader = Float32MemoryReader()
    net.refiner = FastGuidedUpsampler(net.refiner.radius, net.refiner.eps)
    if channels_last is None:
        channels_last = dev.type == "cuda"
    net.to(dev)
    if channels_last:
        net.to(memory_format=torch.channels_last)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    net.inference_config = InferenceConfig(dev, precision, bool(channels_last), bool(compile), folded)
    return net


# ---------------------------------------------------------------------------- streaming
@dataclass
class Memory:
    """Encoded keyframes: ``feat16`` (1, t, c, h, w) and ``value`` (1, c, t, h, w) at the working size."""

    feat16: Tensor
    value: Tensor
    size: tuple[int, int] = (0, 0)  # input (h, w) the memory was encoded for

    @property
    def frames(self) -> int:
        return self.feat16.size(1)

    @staticmethod
    def cat(memories: Sequence["Memory"]) -> "Memory":
        """Join several encoded keyframes into one memory bank."""
        if not memories:
            raise ValueError("Memory.cat needs at least one memory")
        return Memory(torch.cat([m.feat16 for m in memories], 1), torch.cat([m.value for m in memories], 2),
                      memories[0].size)

    def to(self, device: str | torch.device) -> "Memory":
        return Memory(self.feat16.to(device), self.value.to(device), self.size)


@dataclass
class StreamState:
    """Recurrent state after ``frames`` streamed frames: ``[seg r8, seg r16, mat r1, mat r2]``."""

    tensors: tuple[Tensor, Tensor, Tensor, Tensor]
    frames: int = 0
    size: tuple[int, int] = (0, 0)  # input (h, w) it belongs to

    def to(self, device: str | torch.device) -> "StreamState":
        return StreamState(tuple(t.to(device) for t in self.tensors), self.frames, self.size)  # type: ignore[arg-type]

    def clone(self) -> "StreamState":
        return StreamState(tuple(t.clone() for t in self.tensors), self.frames, self.size)  # type: ignore[arg-type]

    def as_dict(self) -> dict:
        """Plain tensors/ints, safe for ``torch.save`` + ``torch.load(weights_only=True)``."""
        return {"tensors": [t.detach().clone() for t in self.tensors], "frames": self.frames, "size": list(self.size)}

    @staticmethod
    def from_dict(d: dict) -> "StreamState":
        return StreamState(tuple(d["tensors"]), int(d["frames"]), tuple(d["size"]))  # type: ignore[arg-type]


class StepOutput(NamedTuple):
    """One frame's result, float32, batch 1.

    ``trimap_logits`` (1, 3, h, w) and ``boundary`` (1, 1, h, w) are at the working size (the
    input size when the ratio is 1), ``full`` (1, 1, H, W) is the full matte at the input size.
    """

    trimap_logits: Tensor
    boundary: Tensor
    full: Tensor


class _CoreCache(dict):
    """Cores kept on a prepared net and shared by its StreamingMatters; copies and pickles of
    the net start with an empty cache (sessions and compiled functions are not copyable)."""

    def __deepcopy__(self, memo: dict) -> "_CoreCache":
        return _CoreCache()

    def __reduce__(self):
        return (_CoreCache, ())


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


class TorchCore:
    """Runs the network on a padded working-size frame (eager or ``torch.compile``d).

    ``compile``: False, True (default mode with weight freezing) or a ``torch.compile`` mode name.
    """

    def __init__(self, net: nn.Module, precision: Precision = "fp32", compile: bool | str = False) -> None:
        self.net = net
        self.device = next(net.parameters()).device
        self.dtype = PRECISIONS[precision]
        self._fn: Callable = net.forward_with_memory
        self._compiled = False
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
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def _run(self, fn: Callable, q: Tensor, memory: Memory, state: tuple[Tensor, ...]) -> list:
        with self.autocast():
            return fn(q, memory.feat16, memory.value, [state[0], state[1]], [state[2], state[3]])

    def __call__(self, q: Tensor, memory: Memory, state: tuple[Tensor, ...]):
        try:
            out = self._run(self._fn, q, memory, state)
        except Exception as exc:
            if not self._compiled:
                raise
            log.warning("compiled FTP-VM failed (%s: %s); falling back to eager", type(exc).__name__, exc)
            self._fn, self._compiled = self.net.forward_with_memory, False
            out = self._run(self._fn, q, memory, state)
        (r8, r16), (r1, r2) = out[3]
        return out[0], out[1], (r8, r16, r1, r2)


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


class StreamingMatter:
    """Streams frames of one shot through FTP-VM, carrying the recurrent state.

    ``net``: a model, best one returned by :func:`prepare_for_inference` (anything else is
    prepared here on ``device``). ``downsample_ratio``: a float in (0, 1] or "auto"
    (:func:`auto_downsample_ratio` of each frame's size). ``backend``: "torch" or "onnx"
    (onnxruntime on CPU, see :mod:`ftpvm_core.model.onnx_backend`). API: :meth:`encode_memory`,
    :meth:`set_memory`, :meth:`step`, :attr:`state` (get / set / ``None`` = start of shot),
    :meth:`reset`.
    """

    def __init__(
        self,
        net: nn.Module,
        *,
        downsample_ratio: float | str = "auto",
        device: str | torch.device = "auto",
        precision: Precision = "fp32",
        compile: bool | str = False,
        backend: Literal["torch", "onnx"] = "torch",
        onnx_cache_dir: str | None = None,
        onnx_spin: bool = False,
    ) -> None:
        # ``onnx_spin``: let onnxruntime's worker threads busy-wait between operators. About 10% faster on an
        # otherwise idle CPU (a render node, the server's own machine); leave it off next to a busy host app.
        if not hasattr(net, "inference_config"):
            net = prepare_for_inference(net, device, precision, compile=compile)
        cfg: InferenceConfig = net.inference_config
        self.net = net
        self.device = cfg.device
        self.precision = precision if precision != "fp32" else cfg.precision
        if self.precision != "fp32" and self.device.type != "cuda":
            log.info("%s autocast on %s: reduced precision is meant for CUDA", self.precision, self.device)
        valid = isinstance(downsample_ratio, (int, float)) and 0 < downsample_ratio <= 1
        if downsample_ratio != "auto" and not valid:
            raise ValueError(f"downsample_ratio must be 'auto' or in (0, 1], not {downsample_ratio!r}")
        self.downsample_ratio = downsample_ratio
        compile = compile or cfg.compile
        if backend not in ("torch", "onnx"):
            raise ValueError(f"backend must be 'torch' or 'onnx', not {backend!r}")
        if backend == "onnx" and self.device.type != "cpu":
            raise ValueError("the onnx backend runs on CPU: prepare the model with device='cpu'")
        # cores (compiled functions, onnxruntime sessions) are kept on the prepared net and shared
        cores = net.__dict__.setdefault("_streaming_cores", _CoreCache())
        key = (backend, self.precision, compile, str(onnx_cache_dir), onnx_spin)
        if key not in cores:
            if backend == "onnx":
                from .onnx_backend import OnnxCore

                cores[key] = OnnxCore(net, cache_dir=onnx_cache_dir, spin=onnx_spin)
            else:
                cores[key] = TorchCore(net, self.precision, compile)
        self.core: Core = cores[key]
        self.backend = backend
        self.memory: Memory | None = None
        self._state: StreamState | None = None

    # ------------------------------------------------------------------ settings
    def ratio_for(self, height: int, width: int) -> float:
        """The downsample ratio used for frames of this size."""
        if self.downsample_ratio == "auto":
            return auto_downsample_ratio(height, width)
        return float(self.downsample_ratio)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "fp32" or self.backend != "torch":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=PRECISIONS[self.precision])

    def _working(self, x: Tensor, ratio: float) -> tuple[Tensor, tuple[int, int, int, int]]:
        return self.net._working_size(x.to(self.device, torch.float32), ratio)

    # ------------------------------------------------------------------ memory
    @torch.inference_mode()
    def encode_memory(self, images: Tensor, trimaps: Tensor) -> Memory:
        """Encode keyframe(s): ``images`` (t,3,H,W) or (3,H,W), ``trimaps`` (t,1,H,W) or (1,H,W)."""
        images = images[None] if images.ndim == 3 else images
        trimaps = trimaps[None] if trimaps.ndim == 3 else trimaps
        if images.ndim != 4 or trimaps.ndim != 4 or images.shape[0] != trimaps.shape[0]:
            raise ValueError(f"keyframes must be (t,3,H,W) with trimaps (t,1,H,W); got {tuple(images.shape)}, "
                             f"{tuple(trimaps.shape)}")
        h, w = images.shape[-2:]
        ratio = self.ratio_for(h, w)
        with self._autocast():
            feat16, value = self.net.encode_imgs_to_value(images[None].to(self.device, torch.float32),
                                                          trimaps[None].to(self.device, torch.float32), ratio)
        return Memory(feat16, value, (h, w))

    def set_memory(self, images: Tensor | Memory | Sequence[Memory], trimaps: Tensor | None = None) -> Memory:
        """Use these keyframes (or already encoded :class:`Memory`) for the following frames."""
        if isinstance(images, Memory):
            memory = images.to(self.device)
        elif isinstance(images, (list, tuple)):
            memory = Memory.cat([m.to(self.device) for m in images])
        else:
            if trimaps is None:
                raise ValueError("set_memory needs trimaps with images")
            memory = self.encode_memory(images, trimaps)
        self.memory = memory
        return memory

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> StreamState | None:
        """The recurrent state (``None`` before the first frame); set it to resume elsewhere."""
        return self._state

    @state.setter
    def state(self, value: StreamState | None) -> None:
        self._state = None if value is None else value.to(self.device)

    def reset(self) -> None:
        """Start a new shot (zero recurrent state); the memory is kept."""
        self._state = None

    # ------------------------------------------------------------------ frames
    @torch.inference_mode()
    def step(self, frame: Tensor, trimap: Tensor | None = None) -> StepOutput:
        """Matte one frame (3,H,W) in [0, 1] and advance the state.

        With ``trimap`` (1,H,W), the full matte follows that trimap instead of the predicted
        one: with the memory set to exactly this frame and trimap it equals the model's
        ``forward(frame, frame, trimap, replace_given_seg=True)`` (the first frame of a shot).
        """
        if self.memory is None:
            raise RuntimeError("StreamingMatter.step called before set_memory")
        clip = _as_clip(frame, 3, "frame").to(self.device, torch.float32)
        h, w = clip.shape[-2:]
        if self.memory.size not in ((0, 0), (h, w)):
            raise ValueError(f"frame size {(h, w)} differs from the memory's {self.memory.size}")
        ratio = self.ratio_for(h, w)
        q_small, pad = self._working(clip, ratio)
        hs, ws = q_small.shape[-2:]
        if self._state is None:
            zeros = tuple(torch.zeros(s, device=self.device, dtype=self._state_dtype())
                          for s in state_shapes(self.net, hs, ws))
            self._state = StreamState(zeros, 0, (h, w))  # type: ignore[arg-type]
        elif self._state.size not in ((0, 0), (h, w)):
            raise ValueError(f"frame size {(h, w)} differs from the state's {self._state.size}")
        logits, boundary, new_state = self.core(q_small, self.memory, self._state.tensors)
        self._state = StreamState(new_state, self._state.frames + 1, (h, w))  # type: ignore[arg-type]
        given = None if trimap is None else self._working(_as_clip(trimap, 1, "trimap"), ratio)[0]
        logits, boundary, full = self.net.matte_outputs(clip, q_small, pad, logits.float(), boundary.float(), ratio,
                                                        given)
        return StepOutput(logits[:, 0], boundary[:, 0], full[:, 0])

    def _state_dtype(self) -> torch.dtype:
        if self.backend == "torch" and self.precision != "fp32" and self.device.type == "cuda":
            return PRECISIONS[self.precision]
        return torch.float32


__all__ = [
    "AUTO_TARGET",
    "Float32MemoryReader",
    "InferenceConfig",
    "Memory",
    "PRECISIONS",
    "StepOutput",
    "StreamState",
    "StreamingMatter",
    "TorchCore",
    "auto_downsample_ratio",
    "fold_batchnorm",
    "prepare_for_inference",
    "split_image_guides",
    "state_shapes",
]
