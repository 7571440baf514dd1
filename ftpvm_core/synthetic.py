"""Procedural shots with known alpha, for tests, the demo and demo training.

A shot is a soft-edged blob with fine hair-like strands moving over a moving textured background, composited in
scene-linear Rec.709 (``I = a * F + (1 - a) * B``). Everything is deterministic in ``seed``.

    >>> from ftpvm_core.synthetic import make_shot
    >>> shot = make_shot(num_frames=8, height=128, width=160, seed=0)
    >>> shot.plates_srgb.shape, shot.alpha.shape, shot.trimaps.shape
    ((8, 128, 160, 3), (8, 128, 160), (8, 128, 160))

Fields of :class:`SyntheticShot` (numpy float32):

- ``plates_srgb`` (T, H, W, 3): the composite, sRGB-encoded Rec.709 in [0, 1] (the model's colour space);
- ``plates_linear`` (T, H, W, 3): the same composite in scene-linear Rec.709 ("Linear Rec.709 (sRGB)");
- ``alpha`` (T, H, W): the true alpha in [0, 1];
- ``foreground`` / ``background`` (T, H, W, 3): the true layers, scene-linear;
- ``trimaps`` (T, H, W): trimaps in {0, 0.5, 1} derived from the true alpha (an unknown band around every
  partially transparent pixel); ``shot.trimaps[k]`` is a ready keyframe trimap for frame ``k``.

Options: ``noise`` (std of added sensor noise, linear), ``blur`` (box blur radius in pixels of the plate, simulating
defocus; alpha stays sharp), ``colour_drift`` (how much the foreground's colours drift over the shot),
``strands`` (number of hair-like strands), ``band`` (trimap unknown band in pixels).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LINEAR_COLORSPACE = "Linear Rec.709 (sRGB)"
SRGB_COLORSPACE = "sRGB Encoded Rec.709 (sRGB)"


@dataclass(frozen=True)
class SyntheticShot:
    """A synthetic shot with known layers; see the module docstring for the fields."""

    plates_srgb: np.ndarray
    plates_linear: np.ndarray
    alpha: np.ndarray
    foreground: np.ndarray
    background: np.ndarray
    trimaps: np.ndarray
    seed: int

    @property
    def num_frames(self) -> int:
        return int(self.alpha.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return int(self.alpha.shape[1]), int(self.alpha.shape[2])


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """The sRGB transfer function (IEC 61966-2-1) on values clipped to [0, 1]."""
    x = np.clip(linear, 0.0, 1.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1.0 / 2.4) - 0.055).astype(np.float32)


def srgb_decode(encoded: np.ndarray) -> np.ndarray:
    """Inverse of :func:`srgb_encode` on [0, 1]."""
    x = np.clip(encoded, 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, np.power((x + 0.055) / 1.055, 2.4)).astype(np.float32)


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _background(yy: np.ndarray, xx: np.ndarray, t: int, rng_params: np.ndarray, scale: float) -> np.ndarray:
    """A textured, slowly panning background (linear RGB in [0.02, 0.9])."""
    fx, fy, px, py, vx, vy = rng_params[:6]
    u = (xx + vx * t * scale) / scale
    v = (yy + vy * t * scale) / scale
    base = 0.5 + 0.25 * np.sin(2 * np.pi * (fx * u + px)) * np.cos(2 * np.pi * (fy * v + py))
    checker = ((np.floor(u * 6.0) + np.floor(v * 6.0)) % 2.0) * 0.15
    fine = 0.08 * np.sin(2 * np.pi * 23.0 * u) * np.sin(2 * np.pi * 17.0 * v)
    r = base + checker + fine
    g = 0.6 * base + 0.5 * checker - fine
    b = 0.4 + 0.3 * np.cos(2 * np.pi * (fx * 0.7 * v + px)) - 0.5 * checker
    return np.clip(np.stack([r, g, b], -1), 0.02, 0.9).astype(np.float32)


def _splat_strand(alpha: np.ndarray, points: np.ndarray, opacity: float, sigma: float) -> None:
    """Rasterise a thin anti-aliased curve into ``alpha`` (max-compositing Gaussian footprints)."""
    h, w = alpha.shape
    rad = int(np.ceil(3 * sigma)) + 1
    for y, x in points:
        y0, y1 = max(int(y) - rad, 0), min(int(y) + rad + 1, h)
        x0, x1 = max(int(x) - rad, 0), min(int(x) + rad + 1, w)
        if y0 >= y1 or x0 >= x1:
            continue
        gy = np.arange(y0, y1, dtype=np.float32)[:, None] - y
        gx = np.arange(x0, x1, dtype=np.float32)[None, :] - x
        fp = opacity * np.exp(-(gy * gy + gx * gx) / (2 * sigma * sigma))
        np.maximum(alpha[y0:y1, x0:x1], fp, out=alpha[y0:y1, x0:x1])


def trimap_from_alpha(alpha: np.ndarray, band: int) -> np.ndarray:
    """A trimap from a known alpha: unknown within ``band`` pixels of any pixel with 0 < alpha < 1."""
    fg = alpha >= 0.995
    bg = alpha <= 0.005
    unknown = ~(fg | bg)
    grown = unknown.copy()
    for _ in range(max(band, 0)):  # chessboard dilation, cheap and deterministic
        g = grown.copy()
        g[1:, :] |= grown[:-1, :]
        g[:-1, :] |= grown[1:, :]
        g[:, 1:] |= grown[:, :-1]
        g[:, :-1] |= grown[:, 1:]
        grown = g
    tri = np.where(fg, 1.0, 0.0).astype(np.float32)
    tri[grown] = 0.5
    return tri


def make_shot(
    num_frames: int = 8,
    height: int = 128,
    width: int = 160,
    seed: int = 0,
    *,
    noise: float = 0.0,
    blur: int = 0,
    colour_drift: float = 0.0,
    strands: int = 10,
    band: int | None = None,
) -> SyntheticShot:
    """Make a deterministic synthetic shot; see the module docstring."""
    if num_frames < 1 or height < 8 or width < 8:
        raise ValueError(f"make_shot needs num_frames >= 1 and a frame of at least 8x8, got {num_frames} x {height}x{width}")
    rng = np.random.default_rng(seed)
    scale = float(min(height, width))
    band = max(2, int(round(scale / 40))) if band is None else band
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    bg_params = rng.uniform([0.6, 0.6, 0, 0, -0.6, -0.3], [1.6, 1.6, 1, 1, 0.6, 0.3]) / np.array([1, 1, 1, 1, 60, 60])
    fg_hue = rng.uniform(0, 2 * np.pi)
    start = np.array([rng.uniform(0.4, 0.6) * height, rng.uniform(0.3, 0.45) * width])
    velocity = np.array([rng.uniform(-0.01, 0.01) * height, rng.uniform(0.01, 0.025) * width])
    radii = np.array([rng.uniform(0.22, 0.3) * scale, rng.uniform(0.16, 0.22) * scale])
    strand_angles = rng.uniform(-2.6, -0.5, size=strands)  # mostly upwards
    strand_len = rng.uniform(0.18, 0.35, size=strands) * scale
    strand_wave = rng.uniform(0.5, 2.0, size=strands)
    strand_phase = rng.uniform(0, 2 * np.pi, size=strands)
    strand_opacity = rng.uniform(0.5, 0.95, size=strands)
    edge_soft = max(1.0, scale / 96.0)

    plates_lin, alphas, fgs, bgs = [], [], [], []
    for t in range(num_frames):
        cy, cx = start + velocity * t
        wobble = 1.0 + 0.06 * np.sin(0.7 * t + np.arctan2(yy - cy, xx - cx) * 3.0)
        d = np.sqrt(((yy - cy) / radii[0]) ** 2 + ((xx - cx) / radii[1]) ** 2) / wobble
        alpha = (1.0 - _smoothstep(1.0 - edge_soft / radii.min(), 1.0 + edge_soft / radii.min(), d)).astype(np.float32)
        for k in range(strands):
            ang = strand_angles[k] + 0.15 * np.sin(0.5 * t + strand_phase[k])
            base_y = cy + radii[0] * 0.95 * np.sin(ang)
            base_x = cx + radii[1] * 0.95 * np.cos(ang)
            s = np.linspace(0.0, 1.0, int((strand_len[k] + 0.8 * scale * strand_wave[k]) * 2.5) + 2)
            curl = 0.12 * scale * s * np.sin(2 * np.pi * strand_wave[k] * s + strand_phase[k] + 0.3 * t)
            py = base_y + np.sin(ang) * strand_len[k] * s + np.cos(ang) * curl
            px = base_x + np.cos(ang) * strand_len[k] * s - np.sin(ang) * curl
            _splat_strand(alpha, np.stack([py, px], 1), float(strand_opacity[k]) * 1.0, sigma=0.55)
        hue = fg_hue + colour_drift * 2.0 * np.pi * t / max(num_frames - 1, 1)
        shade = 0.75 + 0.25 * np.sin((yy - cy) / (0.2 * scale)) * np.cos((xx - cx) / (0.25 * scale))
        fg = np.stack([0.5 + 0.4 * np.cos(hue), 0.5 + 0.4 * np.cos(hue + 2.1), 0.5 + 0.4 * np.cos(hue + 4.2)], -1)
        fg = np.clip(fg[None, None, :] * shade[..., None], 0.01, 1.0).astype(np.float32)
        bg = _background(yy, xx, t, bg_params, scale)
        comp = alpha[..., None] * fg + (1.0 - alpha[..., None]) * bg
        if blur > 0:
            k = 2 * blur + 1
            pad = np.pad(comp, ((blur, blur), (blur, blur), (0, 0)), mode="edge")
            cs = np.cumsum(np.cumsum(np.pad(pad, ((1, 0), (1, 0), (0, 0))), 0), 1)
            comp = (cs[k:, k:] - cs[:-k, k:] - cs[k:, :-k] + cs[:-k, :-k]) / (k * k)
        if noise > 0:
            comp = comp + rng.normal(0.0, noise, size=comp.shape)
        plates_lin.append(np.clip(comp, 0.0, 1.0).astype(np.float32))
        alphas.append(alpha)
        fgs.append(fg)
        bgs.append(bg)

    alpha = np.stack(alphas)
    lin = np.stack(plates_lin)
    return SyntheticShot(
        plates_srgb=srgb_encode(lin),
        plates_linear=lin,
        alpha=alpha,
        foreground=np.stack(fgs),
        background=np.stack(bgs),
        trimaps=np.stack([trimap_from_alpha(a, band) for a in alpha]),
        seed=seed,
    )
