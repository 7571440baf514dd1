"""Fast guided filter used to bring a matte computed at low resolution back to full size.

The filter fits a local linear model alpha ~ A * luma + b on the low-resolution image (3x3
box windows, eps 1e-5), then applies the bilinearly upsampled A and b to the full-resolution
luma (He et al., "Fast Guided Filter", 2015).
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F


def box_filter(x: Tensor, radius: int) -> Tensor:
    """Mean over a (2r+1)^2 window with zero padding (separable, per channel)."""
    k = 2 * radius + 1
    c = x.size(1)
    kx = x.new_full((c, 1, 1, k), 1.0 / k)
    ky = x.new_full((c, 1, k, 1), 1.0 / k)
    x = F.conv2d(x, kx, padding=(0, radius), groups=c)
    return F.conv2d(x, ky, padding=(radius, 0), groups=c)


def fast_guided_filter(lr_guide: Tensor, lr_src: Tensor, hr_guide: Tensor, radius: int = 1, eps: float = 1e-5) -> Tensor:
    """Filter ``lr_src`` guided by ``lr_guide`` and evaluate the model at ``hr_guide``'s size."""
    mean_x = box_filter(lr_guide, radius)
    mean_y = box_filter(lr_src, radius)
    cov_xy = box_filter(lr_guide * lr_src, radius) - mean_x * mean_y
    var_x = box_filter(lr_guide * lr_guide, radius) - mean_x * mean_x
    a = cov_xy / (var_x + eps)
    b = mean_y - a * mean_x
    size = hr_guide.shape[-2:]
    a = F.interpolate(a, size, mode="bilinear", align_corners=False)
    b = F.interpolate(b, size, mode="bilinear", align_corners=False)
    return a * hr_guide + b


class GuidedUpsampler(torch.nn.Module):
    """Upsample a low-resolution matte to full resolution, guided by the frames' mean channel."""

    def __init__(self, radius: int = 1, eps: float = 1e-5) -> None:
        super().__init__()
        self.radius = radius
        self.eps = eps

    def forward(self, fine_img: Tensor, coarse_img: Tensor, coarse_matte: Tensor) -> Tensor:
        bt = fine_img.shape[:2] if fine_img.ndim == 5 else None
        if bt is not None:
            fine_img, coarse_img, coarse_matte = (t.flatten(0, 1) for t in (fine_img, coarse_img, coarse_matte))
        out = fast_guided_filter(coarse_img.mean(1, keepdim=True), coarse_matte, fine_img.mean(1, keepdim=True),
                                 self.radius, self.eps)
        return out.unflatten(0, bt) if bt is not None else out
