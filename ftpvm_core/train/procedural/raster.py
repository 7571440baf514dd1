"""Drawing primitives of the procedural shots, evaluated on coordinate grids (numpy float32, (H, W)).

Everything is a function of coordinates, so a camera or an object moving is just a change of coordinates: no
resampling, and edges stay exactly as sharp as asked at any zoom. Distances are in the caller's units; ``px`` is the
size of one pixel in those units (for anti-aliasing).
"""
from __future__ import annotations

import numpy as np


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def coverage(sdf: np.ndarray, px: float, soft: float = 0.0) -> np.ndarray:
    """Alpha of a shape given its signed distance (negative inside): a one-pixel anti-aliased edge widened by
    ``soft`` (same units as ``sdf``)."""
    half = 0.5 * px + soft
    return (1.0 - smoothstep(-half, half, sdf)).astype(np.float32)


def segment_distance(u: np.ndarray, v: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from every (u, v) to the segment a-b (points as (u, v))."""
    du, dv = b[0] - a[0], b[1] - a[1]
    den = du * du + dv * dv
    if den < 1e-12:
        return np.hypot(u - a[0], v - a[1])
    h = np.clip(((u - a[0]) * du + (v - a[1]) * dv) / den, 0.0, 1.0)
    return np.hypot(u - a[0] - h * du, v - a[1] - h * dv)


def polyline_distance(u: np.ndarray, v: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Distance to an open polyline of (N, 2) points."""
    d = np.full(u.shape, np.inf, dtype=np.float32)
    for i in range(len(points) - 1):
        np.minimum(d, segment_distance(u, v, points[i], points[i + 1]), out=d)
    return d


def near_polyline_distance(u: np.ndarray, v: np.ndarray, points: np.ndarray, margin: float) -> np.ndarray:
    """:func:`polyline_distance`, computed only within ``margin`` of the polyline's bounding box (inf elsewhere):
    much cheaper for short, thin curves."""
    lo, hi = points.min(0) - margin, points.max(0) + margin
    sel = (u >= lo[0]) & (u <= hi[0]) & (v >= lo[1]) & (v <= hi[1])
    d = np.full(u.shape, np.inf, dtype=np.float32)
    if sel.any():
        d[sel] = polyline_distance(u[sel], v[sel], points)
    return d


def polygon_sdf(u: np.ndarray, v: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Signed distance to a closed polygon (negative inside, even-odd rule)."""
    closed = np.concatenate([points, points[:1]])
    d = polyline_distance(u, v, closed)
    inside = np.zeros(u.shape, dtype=bool)
    for i in range(len(points)):
        (ua, va), (ub, vb) = closed[i], closed[i + 1]
        crosses = (va > v) != (vb > v)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = (ub - ua) * (v - va) / (vb - va) + ua
        inside ^= crosses & (u < at)
    return np.where(inside, -d, d)


class LatticeNoise:
    """Smooth value noise on an integer lattice (a periodic 256 x 256 table of random values in [0, 1])."""

    def __init__(self, rng: np.random.Generator):
        self.table = rng.random((256, 256)).astype(np.float32)

    def __call__(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        iu, iv = np.floor(u), np.floor(v)
        fu, fv = u - iu, v - iv
        fu, fv = fu * fu * (3 - 2 * fu), fv * fv * (3 - 2 * fv)
        i0, j0 = iu.astype(np.int64) & 255, iv.astype(np.int64) & 255
        i1, j1 = (i0 + 1) & 255, (j0 + 1) & 255
        t = self.table
        top = t[j0, i0] * (1 - fu) + t[j0, i1] * fu
        bottom = t[j1, i0] * (1 - fu) + t[j1, i1] * fu
        return (top * (1 - fv) + bottom * fv).astype(np.float32)


def fbm(noise: LatticeNoise, u: np.ndarray, v: np.ndarray, octaves: int, gain: float = 0.5,
        lacunarity: float = 2.0) -> np.ndarray:
    """Fractal sum of ``octaves`` noise layers, normalised to [0, 1]."""
    total, amp, norm, f = np.zeros(u.shape, np.float32), 1.0, 0.0, 1.0
    for k in range(octaves):
        total += amp * noise(u * f + 17.3 * k, v * f - 9.1 * k)
        norm += amp
        amp *= gain
        f *= lacunarity
    return total / norm


def random_colours(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3) linear RGB colours: random hue, saturation and value (some dark, some bright, some grey)."""
    hue = rng.uniform(0, 1, n)
    sat = rng.uniform(0, 1, n) ** 0.7
    val = rng.uniform(0.03, 0.95, n)
    k = (np.array([5.0, 3.0, 1.0])[None, :] + hue[:, None] * 6.0) % 6.0
    rgb = val[:, None] * (1 - sat[:, None] * np.clip(np.minimum(k, 4 - k), 0, 1))
    return (rgb ** 2.2).astype(np.float32)  # perceptual -> roughly linear


def mix(colours: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Blend an (N, 3) palette along a [0, 1] field: piecewise-linear ramp through the colours, (H, W, 3)."""
    n = len(colours)
    x = np.clip(weights, 0, 1) * (n - 1)
    i = np.minimum(np.floor(x).astype(np.int64), n - 2) if n > 1 else np.zeros(x.shape, np.int64)
    f = (x - i)[..., None] if n > 1 else np.zeros(x.shape + (1,), np.float32)
    j = np.minimum(i + 1, n - 1)
    return (colours[i] * (1 - f) + colours[j] * f).astype(np.float32)


def rotate(u: np.ndarray, v: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    return c * u - s * v, s * u + c * v


def bilinear(image: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Sample an (h, w, C) image at fractional pixel positions, mirrored at the borders."""
    h, w = image.shape[:2]
    y = np.abs(np.mod(y, 2 * (h - 1)) - (h - 1)) if h > 1 else np.zeros_like(y)
    x = np.abs(np.mod(x, 2 * (w - 1)) - (w - 1)) if w > 1 else np.zeros_like(x)
    y0, x0 = np.minimum(np.floor(y).astype(np.int64), h - 2), np.minimum(np.floor(x).astype(np.int64), w - 2)
    y0, x0 = np.maximum(y0, 0), np.maximum(x0, 0)
    fy, fx = (y - y0)[..., None], (x - x0)[..., None]
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
    bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)
