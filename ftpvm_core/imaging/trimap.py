"""Trimaps from what artists draw: a roto matte, an inner + outer pair, or a ready trimap.

A trimap is (H, W) float32 with values 0 (background), 0.5 (unknown) and 1 (foreground). Every function validates
its input and raises :class:`~ftpvm_core.errors.InvalidInput` with a message that says what to fix.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ftpvm_core.errors import InvalidInput

SOFT_EPS = 0.02  # roto values strictly between SOFT_EPS and 1 - SOFT_EPS are treated as unknown


def _as_plane(name: str, plane, size: tuple[int, int] | None) -> np.ndarray:
    arr = np.asarray(plane, dtype=np.float32)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise InvalidInput(f"{name} must be a single-channel (H, W) image, got shape {tuple(arr.shape)}")
    if size is not None and tuple(arr.shape) != tuple(size):
        raise InvalidInput(
            f"{name} is {arr.shape[1]}x{arr.shape[0]} but the shot is {size[1]}x{size[0]}; resize it to the plate"
        )
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise InvalidInput(f"{name} has {bad} NaN/infinite pixels; fix the roto or matte before sending it")
    return arr


def band_pixels(band: float, height: int, width: int) -> int:
    """A band given in pixels (>= 1) or as a fraction of the frame diagonal (< 1) -> pixels (at least 1)."""
    if band is None or band < 0 or not np.isfinite(band):
        raise InvalidInput(f"band must be >= 0 pixels or a fraction in (0, 1) of the frame diagonal, got {band!r}")
    if 0 < band < 1:
        return max(1, int(round(band * float(np.hypot(height, width)))))
    return max(1, int(round(band)))


def _dilate(mask: torch.Tensor, radius: int) -> torch.Tensor:
    """Binary dilation by ``radius`` pixels with an octagonal element (alternating square and cross steps)."""
    x = mask[None, None].float()
    cross = torch.tensor([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=torch.float32)[None, None]
    for i in range(radius):
        if i % 2 == 0:
            x = F.max_pool2d(x, 3, stride=1, padding=1)
        else:
            x = (F.conv2d(x, cross, padding=1) > 0).float()
    return x[0, 0] > 0.5


def _check(trimap: np.ndarray, what: str) -> np.ndarray:
    if not (trimap == 0.5).any() and not (trimap == 1.0).any():
        raise InvalidInput(f"{what} has no foreground: draw the roto around the subject (the matte is all zero)")
    if (trimap == 0.5).all():
        raise InvalidInput(f"{what} is all unknown: mark some certain foreground or background")
    if not (trimap == 1.0).any() and not (trimap == 0.0).any():
        raise InvalidInput(f"{what} has no certain pixels: mark some certain foreground or background")
    return trimap


def trimap_from_mask(mask, band: float = 10, size: tuple[int, int] | None = None) -> np.ndarray:
    """One roto shape (binary or soft, [0, 1]) -> trimap with an unknown band of ``band`` pixels around its edge.

    ``band`` < 1 is a fraction of the frame diagonal. Soft roto values (not near 0 or 1) are unknown too.
    """
    m = _as_plane("roto mask", mask, size)
    if m.min() < -1e-3 or m.max() > 1 + 1e-3:
        raise InvalidInput(f"roto mask values must be in [0, 1], found {m.min():.3g}..{m.max():.3g}")
    if m.max() <= SOFT_EPS:
        raise InvalidInput("roto mask has no foreground: it is empty (all zero); draw the shape around the subject")
    h, w = m.shape
    r = band_pixels(band, h, w)
    fg = torch.from_numpy(m >= 0.5)
    grown_fg = _dilate(fg, r)
    grown_bg = _dilate(~fg, r)
    edge = grown_fg & grown_bg
    soft = torch.from_numpy((m > SOFT_EPS) & (m < 1 - SOFT_EPS))
    tri = torch.where(fg, 1.0, 0.0)
    tri[edge | soft] = 0.5
    return _check(tri.numpy().astype(np.float32), "trimap from the roto mask")


def trimap_from_inner_outer(inner, outer, size: tuple[int, int] | None = None) -> np.ndarray:
    """Two mattes -> trimap: inside ``inner`` is foreground, outside ``outer`` background, between unknown."""
    a = _as_plane("inner matte", inner, size)
    b = _as_plane("outer matte", outer, a.shape if size is None else size)
    inside = a >= 0.5
    within = b >= 0.5
    if not within.any():
        raise InvalidInput("outer matte is empty: it must enclose the subject and its soft edges")
    if (inside & ~within).mean() > 0.001:
        raise InvalidInput("inner matte extends outside the outer matte: the core must lie inside the outer bound")
    tri = np.where(inside, 1.0, np.where(within, 0.5, 0.0)).astype(np.float32)
    return _check(tri, "trimap from inner/outer mattes")


def snap_trimap(trimap, size: tuple[int, int] | None = None, tolerance: float = 0.1) -> np.ndarray:
    """A ready trimap -> values snapped to 0 / 0.5 / 1 (each within ``tolerance``); anything else is an error."""
    t = _as_plane("trimap", trimap, size)
    out = np.full(t.shape, -1.0, np.float32)
    for v in (0.0, 0.5, 1.0):
        out[np.abs(t - v) <= tolerance] = v
    bad = out < 0
    if bad.any():
        vals = np.unique(np.round(t[bad], 3))[:5]
        raise InvalidInput(
            f"trimap has {int(bad.sum())} pixels not near 0, 0.5 or 1 (e.g. {', '.join(f'{v:g}' for v in vals)}); "
            f"use 0 = background, 0.5 = unknown, 1 = foreground, or send it as a roto mask"
        )
    return _check(out, "trimap")
