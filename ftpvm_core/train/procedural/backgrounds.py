"""Background (texture) families: ``make(rng) -> Texture``, a texture being ``(u, v) -> (H, W, 3)`` linear RGB.

Coordinates are scene units (the frame's height is about 1), so a camera pan or zoom is a change of coordinates and
the same textures also colour foreground objects (in the objects' own coordinates).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ftpvm_core.train.procedural import glyphs, photos
from ftpvm_core.train.procedural.raster import (LatticeNoise, bilinear, coverage, fbm, mix, polygon_sdf,
                                                random_colours, rotate)
from ftpvm_core.train.procedural.family import register

Texture = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _shaded(rng: np.random.Generator, tex: Texture) -> Texture:
    """Add a soft, low-frequency illumination variation (most real backgrounds are not evenly lit)."""
    noise, amount, scale = LatticeNoise(rng), rng.uniform(0.0, 0.5), rng.uniform(0.3, 1.5)

    def f(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        light = 1.0 - amount + 2 * amount * noise(u * scale + 3.1, v * scale - 1.7)
        return tex(u, v) * light[..., None]

    return f


@register("background", "perlin", "fractal value noise through a random colour ramp, optionally domain-warped")
def perlin(rng: np.random.Generator) -> Texture:
    noise, warp_noise = LatticeNoise(rng), LatticeNoise(rng)
    colours = random_colours(rng, int(rng.integers(2, 5)))
    freq, octaves = float(np.exp(rng.uniform(np.log(1.5), np.log(24)))), int(rng.integers(1, 7))
    warp = rng.uniform(0, 1.5) if rng.random() < 0.4 else 0.0
    gain = rng.uniform(0.35, 0.7)

    def f(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        uu, vv = u * freq, v * freq
        if warp:
            uu = uu + warp * (warp_noise(uu * 0.5, vv * 0.5) - 0.5) * 4
            vv = vv + warp * (warp_noise(uu * 0.5 + 40, vv * 0.5 + 40) - 0.5) * 4
        n = fbm(noise, uu, vv, octaves, gain)
        return mix(colours, (n - 0.2) / 0.6)

    return _shaded(rng, f)


def _wave(x: np.ndarray, kind: int) -> np.ndarray:
    """A periodic profile in [0, 1] of phase ``x`` (cycles): sine, square, triangle or thin lines."""
    frac = x - np.floor(x)
    if kind == 0:
        return 0.5 + 0.5 * np.sin(2 * np.pi * x)
    if kind == 1:
        return (frac < 0.5).astype(np.float32)
    if kind == 2:
        return 1 - 2 * np.abs(frac - 0.5)
    return (frac < 0.15).astype(np.float32)


@register("background", "grating", "one to three stripe gratings at any angle, frequency and waveform")
def grating(rng: np.random.Generator) -> Texture:
    n = int(rng.integers(1, 4))
    angles = rng.uniform(0, np.pi, n)
    freqs = np.exp(rng.uniform(np.log(1.0), np.log(40.0), n))
    kinds = rng.integers(0, 4, n)
    phases = rng.uniform(0, 1, n)
    colours = random_colours(rng, n + 1)

    def f(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        out = np.broadcast_to(colours[0], u.shape + (3,)).copy()
        for k in range(n):
            ru, _ = rotate(u, v, angles[k])
            w = _wave(ru * freqs[k] + phases[k], int(kinds[k]))[..., None]
            out = out * (1 - 0.8 * w) + colours[k + 1] * 0.8 * w
        return out

    return _shaded(rng, f)


@register("background", "checker", "rotated checkerboards of any cell size, sharp or soft")
def checker(rng: np.random.Generator) -> Texture:
    angle, cells = rng.uniform(0, np.pi / 2), float(np.exp(rng.uniform(np.log(1.5), np.log(30))))
    a, b = random_colours(rng, 2)
    soft = rng.uniform(0, 0.25)

    def f(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        ru, rv = rotate(u * cells, v * cells, angle)
        su = np.clip(np.sin(np.pi * ru) / (soft + 1e-3), -1, 1)
        sv = np.clip(np.sin(np.pi * rv) / (soft + 1e-3), -1, 1)
        w = (0.5 + 0.5 * su * sv)[..., None]
        return a * w + b * (1 - w)

    return _shaded(rng, f)


@register("background", "gradient", "linear or radial gradients between random colours, with faint noise")
def gradient(rng: np.random.Generator) -> Texture:
    colours = random_colours(rng, int(rng.integers(2, 4)))
    radial, angle = rng.random() < 0.4, rng.uniform(0, 2 * np.pi)
    centre, span = rng.uniform(-0.8, 0.8, 2), rng.uniform(0.5, 3.0)
    noise, grain = LatticeNoise(rng), rng.uniform(0, 0.08)

    def f(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        if radial:
            w = np.hypot(u - centre[0], v - centre[1]) / span
        else:
            w = rotate(u, v, angle)[0] / span + 0.5
        w = w + grain * (noise(u * 40, v * 40) - 0.5)
        return mix(colours, w)

    return f


@register("background", "text", "rows of letters in random sizes, weights and colours on a plain or noisy page")
def text(rng: np.random.Generator) -> Texture:
    size, weight = rng.uniform(0.04, 0.35), rng.uniform(0.25, 0.8)
    paper, ink = random_colours(rng, 2)
    angle, seed = rng.uniform(-0.4, 0.4), int(rng.integers(2**31))
    lines = rng.random() < 0.3

    def f(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        ru, rv = rotate(u, v, angle)
        gu, gv = ru / size * 6.0, rv / size * 6.0  # glyph units: a cell is 6 x 8
        cu, cv = np.floor(gu / 6.0), np.floor(gv / 8.0)
        lu, lv = gu - cu * 6.0 - 1.0, gv - cv * 8.0 - 1.0
        pick = ((cu.astype(np.int64) * 73856093) ^ (cv.astype(np.int64) * 19349663) ^ seed) % (len(glyphs.NAMES) + 3)
        d = np.full(u.shape, np.inf, np.float32)
        for i, name in enumerate(glyphs.NAMES):  # last three picks are spaces
            sel = pick == i
            if sel.any():
                d[sel] = glyphs.glyph_distance(lu[sel], lv[sel], name)
        px = float(np.abs(gu[0, 1] - gu[0, 0]) + np.abs(gv[0, 1] - gv[0, 0])) if u.shape[1] > 1 else 0.1
        w = coverage(d - weight, px)
        if lines:
            w = np.maximum(w, coverage(np.abs(lv - 7.0) - 0.15, px))
        return mix(np.stack([paper, ink]), w)

    return _shaded(rng, f)


@register("background", "polygons", "many random overlapping polygons in random colours")
def polygons(rng: np.random.Generator) -> Texture:
    n, tile = int(rng.integers(5, 30)), rng.uniform(1.0, 3.0)
    base = random_colours(rng, 1)[0]
    shapes = []
    for _ in range(n):
        k = int(rng.integers(3, 8))
        c, r = rng.uniform(0, tile, 2), rng.uniform(0.05, 0.6)
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        rad = r * rng.uniform(0.4, 1.0, k)
        shapes.append((np.stack([c[0] + rad * np.cos(ang), c[1] + rad * np.sin(ang)], 1).astype(np.float32),
                       random_colours(rng, 1)[0]))

    def f(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        tu, tv = np.mod(u, tile), np.mod(v, tile)  # tiled, so pans never run out
        px = float(abs(u[0, 1] - u[0, 0])) if u.shape[1] > 1 else 0.01
        out = np.broadcast_to(base, u.shape + (3,)).copy()
        for pts, col in shapes:
            w = coverage(polygon_sdf(tu, tv, pts), px)[..., None]
            out = out * (1 - w) + col * w
        return out

    return _shaded(rng, f)


@register("background", "sinusoid", "the original demo generator's texture: sinusoid x checker with a fine pattern")
def sinusoid(rng: np.random.Generator) -> Texture:
    fx, fy, px_, py_ = rng.uniform([0.6, 0.6, 0, 0], [1.6, 1.6, 1, 1])
    cells, fine = rng.uniform(3, 9), rng.uniform(10, 30)

    def f(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        base = 0.5 + 0.25 * np.sin(2 * np.pi * (fx * u + px_)) * np.cos(2 * np.pi * (fy * v + py_))
        check = ((np.floor(u * cells) + np.floor(v * cells)) % 2.0) * 0.15
        fp = 0.08 * np.sin(2 * np.pi * fine * u) * np.sin(2 * np.pi * fine * 0.74 * v)
        rgb = np.stack([base + check + fp, 0.6 * base + 0.5 * check - fp,
                        0.4 + 0.3 * np.cos(2 * np.pi * (fx * 0.7 * v + px_)) - 0.5 * check], -1)
        return np.clip(rgb, 0.02, 0.9).astype(np.float32)

    return f


def _photos_available() -> bool:
    return bool(photos.available_photos())


@register("background", "photo", "real photographs shipped in scikit-image / scikit-learn (the train extra)",
          available=_photos_available)
def photo(rng: np.random.Generator) -> Texture:
    found = photos.available_photos()
    if not found:
        raise RuntimeError("no packaged photographs: install the training extra (pip install 'ftpvm[train]')")
    img = photos.load_linear(int(rng.integers(len(found))))
    h, w = img.shape[:2]
    scale = rng.uniform(0.35, 1.0) * h  # pixels of the photograph per scene unit
    offset = rng.uniform([0.3 * h, 0.3 * w], [0.7 * h, 0.7 * w])
    gain = rng.uniform(0.5, 1.6) * rng.uniform(0.85, 1.15, 3).astype(np.float32)
    flip = -1.0 if rng.random() < 0.5 else 1.0

    def f(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return bilinear(img, offset[0] + v * scale, offset[1] + flip * u * scale) * gain

    return f


@register("background", "voronoi", "Voronoi cells with flat or graded colours and dark borders (held out)")
def voronoi(rng: np.random.Generator) -> Texture:
    tile, n = rng.uniform(1.0, 2.5), int(rng.integers(8, 60))
    seeds = rng.uniform(0, tile, (n, 2)).astype(np.float32)
    colours = random_colours(rng, n)
    border, ink = rng.uniform(0.0, 0.04), random_colours(rng, 1)[0]

    def f(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        tu, tv = np.mod(u, tile), np.mod(v, tile)
        best = np.full(u.shape, np.inf, np.float32)
        second = np.full(u.shape, np.inf, np.float32)
        idx = np.zeros(u.shape, np.int64)
        for i, (su, sv) in enumerate(seeds):
            for ou in (-tile, 0.0, tile):
                for ov in (-tile, 0.0, tile):
                    d = np.hypot(tu - su - ou, tv - sv - ov)
                    closer = d < best
                    second = np.where(closer, best, np.minimum(second, d))
                    idx = np.where(closer, i, idx)
                    best = np.minimum(best, d)
        out = colours[idx]
        px = float(abs(u[0, 1] - u[0, 0])) if u.shape[1] > 1 else 0.01
        edge = coverage((second - best) - border, px)[..., None]
        return out * (1 - edge) + ink * edge

    return _shaded(rng, f)


@register("background", "fabric", "woven cloth: over-under warp and weft threads with fibre noise (held out)")
def fabric(rng: np.random.Generator) -> Texture:
    angle, threads = rng.uniform(0, np.pi), rng.uniform(6, 40)
    warp_c, weft_c = random_colours(rng, 2)
    noise, fuzz = LatticeNoise(rng), rng.uniform(0.05, 0.3)

    def f(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        ru, rv = rotate(u * threads, v * threads, angle)
        cu, cv = np.floor(ru), np.floor(rv)
        over = ((cu + cv) % 2.0 == 0)[..., None]
        prof_u = np.sin(np.pi * (ru - cu)) ** 0.6
        prof_v = np.sin(np.pi * (rv - cv)) ** 0.6
        fibre = 1 - fuzz + fuzz * 2 * noise(ru * 3, rv * 0.5)[..., None]
        warp = warp_c * prof_u[..., None] * fibre
        weft = weft_c * prof_v[..., None] * fibre
        return np.where(over, warp, weft).astype(np.float32) + 0.01

    return _shaded(rng, f)
