"""Small building blocks shared by FTP-VM's fusion and decoder modules.

Modules here accept frames as (n, c, h, w) or clips as (b, t, c, h, w); clips are folded into
the batch dimension for the 2-D convolutions and unfolded afterwards.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F


def fold(x: Tensor) -> Tensor:
    """(b, t, c, h, w) -> (b*t, c, h, w)."""
    return x.flatten(0, 1)


def unfold(x: Tensor, bt: tuple[int, int] | torch.Size) -> Tensor:
    """(b*t, c, h, w) -> (b, t, c, h, w)."""
    return x.unflatten(0, tuple(bt))


class Projection(nn.Module):
    """A 1x1 convolution applied per frame."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 5:
            return unfold(self.conv(fold(x)), x.shape[:2])
        return self.conv(x)


class GatedConv2d(nn.Module):
    """Gated convolution: LeakyReLU(features) * sigmoid(gate), both from one convolution."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 1, stride: int = 1, padding: int = 0) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out * 2, kernel, stride, padding)
        self.c_out = c_out

    def forward(self, x: Tensor) -> Tensor:
        features, gate = self.conv(x).split(self.c_out, dim=1)
        return F.leaky_relu(features, 0.1) * torch.sigmoid(gate)


class ResBlock(nn.Module):
    """Pre-activation residual block of two 3x3 convs; a 3x3 conv shortcut when widths differ."""

    def __init__(self, c_in: int, c_out: int | None = None) -> None:
        super().__init__()
        c_out = c_in if c_out is None else c_out
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        r = self.conv2(F.relu(self.conv1(F.relu(x))))
        return self.skip(x) + r


class AvgPyramid(nn.Module):
    """Repeated 2x2 average pooling (ceil mode): returns the 1/2, 1/4, ... downscales."""

    def __init__(self, levels: int = 3) -> None:
        super().__init__()
        self.levels = levels

    def forward(self, x: Tensor) -> list[Tensor]:
        bt = x.shape[:2] if x.ndim == 5 else None
        y = fold(x) if bt is not None else x
        out = []
        for _ in range(self.levels):
            y = F.avg_pool2d(y, 2, 2, ceil_mode=True, count_include_pad=False)
            out.append(y)
        return [unfold(o, bt) for o in out] if bt is not None else out


def conv_relu_bn(c_in: int, c_out: int, kernel: int = 1) -> nn.Sequential:
    """Conv -> ReLU -> BatchNorm (the matting decoder's skip gates)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel), nn.ReLU(True), nn.BatchNorm2d(c_out))


class UpsampleBlock(nn.Module):
    """Upsample x2 (bilinear), concatenate a skip input, fuse with a ResBlock."""

    def __init__(self, c_skip: int, c_up: int, c_out: int) -> None:
        super().__init__()
        self.out_conv = ResBlock(c_up + c_skip, c_out)

    def _frames(self, up: Tensor, skip: Tensor) -> Tensor:
        up = F.interpolate(up, scale_factor=2, mode="bilinear", align_corners=False)
        return self.out_conv(torch.cat([up, skip], dim=1))

    def forward(self, up: Tensor, skip: Tensor) -> Tensor:
        if up.ndim == 5:
            return unfold(self._frames(fold(up), fold(skip)), up.shape[:2])
        return self._frames(up, skip)
