"""What a camera adds after the scene: lighting changes, defocus, sensor noise, exposure and compression.

Lighting and noise act on scene-linear plates (T, H, W, 3); compression acts on the sRGB-encoded plates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ftpvm_core.train.augment import gaussian_blur_per_frame


@dataclass(frozen=True)
class Capture:
    """Random capture settings of one shot."""

    light_amp: float  # slow light change (fraction)
    light_freq: float
    light_phase: float
    flicker: float  # frame-to-frame flicker (fraction)
    tint: np.ndarray  # (3,) per-channel drift over the shot
    exposure: float  # linear gain
    bg_defocus: float  # Gaussian sigma (px) of the background layer
    plate_blur: float  # Gaussian sigma (px) of the whole plate (lens softness)
    noise: float  # read noise std (linear)
    shot_noise: float  # signal-dependent noise scale
    jpeg_quality: float  # 0: no compression, else quantisation step scale
    shutter: float  # motion-blur exposure in frames (0: none)

    @classmethod
    def random(cls, rng: np.random.Generator) -> "Capture":
        r = lambda p: rng.random() < p  # noqa: E731
        return cls(
            light_amp=rng.uniform(0, 0.3) if r(0.3) else 0.0, light_freq=rng.uniform(0.1, 0.8),
            light_phase=rng.uniform(0, 2 * np.pi), flicker=rng.uniform(0, 0.06) if r(0.1) else 0.0,
            tint=rng.normal(0, 0.05, 3) if r(0.3) else np.zeros(3), exposure=float(np.exp(rng.normal(0, 0.3))),
            bg_defocus=rng.uniform(0.5, 3.0) if r(0.25) else 0.0, plate_blur=rng.uniform(0.3, 1.2) if r(0.15) else 0.0,
            noise=rng.uniform(0, 0.03) if r(0.4) else 0.0, shot_noise=rng.uniform(0, 0.04) if r(0.3) else 0.0,
            jpeg_quality=rng.uniform(0.02, 0.12) if r(0.25) else 0.0,
            shutter=rng.uniform(0.3, 1.0) if r(0.2) else 0.0)

    @classmethod
    def clean(cls) -> "Capture":
        return cls(0.0, 0.0, 0.0, 0.0, np.zeros(3), 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)

    def light(self, times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(T, 3) linear gains per frame."""
        t = np.asarray(times, np.float64)
        gain = self.exposure * (1 + self.light_amp * np.sin(self.light_freq * t + self.light_phase))
        gain = gain * (1 + self.flicker * rng.standard_normal(len(t)))
        span = max(float(np.ptp(t)), 1.0)
        return (gain[:, None] * (1 + self.tint[None, :] * (t[:, None] - t.min()) / span)).astype(np.float32)


def blur(frames: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of (T, H, W, C) frames."""
    if sigma <= 0:
        return frames
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    out = gaussian_blur_per_frame(x, np.full(len(frames), sigma))
    return out.permute(0, 2, 3, 1).numpy()


def add_noise(plates: np.ndarray, read: float, shot: float, rng: np.random.Generator) -> np.ndarray:
    if read <= 0 and shot <= 0:
        return plates
    std = read + shot * np.sqrt(np.clip(plates, 0, None))
    return plates + std * rng.standard_normal(plates.shape).astype(np.float32)


def _dct_matrix(n: int = 8) -> np.ndarray:
    k, i = np.arange(n)[:, None], np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2 / n)
    m[0] /= np.sqrt(2)
    return m.astype(np.float32)


_DCT = _dct_matrix()
_FREQ_WEIGHT = (1 + np.add.outer(np.arange(8), np.arange(8))).astype(np.float32)  # coarser steps at high frequency


def compress(srgb: np.ndarray, step: float) -> np.ndarray:
    """JPEG-like blocking: 8 x 8 DCT of luma and (coarser) chroma, uniform quantisation, inverse. (T, H, W, 3)."""
    if step <= 0:
        return srgb
    t, h, w, _ = srgb.shape
    ph, pw = (-h) % 8, (-w) % 8
    x = np.pad(srgb, ((0, 0), (0, ph), (0, pw), (0, 0)), mode="edge")
    to_ycc = np.array([[0.299, 0.587, 0.114], [-0.169, -0.331, 0.5], [0.5, -0.419, -0.081]], np.float32)
    ycc = x @ to_ycc.T
    H, W = x.shape[1] // 8, x.shape[2] // 8
    blocks = ycc.reshape(t, H, 8, W, 8, 3).transpose(0, 1, 3, 5, 2, 4)  # (T, H, W, C, 8, 8)
    coef = _DCT @ blocks @ _DCT.T
    q = step * _FREQ_WEIGHT * np.array([1.0, 2.0, 2.0], np.float32)[:, None, None] / 8
    coef = np.round(coef / q) * q
    back = (_DCT.T @ coef @ _DCT).transpose(0, 1, 4, 2, 5, 3).reshape(x.shape)
    rgb = back @ np.linalg.inv(to_ycc).T
    return np.clip(rgb[:, :h, :w], 0, 1).astype(np.float32)
