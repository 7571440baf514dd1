"""The standard video-matting error metrics, with the paper's scalings.

Alphas are float arrays in [0, 1] of shape (H, W). ``region`` (bool, same shape) restricts a metric to some pixels,
e.g. the trimap's unknown band; an empty region gives NaN (left out of means).

======  ===================================================================  ==========
metric  definition                                                           reported
======  ===================================================================  ==========
MAD     mean |pred - true|                                                   x 1e3
MSE     mean (pred - true)^2                                                 x 1e3
Grad    sum over pixels of (|G(pred)| - |G(true)|)^2, G a Gaussian-derivative  / 1e3
        gradient (sigma 1.4) of the min-max normalised alpha
Conn    sum |phi(pred) - phi(true)| (connectivity, threshold step 0.1)      / 1e3
dtSSD   sqrt(mean ((pred_t - pred_t-1) - (true_t - true_t-1))^2)            x 1e2
======  ===================================================================  ==========
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

METRICS = ("MAD", "MSE", "Grad", "Conn", "dtSSD")
SCALE_NOTE = {"MAD": "x1e3", "MSE": "x1e3", "Grad": "/1e3", "Conn": "/1e3", "dtSSD": "x1e2"}


def _select(x: np.ndarray, region: np.ndarray | None) -> np.ndarray:
    return x if region is None else x[region]


def mad(pred: np.ndarray, true: np.ndarray, region: np.ndarray | None = None) -> float:
    """Mean absolute difference x 1e3."""
    d = _select(np.abs(pred.astype(np.float64) - true), region)
    return float(d.mean() * 1e3) if d.size else math.nan


def mse(pred: np.ndarray, true: np.ndarray, region: np.ndarray | None = None) -> float:
    """Mean squared error x 1e3."""
    d = _select((pred.astype(np.float64) - true) ** 2, region)
    return float(d.mean() * 1e3) if d.size else math.nan


@lru_cache(maxsize=4)
def gaussian_derivative_filters(sigma: float = 1.4, epsilon: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    """(filter_x, filter_y): Gaussian along one axis times its derivative along x (resp. y), unit L2 norm."""
    half = math.ceil(sigma * math.sqrt(-2 * math.log(math.sqrt(2 * math.pi) * sigma * epsilon)))
    r = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-r ** 2 / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))
    dg = -r * g / sigma ** 2
    fx = g[:, None] * dg[None, :]  # rows: y (smooth), columns: x (derivative)
    fx /= np.sqrt((fx ** 2).sum())
    return fx, fx.T.copy()


def _normalise(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a, dtype=np.float64)


def gradient_magnitude(a: np.ndarray, sigma: float = 1.4) -> np.ndarray:
    """|G(a)|: correlation with the two Gaussian-derivative filters, edges replicated."""
    fx, fy = gaussian_derivative_filters(sigma)
    half = fx.shape[0] // 2
    t = torch.from_numpy(np.asarray(a, dtype=np.float32))[None, None]
    t = F.pad(t, (half, half, half, half), mode="replicate")
    k = torch.from_numpy(np.stack([fx, fy]).astype(np.float32))[:, None]
    g = F.conv2d(t, k)[0].double()
    return torch.sqrt(g[0] ** 2 + g[1] ** 2).numpy()


def grad(pred: np.ndarray, true: np.ndarray, region: np.ndarray | None = None, sigma: float = 1.4) -> float:
    """Gradient error / 1e3."""
    d = (gradient_magnitude(_normalise(pred), sigma) - gradient_magnitude(_normalise(true), sigma)) ** 2
    d = _select(d, region)
    return float(d.sum() / 1e3) if d.size else math.nan


def connected_components(mask: np.ndarray) -> np.ndarray:
    """4-connected labels of a boolean (H, W) mask: each component gets the smallest flat index in it; -1 outside.

    Min-label propagation with pointer jumping (vectorised, no SciPy)."""
    h, w = mask.shape
    big = h * w
    lab = np.where(mask, np.arange(big).reshape(h, w), big)
    inside = mask.reshape(-1)
    while True:
        prev = lab
        m = lab.copy()
        m[1:, :] = np.minimum(m[1:, :], lab[:-1, :])
        m[:-1, :] = np.minimum(m[:-1, :], lab[1:, :])
        m[:, 1:] = np.minimum(m[:, 1:], lab[:, :-1])
        m[:, :-1] = np.minimum(m[:, :-1], lab[:, 1:])
        flat = np.where(inside, m.reshape(-1), big)
        for _ in range(4):  # pointer jumping: follow each label to its own label
            jumped = flat.copy()
            jumped[inside] = flat[flat[inside]]
            flat = jumped
        lab = flat.reshape(h, w)
        if np.array_equal(lab, prev):
            break
    return np.where(mask, lab, -1)


def _scipy_components(mask: np.ndarray) -> np.ndarray | None:
    try:
        from scipy import ndimage
    except ImportError:
        return None
    lab, _ = ndimage.label(mask)  # 4-connectivity by default
    return np.where(mask, lab, -1)


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of ``mask`` (all False if the mask is empty).

    Uses SciPy's labelling when it is installed (fast on full-HD frames), else :func:`connected_components`."""
    if not mask.any():
        return np.zeros_like(mask, dtype=bool)
    lab = _scipy_components(mask)
    if lab is None:
        lab = connected_components(mask)
    ids, counts = np.unique(lab[mask], return_counts=True)
    return lab == ids[int(np.argmax(counts))]


