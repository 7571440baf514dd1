"""Foreground (shape) families: ``make(rng) -> Shape``, a shape being ``(u, v, t, px) -> alpha (H, W)``.

``u, v`` are the object's own coordinates (its body has a radius of about 1), ``t`` the time in frames (shapes
deform over time: limbs swing, strands sway, outlines wobble) and ``px`` the size of one pixel in object units.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ftpvm_core.train.procedural import glyphs
from ftpvm_core.train.procedural.raster import LatticeNoise, coverage, near_polyline_distance, polygon_sdf, rotate
from ftpvm_core.train.procedural.family import register

Shape = Callable[[np.ndarray, np.ndarray, float, float], np.ndarray]


def _wobbly_outline(rng: np.random.Generator, ry: float = 1.0, rx: float = 1.0, wobble: float = 0.12) -> Shape:
    """A soft ellipse whose radius wobbles with a few angular harmonics that drift over time."""
    k = rng.integers(2, 7, 3)
    amp = rng.uniform(0, wobble, 3)
    phase, speed = rng.uniform(0, 2 * np.pi, 3), rng.uniform(-0.4, 0.4, 3)
    soft = rng.uniform(0, 0.08) if rng.random() < 0.5 else 0.0

    def f(u: np.ndarray, v: np.ndarray, t: float, px: float) -> np.ndarray:
        theta = np.arctan2(v / ry, u / rx)
        r = 1 + sum(amp[i] * np.sin(k[i] * theta + phase[i] + speed[i] * t) for i in range(3))
        rho = np.hypot(u / rx, v / ry)
        return coverage((rho - r) * min(rx, ry), px, soft)

    return f


def _limb(rng: np.random.Generator, root: tuple[float, float], direction: float, length: float,
          width: float, segments: int = 2) -> Callable[[float], np.ndarray]:
    """Joint positions (segments + 1, 2) of a limb swinging over time."""
    lens = length * rng.dirichlet(np.ones(segments) * 3)
    bend = rng.uniform(-0.8, 0.8, segments)
    swing, speed, phase = rng.uniform(0.1, 0.6, segments), rng.uniform(0.2, 0.9), rng.uniform(0, 2 * np.pi)

    def joints(t: float) -> np.ndarray:
        pts, ang = [np.asarray(root, np.float32)], direction
        for i in range(segments):
            ang = ang + bend[i] + swing[i] * np.sin(speed * t + phase + i)
            pts.append(pts[-1] + lens[i] * np.array([np.cos(ang), np.sin(ang)], np.float32))
        return np.stack(pts).astype(np.float32)

    return joints


def _limbs_alpha(u, v, t, px, limbs, widths) -> np.ndarray:
    a = np.zeros(u.shape, np.float32)
    for joints, w in zip(limbs, widths):
        d = near_polyline_distance(u, v, joints(t), w + 2 * px)
        np.maximum(a, coverage(d - w, px), out=a)
    return a


@register("foreground", "blob", "a soft wobbling blob (ellipse with drifting harmonics)")
def blob(rng: np.random.Generator) -> Shape:
    return _wobbly_outline(rng, rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0), wobble=0.2)


@register("foreground", "polygon", "a random convex or star polygon, slowly turning and deforming")
def polygon(rng: np.random.Generator) -> Shape:
    k, star = int(rng.integers(3, 10)), rng.random() < 0.4
    ang = np.sort(rng.uniform(0, 2 * np.pi, k)) if not star else np.linspace(0, 2 * np.pi, 2 * k, endpoint=False)
    rad = rng.uniform(0.6, 1.0, len(ang))
    if star:
        rad[1::2] *= rng.uniform(0.3, 0.7)
    spin, breathe = rng.uniform(-0.05, 0.05), rng.uniform(0, 0.1)

    def f(u: np.ndarray, v: np.ndarray, t: float, px: float) -> np.ndarray:
        a = ang + spin * t
        r = rad * (1 + breathe * np.sin(0.5 * t + np.arange(len(rad))))
        pts = np.stack([r * np.cos(a), r * np.sin(a)], 1).astype(np.float32)
        return coverage(polygon_sdf(u, v, pts), px)

    return f


@register("foreground", "limbs", "a body with two to five thin swinging limbs (jointed capsules)")
def limbs(rng: np.random.Generator) -> Shape:
    body = _wobbly_outline(rng, rng.uniform(0.4, 0.7), rng.uniform(0.3, 0.6), wobble=0.05)
    n = int(rng.integers(2, 6))
    dirs = rng.uniform(0, 2 * np.pi, n)
    arms = [_limb(rng, (0.35 * np.cos(d), 0.35 * np.sin(d)), d, rng.uniform(0.6, 1.4), 0, int(rng.integers(1, 4)))
            for d in dirs]
    widths = rng.uniform(0.02, 0.15, n)

    def f(u: np.ndarray, v: np.ndarray, t: float, px: float) -> np.ndarray:
        return np.maximum(body(u, v, t, px), _limbs_alpha(u, v, t, px, arms, widths))

    return f


@register("foreground", "holes", "a blob or ring with one to four holes the background shows through")
def holes(rng: np.random.Generator) -> Shape:
    outer = _wobbly_outline(rng, 1.0, rng.uniform(0.7, 1.0), wobble=0.1)
    n = int(rng.integers(1, 5))
    centres = rng.uniform(-0.45, 0.45, (n, 2))
    radii = rng.uniform(0.08, 0.35, (n, 2))
    drift = rng.uniform(-0.02, 0.02, (n, 2))

    def f(u: np.ndarray, v: np.ndarray, t: float, px: float) -> np.ndarray:
        a = outer(u, v, t, px)
        for c, r, d in zip(centres, radii, drift):
            cc = c + d * t
            rho = np.hypot((u - cc[0]) / r[0], (v - cc[1]) / r[1])
            a = a * (1 - coverage((rho - 1) * r.min(), px))
        return a

    return f


@register("foreground", "strands", "a blob with 5-40 hair-like strands: thin, partly transparent, swaying")
def strands(rng: np.random.Generator) -> Shape:
    body = _wobbly_outline(rng, rng.uniform(0.5, 0.8), rng.uniform(0.5, 0.8), wobble=0.08)
    n = int(rng.integers(5, 41))
    base_ang = rng.uniform(0, 2 * np.pi) + rng.uniform(-1.2, 1.2, n)
    length, curl = rng.uniform(0.3, 1.2, n), rng.uniform(0.0, 0.4, n)
    waves, phase = rng.uniform(0.5, 2.5, n), rng.uniform(0, 2 * np.pi, n)
    opacity, sigma_px = rng.uniform(0.3, 0.95, n), rng.uniform(0.4, 1.2, n)
    s = np.linspace(0, 1, 12, dtype=np.float32)

    def f(u: np.ndarray, v: np.ndarray, t: float, px: float) -> np.ndarray:
        a = body(u, v, t, px)
        for i in range(n):
            ang = base_ang[i] + 0.15 * np.sin(0.4 * t + phase[i])
            root = 0.6 * np.array([np.cos(ang), np.sin(ang)])
            bend = curl[i] * np.sin(2 * np.pi * waves[i] * s + phase[i] + 0.3 * t) * s
            pu = root[0] + np.cos(ang) * length[i] * s - np.sin(ang) * bend
            pv = root[1] + np.sin(ang) * length[i] * s + np.cos(ang) * bend
            sig = sigma_px[i] * px
            d = near_polyline_distance(u, v, np.stack([pu, pv], 1), 4 * sig)
            np.maximum(a, opacity[i] * np.exp(-d * d / (2 * sig * sig)), out=a)
        return a

    return f


@register("foreground", "translucent", "a shape with semi-transparent regions (veil, glass) of varying opacity")
def translucent(rng: np.random.Generator) -> Shape:
    outline = _wobbly_outline(rng, rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0), wobble=0.15)
    noise, freq = LatticeNoise(rng), rng.uniform(0.8, 4.0)
    lo, hi = sorted(rng.uniform(0.15, 1.0, 2))
    solid_core = rng.random() < 0.5

    def f(u: np.ndarray, v: np.ndarray, t: float, px: float) -> np.ndarray:
        opacity = lo + (hi - lo) * noise(u * freq + 0.05 * t, v * freq)
        if solid_core:
            opacity = np.maximum(opacity, coverage(np.hypot(u, v) - 0.35, px))
        return outline(u, v, t, px) * opacity

    return f


@register("foreground", "ellipse_arm", "a soft ellipse with one swinging arm (the issue's report; held out)")
def ellipse_arm(rng: np.random.Generator) -> Shape:
    rx = rng.uniform(0.5, 0.75)
    d = rng.uniform(-0.5, 0.5) + (0.0 if rng.random() < 0.5 else np.pi)
    arm = _limb(rng, (0.8 * rx * np.cos(d), 0.3 * np.sin(d)), d, rng.uniform(0.9, 1.4), 0, 2)
    width, soft = rng.uniform(0.06, 0.12), rng.uniform(0.03, 0.1)

    def f(u: np.ndarray, v: np.ndarray, t: float, px: float) -> np.ndarray:
        ell = coverage((np.hypot(u / rx, v) - 1) * rx, px, soft)
        return np.maximum(ell, _limbs_alpha(u, v, t, px, [arm], [width]))

    return f


@register("foreground", "letters", "one to three thick stroke letters, slowly turning (held out)")
def letters(rng: np.random.Generator) -> Shape:
    n = int(rng.integers(1, 4))
    names = [glyphs.NAMES[int(i)] for i in rng.integers(0, len(glyphs.NAMES), n)]
    weight, spin = rng.uniform(0.35, 0.8), rng.uniform(-0.03, 0.03)

    def f(u: np.ndarray, v: np.ndarray, t: float, px: float) -> np.ndarray:
        ru, rv = rotate(u, v, spin * t)
        g = 3.4 / 1.0  # glyph units per object unit: a letter is about 2 x 1.8 object units
        gu, gv = ru * g + 3.0 * n - 1.0, rv * g + 3.0
        a = np.zeros(u.shape, np.float32)
        for i, name in enumerate(names):
            d = glyphs.glyph_distance(gu - 6.0 * i, gv, name)
            np.maximum(a, coverage(d - weight, px * g), out=a)
        return a

    return f
