"""Trimaps from what artists draw: the only trimap rules of the project.

A keyframe's guide is either a ready trimap or roto mattes: an *outer* matte (the subject with its soft
edges) and, optionally, an *inner* matte (the solid core). :func:`keyframe_trimap` turns either into a
trimap, an (H, W) float32 with 0 (background), 0.5 (unknown) and 1 (foreground):

- trimap alone: every value snaps to 0, 0.5 or 1 when it lies within ``tolerance`` of it; other values are
  an error (they are a soft matte sent as a trimap, or a grey read through the wrong colour transform).
- outer alone: outer >= 0.5 is foreground, with an unknown band of ``band`` pixels on both sides of its edge;
  soft outer values (strictly between :data:`SOFT_EPS` and 1 - SOFT_EPS) are unknown too.
- outer + inner: the inner matte's solid core (>= 1 - SOFT_EPS) is foreground, anything the outer matte
  touches (> SOFT_EPS) is unknown, the rest background; ``band`` is not used. Where the inner matte lies
  outside the outer one, ``combine`` decides: "union" (outer := max(outer, inner): the core is foreground
  wherever it is drawn) or "clip" (inner := min(inner, outer): the outer matte bounds the core).

The parameters (band, tolerance, combine) are shot settings of the engine's schema. Every function validates
its input and raises :class:`~ftpvm_core.errors.InvalidInput` with a message that says what to fix.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ftpvm_core.errors import InvalidInput

SOFT_EPS = 0.02  # roto values strictly between SOFT_EPS and 1 - SOFT_EPS are soft (unknown)
COMBINES = ("union", "clip")  # how an inner matte outside the outer one is read


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


def _as_matte(name: str, plane, size: tuple[int, int] | None) -> np.ndarray:
    m = _as_plane(name, plane, size)
    if m.min() < -1e-3 or m.max() > 1 + 1e-3:
        raise InvalidInput(f"{name} values must be in [0, 1], found {m.min():.3g}..{m.max():.3g}")
    return np.clip(m, 0.0, 1.0)


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


def trimap_from_outer(outer, band: float, size: tuple[int, int] | None = None) -> np.ndarray:
    """One roto matte (binary or soft) -> trimap with an unknown band of ``band`` pixels around its edge.

    ``band`` < 1 is a fraction of the frame diagonal. Soft roto values (not near 0 or 1) are unknown too.
    """
    m = _as_matte("outer matte", outer, size)
    if m.max() <= SOFT_EPS:
        raise InvalidInput("outer matte has no foreground: it is empty (all zero); draw the shape around the subject")
    r = band_pixels(band, *m.shape)
    fg = torch.from_numpy(m >= 0.5)
    edge = _dilate(fg, r) & _dilate(~fg, r)
    soft = torch.from_numpy((m > SOFT_EPS) & (m < 1 - SOFT_EPS))
    tri = torch.where(fg, 1.0, 0.0)
    tri[edge | soft] = 0.5
    return _check(tri.numpy().astype(np.float32), "trimap from the outer matte")


def trimap_from_inner_outer(inner, outer, combine: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """Inner + outer mattes -> trimap: the inner core is foreground, the rest of the outer matte unknown.

    ``combine`` ("union" | "clip") reads an inner matte that goes outside the outer one (see the module doc).
    """
    if combine not in COMBINES:
        raise InvalidInput(f"roto_combine={combine!r} is not known; choose one of {', '.join(COMBINES)}")
    b = _as_matte("outer matte", outer, size)
    a = _as_matte("inner matte", inner, b.shape)
    if combine == "union":
        b = np.maximum(b, a)
    else:
        a = np.minimum(a, b)
    if b.max() <= SOFT_EPS:
        raise InvalidInput("outer matte is empty: it must enclose the subject and its soft edges")
    if a.max() < 1 - SOFT_EPS:
        where = " inside the outer matte" if combine == "clip" else ""
        raise InvalidInput(f"inner matte has no solid core{where}: draw the inner roto on the subject's core")
    tri = np.where(a >= 1 - SOFT_EPS, 1.0, np.where(b > SOFT_EPS, 0.5, 0.0)).astype(np.float32)
    return _check(tri, "trimap from inner/outer mattes")


def snap_trimap(trimap, tolerance: float, size: tuple[int, int] | None = None) -> np.ndarray:
    """A ready trimap -> values snapped to 0 / 0.5 / 1 (each within ``tolerance``); anything else is an error."""
    t = _as_plane("trimap", trimap, size)
    out = np.full(t.shape, -1.0, np.float32)
    for v in (0.0, 0.5, 1.0):
        out[np.abs(t - v) <= tolerance] = v
    bad = out < 0
    if bad.any():
        vals = np.unique(np.round(t[bad], 3))[:5]
        raise InvalidInput(
            f"trimap has {int(bad.sum())} pixels not within {tolerance:g} of 0, 0.5 or 1 (e.g. "
            f"{', '.join(f'{v:g}' for v in vals)}); use 0 = background, 0.5 = unknown, 1 = foreground, send it as "
            f"an outer roto matte, or raise the shot's trimap_tolerance"
        )
    return _check(out, "trimap")


def keyframe_trimap(*, trimap=None, outer=None, inner=None, band: float, tolerance: float, combine: str,
                    size: tuple[int, int] | None = None) -> tuple[np.ndarray, str]:
    """A keyframe's guide -> (trimap, source); source is "trimap", "mask" (outer alone) or "inner_outer".

    Give exactly one of ``trimap`` or ``outer`` (``inner`` only with ``outer``).
    """
    if (trimap is None) == (outer is None):
        raise InvalidInput("give exactly one of: a trimap, or an outer roto matte (with an optional inner one)")
    if trimap is not None:
        if inner is not None:
            raise InvalidInput("an inner matte goes with an outer matte, not with a ready trimap")
        return snap_trimap(trimap, tolerance, size), "trimap"
    if inner is None:
        return trimap_from_outer(outer, band, size), "mask"
    return trimap_from_inner_outer(inner, outer, combine, size), "inner_outer"
