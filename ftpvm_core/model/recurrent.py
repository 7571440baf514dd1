"""Convolutional GRU and the recurrent decoder blocks built on it.

Recurrent state is a tensor (b, c, h, w) or ``None`` (zeros) at the start of a shot. Clips
(b, t, c, h, w) are processed frame by frame in time order, carrying the state.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .layers import ConcatConv2d, fold, unfold


class ConvGRU(nn.Module):
    """GRU with 3x3 convolutions: reset/update gates (``ih``) and candidate state (``hh``)."""

    def __init__(self, channels: int, kernel: int = 3, padding: int = 1) -> None:
        super().__init__()
        self.channels = channels
        self.ih = nn.Sequential(nn.Conv2d(channels * 2, channels * 2, kernel, padding=padding), nn.Sigmoid())
        self.hh = nn.Sequential(nn.Conv2d(channels * 2, channels, kernel, padding=padding), nn.Tanh())

    def step(self, x: Tensor, h: Tensor) -> Tensor:
        reset, update = self.ih(torch.cat([x, h], dim=1)).split(self.channels, dim=1)
        candidate = self.hh(torch.cat([x, reset * h], dim=1))
        return (1 - update) * h + update * candidate

    def forward(self, x: Tensor, h: Tensor | None) -> tuple[Tensor, Tensor]:
        if h is None:
            h = x.new_zeros((x.size(0), x.size(-3), x.size(-2), x.size(-1)))
        if x.ndim == 4:
            h = self.step(x, h)
            return h, h
        outputs = []
        for xt in x.unbind(dim=1):
            h = self.step(xt, h)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h


def _split_gru(gru: ConvGRU, x: Tensor, h: Tensor | None, half: int) -> tuple[Tensor, Tensor]:
    """Run the GRU on the second half of the channels and keep the first half as is."""
    a, b = x.split(half, dim=-3)
    b, h = gru(b, h)
    return torch.cat([a, b], dim=-3), h


class GRUBottleneckBlock(nn.Module):
    """Recurrent refinement at the bottleneck: a ConvGRU over half of the channels."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.half = channels // 2
        self.gru = ConvGRU(self.half)

    def forward(self, x: Tensor, h: Tensor | None) -> tuple[Tensor, Tensor]:
        return _split_gru(self.gru, x, h, self.half)


class GRUUpsamplingBlock(nn.Module):
    """Upsample x2, concatenate [skip features,] the downscaled image, conv-BN-ReLU, half-GRU."""

    def __init__(self, c_in: int, c_skip: int, c_img: int, c_out: int) -> None:
        super().__init__()
        self.half = c_out // 2
        self.conv = nn.Sequential(
            ConcatConv2d(c_in + c_skip + c_img, c_out, 3, 1, 1, bias=False, guide_channels=c_img),
            nn.BatchNorm2d(c_out),
            nn.ReLU(True),
        )
        self.gru = ConvGRU(self.half)

    def forward(self, x: Tensor, skip: Tensor | None, img: Tensor, h: Tensor | None) -> tuple[Tensor, Tensor]:
        clip = x.ndim == 5
        bt = img.shape[:2] if clip else None
        if clip:
            x, img = fold(x), fold(img)
            skip = fold(skip) if skip is not None else None
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = x[:, :, : img.size(2), : img.size(3)]
        x = self.conv([x, img] if skip is None else [x, skip, img])
        if clip:
            x = unfold(x, bt)
        return _split_gru(self.gru, x, h, self.half)
