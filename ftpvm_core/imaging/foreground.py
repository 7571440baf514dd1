"""Foreground colour from a frame and its alpha: blur-fusion (Forte & Pitié, "Approximate Fast Foreground Colour
Estimation", ICIP 2021), two levels, in torch so it runs wherever the tensors are.

Each level estimates smooth foreground and background colours with alpha-weighted box blurs, then corrects the
foreground so that ``alpha * F + (1 - alpha) * B`` reproduces the frame. A large radius fills far-away colour, a small
one refines the edge. The large radius runs at reduced resolution, so the cost barely depends on it. Work in linear
light (the compositing equation holds there).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

LEVEL_RADII = (90, 6)  # at a 1920-wide frame; scaled with the frame size, see radii_for()
_EPS = 1e-5


def radii_for(height: int, width: int) -> tuple[int, ...]:
    """Blur radii for a frame, scaled from :data:`LEVEL_RADII` at 1920x1080 (at least 1 pixel)."""
    scale = max(height, width) / 1920.0
    return tuple(max(1, int(round(r * scale))) for r in LEVEL_RADII)


def _box_exact(x: torch.Tensor, radius: int) -> torch.Tensor:
    k = 2 * radius + 1
    x = F.avg_pool2d(x, (k, 1), stride=1, padding=(radius, 0), count_include_pad=False)
    return F.avg_pool2d(x, (1, k), stride=1, padding=(0, radius), count_include_pad=False)


def box_blur(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over a (2r+1)^2 window, edges normalised by the window's area inside the frame. x: (N, C, H, W).

    Small radii are exact (separable average pooling); large ones run on a copy reduced by ~r/6 and are
    upsampled bilinearly — they blur smooth colour estimates, where that approximation is invisible.
    """
    scale = radius // 6
    if scale < 2 or min(x.shape[-2:]) < 4 * scale:
        return _box_exact(x, radius)
    h, w = x.shape[-2:]
    small = F.avg_pool2d(x, scale, stride=scale, ceil_mode=True, count_include_pad=False)
    small = _box_exact(small, max(1, round(radius / scale)))
    return F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)


def _level(image: torch.Tensor, fg: torch.Tensor, bg: torch.Tensor, alpha: torch.Tensor, radius: int):
    blurred_alpha = box_blur(alpha, radius)
    blurred_fg = box_blur(fg * alpha, radius) / (blurred_alpha + _EPS)
    blurred_bg = box_blur(bg * (1 - alpha), radius) / ((1 - blurred_alpha) + _EPS)
    new_fg = blurred_fg + alpha * (image - alpha * blurred_fg - (1 - alpha) * blurred_bg)
    return new_fg, blurred_bg


def estimate_foreground_torch(image: torch.Tensor, alpha: torch.Tensor, radii: tuple[int, ...] | None = None
                              ) -> torch.Tensor:
    """image (N, 3, H, W), alpha (N, 1, H, W) -> unpremultiplied foreground (N, 3, H, W), same device/dtype."""
    image = image.float()
    alpha = alpha.float().clamp(0, 1)
    radii = radii or radii_for(image.shape[-2], image.shape[-1])
    fg, bg = image, image
    for r in radii:
        fg, bg = _level(image, fg, bg, alpha, r)
    lo = torch.minimum(image.amin(dim=(2, 3), keepdim=True), torch.zeros((), device=image.device))
    return fg.clamp_min(lo)


def estimate_foreground(image: np.ndarray, alpha: np.ndarray, device: str | torch.device = "cpu") -> np.ndarray:
    """numpy wrapper: image (H, W, 3) linear, alpha (H, W) -> unpremultiplied foreground (H, W, 3) float32."""
    img = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None].to(device)
    a = torch.from_numpy(np.ascontiguousarray(alpha, dtype=np.float32))[None, None].to(device)
    fg = estimate_foreground_torch(img, a)
    return fg[0].permute(1, 2, 0).cpu().numpy()
