"""A copy of the network prepared for fast inference (results unchanged beyond float rounding).

``torch.inference_mode`` aside, the speed-ups live here: convolution + batch-norm folding, image-guide
convolutions split off the decoders' concatenations, the memory affinity pinned to float32, the faster guided
upsampler, optional channels-last layout. :class:`ftpvm_core.model.streaming.StreamingStep` runs such a copy.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .backbone import ConvBnAct, DepthwiseSeparable, InvertedResidual, MobileNetV3LargeEncoder
from .checkpoint import resolve_device
from .fusion import MemoryReader
from .guided_filter import FastGuidedUpsampler
from .layers import ConcatConv2d

def _fold_pairs(module: nn.Module) -> list[tuple[str, str]]:
    """(conv, batch-norm) child names that run back to back in ``module``'s forward."""
    if isinstance(module, nn.Sequential):
        names = list(module._modules)
        return [(a, b) for a, b in zip(names, names[1:])
                if isinstance(module._modules[a], nn.Conv2d) and isinstance(module._modules[b], nn.BatchNorm2d)]
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
    """How a prepared copy was made (stored on it as ``inference_config``)."""

    device: torch.device
    channels_last: bool = False
    folded: int = 0


def prepare_for_inference(
    model: nn.Module,
    device: str | torch.device = "auto",
    channels_last: bool | None = None,
    split_guides: bool = True,
) -> nn.Module:
    """A copy of ``model`` ready for fast inference; ``model`` itself is not touched.

    The copy is in eval mode on ``device`` with batch norms folded into convolutions (a clean
    module tree: folded norms are ``nn.Identity``), weights in float32 (reduced precision is
    autocast at run time by the streaming step), the memory affinity pinned to float32
    (:class:`Float32MemoryReader`) and the guided upsampling computed faster
    (:class:`FastGuidedUpsampler`). ``channels_last`` defaults to True on CUDA and False on CPU
    (where it was measured not to help). ``split_guides`` gives the decoders' image-guide inputs
    convolutions of their own (:func:`split_image_guides`).
    """
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
    net.inference_config = InferenceConfig(dev, bool(channels_last), folded)
    return net


__all__ = ["Float32MemoryReader", "InferenceConfig", "fold_batchnorm", "prepare_for_inference",
           "split_image_guides"]
