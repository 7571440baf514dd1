"""The working size: the scale at which the network sees a frame, and the way back to the frame's size.

``auto`` brings the long side to at most :data:`AUTO_LONG_SIDE` pixels (never upscales); the network then pads the
resized frame to a multiple of 16 (:func:`ftpvm_core.model.ftpvm.pad_to_multiple`).
"""
from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from .ftpvm import SIZE_MULTIPLE

#: Long side (pixels) the network works at when the downsample ratio is "auto".
AUTO_LONG_SIDE = 1024


def auto_downsample_ratio(height: int, width: int, long_side: int = AUTO_LONG_SIDE) -> float:
    """Ratio that brings the long side to at most ``long_side`` pixels: 1024x576 -> 1; 1920x1080 -> 0.5333."""
    return min(1.0, long_side / float(max(height, width)))


def check_downsample_ratio(ratio: object) -> float | str:
    """``"auto"`` or a float in (0, 1]; ValueError otherwise."""
    if ratio == "auto":
        return "auto"
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 0 < ratio <= 1:
        raise ValueError(f"downsample_ratio must be 'auto' or in (0, 1], not {ratio!r}")
    return float(ratio)


def ratio_for(setting: float | str, height: int, width: int) -> float:
    """The ratio used for frames of this size under a ``downsample_ratio`` setting."""
    return auto_downsample_ratio(height, width) if setting == "auto" else float(setting)


def working_size(height: int, width: int, ratio: float) -> tuple[int, int]:
    """The padded (height, width) the network sees for a frame at ``ratio``."""
    if ratio != 1:
        height, width = math.floor(height * ratio), math.floor(width * ratio)
    return -(-height // SIZE_MULTIPLE) * SIZE_MULTIPLE, -(-width // SIZE_MULTIPLE) * SIZE_MULTIPLE


def to_input_size(x: torch.Tensor, height: int, width: int, ratio: float) -> torch.Tensor:
    """(1, c, h', w') at the working size (padded) -> (1, c, height, width): crop the padding, resize bilinearly."""
    x = x.float()
    if tuple(x.shape[-2:]) == (height, width):
        return x
    hs, ws = math.floor(height * ratio), math.floor(width * ratio)
    top, left = (x.shape[-2] - hs) // 2, (x.shape[-1] - ws) // 2
    x = x[..., top:top + hs, left:left + ws]
    return F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)


__all__ = ["AUTO_LONG_SIDE", "auto_downsample_ratio", "check_downsample_ratio", "ratio_for", "to_input_size",
           "working_size"]
