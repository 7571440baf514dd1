"""Keyframe trimap families: ``make(rng, alpha) -> trimaps``, alpha (T, H, W) in [0, 1] -> (T, H, W) in
{0, 0.5, 1}. Every frame of a shot gets a trimap of the same style (the keyframe's, and the targets the network's
trimap head learns to propagate)."""
from __future__ import annotations

import numpy as np
import torch

from ftpvm_core.errors import InvalidInput
from ftpvm_core.imaging.trimap import trimap_from_outer
from ftpvm_core.train.augment import structuring_element, trimap_from_alpha
from ftpvm_core.train.procedural.family import register


def band_trimaps(alpha: np.ndarray, size: int, shape: int) -> np.ndarray:
    """An unknown band around every soft pixel: kernel ``size`` px (odd), shape 1-4 (square, disc, ellipses)."""
    a = torch.from_numpy(np.ascontiguousarray(alpha, np.float32))[:, None]
    return trimap_from_alpha(a, structuring_element(size, shape))[:, 0].numpy()


def roto_trimaps(alpha: np.ndarray, band: int, level: float = 0.5, grow: int = 0) -> np.ndarray:
    """What an artist's roto gives: the shape ``alpha >= level`` (grown or shrunk by ``grow`` px), turned into a
    trimap with ``band`` px of unknown around its edge by the product's own :func:`trimap_from_outer`. Soft detail
    further out (strands, haze) is marked background or foreground, as a real roto would. Frames without any roto
    shape are all background."""
    out = np.zeros(alpha.shape, np.float32)
    for i, a in enumerate(alpha):
        mask = torch.from_numpy(a >= level)[None, None].float()
        if grow:
            k = 2 * abs(grow) + 1
            pooled = torch.nn.functional.max_pool2d(mask if grow > 0 else 1 - mask, k, 1, abs(grow))
            mask = pooled if grow > 0 else 1 - pooled
        try:
            out[i] = trimap_from_outer(mask[0, 0].numpy(), band=band)
        except InvalidInput:  # the object is out of frame: nothing to roto
            out[i] = 0.0
    return out


@register("trimap", "band", "unknown band of 3-41 px (square, disc or elliptic kernel) around every soft pixel")
def band(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    size = int(np.exp(rng.uniform(np.log(3), np.log(41)))) | 1
    return band_trimaps(alpha, size, int(rng.integers(1, 5)))


@register("trimap", "roto", "a roto shape (alpha threshold 0.3-0.7, +-2 px) with a 2-16 px band, as drawn by hand")
def roto(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    return roto_trimaps(alpha, int(rng.integers(2, 17)), float(rng.uniform(0.3, 0.7)), int(rng.integers(-2, 3)))