def conn(pred: np.ndarray, true: np.ndarray, step: float = 0.1) -> float:
    """Connectivity error / 1e3 (over the whole frame)."""
    pred, true = pred.astype(np.float64), true.astype(np.float64)
    thresholds = [i * step for i in range(int(round(1 / step)) + 1)]
    level = np.full(true.shape, -1.0)
    for i in range(1, len(thresholds)):
        omega = largest_component((true >= thresholds[i]) & (pred >= thresholds[i]))
        level[(level == -1) & ~omega] = thresholds[i - 1]
    level[level == -1] = 1.0
    true_d, pred_d = true - level, pred - level
    true_phi = 1 - true_d * (true_d >= 0.15)
    pred_phi = 1 - pred_d * (pred_d >= 0.15)
    return float(np.abs(true_phi - pred_phi).sum() / 1e3)


def dtssd(pred_t: np.ndarray, pred_tm1: np.ndarray, true_t: np.ndarray, true_tm1: np.ndarray,
          region: np.ndarray | None = None) -> float:
    """Temporal coherence error x 1e2."""
    d = _select(((pred_t.astype(np.float64) - pred_tm1) - (true_t.astype(np.float64) - true_tm1)) ** 2, region)
    return float(np.sqrt(d.sum() / d.size) * 1e2) if d.size else math.nan


def unknown_region(trimap: np.ndarray) -> np.ndarray:
    """The unknown band of a trimap in {0, 0.5, 1}."""
    return np.abs(np.asarray(trimap, dtype=np.float64) - 0.5) < 0.25


def frame_metrics(pred: np.ndarray, true: np.ndarray, trimap: np.ndarray | None,
                  prev: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None) -> dict[str, float]:
    """All metrics of one frame, on the full frame and (``*_unknown``) inside the trimap's unknown band.

    ``prev`` is (pred, true, trimap) of the previous frame, or None on the first frame (dtSSD is then NaN)."""
    unk = unknown_region(trimap) if trimap is not None else None
    out = {"MAD": mad(pred, true), "MSE": mse(pred, true), "Grad": grad(pred, true), "Conn": conn(pred, true),
           "dtSSD": dtssd(pred, prev[0], true, prev[1]) if prev is not None else math.nan}
    if unk is not None:
        out.update({"MAD_unknown": mad(pred, true, unk), "MSE_unknown": mse(pred, true, unk),
                    "Grad_unknown": grad(pred, true, unk)})
        if prev is not None:
            region = unk | unknown_region(prev[2]) if prev[2] is not None else unk
            out["dtSSD_unknown"] = dtssd(pred, prev[0], true, prev[1], region)
        else:
            out["dtSSD_unknown"] = math.nan
    return out
