"""Evaluation outputs: per-frame CSV, JSON summary, and a PNG plot of per-frame error over time (no plotting
library: lines drawn with numpy, written with OpenImageIO)."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ftpvm_core.evaluate.metrics import METRICS, SCALE_NOTE
from ftpvm_core.evaluate.runner import ClipResult, summarise

#: Distinct line colours (RGB 0-255) for clips on the plot, reused cyclically.
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def metric_columns(results: list[ClipResult]) -> list[str]:
    keys = {k for r in results for f in r.frames for k in f}
    order = [m for m in METRICS] + [f"{m}_unknown" for m in METRICS]
    return [k for k in order if k in keys] + sorted(keys - set(order))


def write_csv(results: list[ClipResult], path: Path) -> None:
    """One row per frame, then one ``mean`` row per clip: clip, frame, metrics (paper scalings)."""
    cols = metric_columns(results)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["clip", "frame", *cols])
        for r in results:
            for i, fr in enumerate(r.frames):
                w.writerow([r.name, i, *[_fmt(fr.get(c, math.nan)) for c in cols]])
        for r in results:
            m = r.mean()
            w.writerow([r.name, "mean", *[_fmt(m.get(c, math.nan)) for c in cols]])


def _fmt(v: float) -> str:
    return "" if math.isnan(v) else f"{v:.6g}"


def _json_safe(d: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if math.isnan(v) else v) for k, v in d.items()}


def write_json(results: list[ClipResult], path: Path, meta: dict[str, Any]) -> dict[str, Any]:
    summary = summarise(results)
    doc = {
        **meta,
        "scales": {**SCALE_NOTE, **{f"{k}_unknown": v for k, v in SCALE_NOTE.items() if k != "Conn"}},
        "conventions": "MAD and MSE x1e3, Grad and Conn /1e3, dtSSD x1e2; '_unknown': inside the trimap's unknown "
                       "band (dtSSD: union of the bands of both frames); dtSSD has no value on a clip's first frame; "
                       "NaN (null) values are left out of means",
        "clips": {r.name: {"frames": len(r.frames), **_json_safe(r.mean())} for r in results},
        "mean_over_clips": _json_safe(summary["mean_over_clips"]),
        "mean_over_frames": _json_safe(summary["mean_over_frames"]),
    }
    path.write_text(json.dumps(doc, indent=2))
    return doc


def _line(img: np.ndarray, x0: float, y0: float, x1: float, y1: float, colour: tuple[int, int, int],
          width: int = 2) -> None:
    n = int(max(abs(x1 - x0), abs(y1 - y0)) * 2) + 2
    xs, ys = np.linspace(x0, x1, n).round().astype(int), np.linspace(y0, y1, n).round().astype(int)
    h, w, _ = img.shape
    for dy in range(-(width // 2), width - width // 2):
        for dx in range(-(width // 2), width - width // 2):
            yy, xx = np.clip(ys + dy, 0, h - 1), np.clip(xs + dx, 0, w - 1)
            img[yy, xx] = colour


def render_plot(results: list[ClipResult], metric: str = "MAD", size: tuple[int, int] = (900, 420)) -> np.ndarray:
    """uint8 (H, W, 3): ``metric`` per frame (x: frame, y: 0 at the bottom to the largest value at the top), one
    coloured line per clip (colours in clip order, see :data:`PALETTE`), light grid lines at quarters."""
    w, h = size
    img = np.full((h, w, 3), 255, np.uint8)
    left, right, top, bottom = 40, w - 20, 20, h - 30
    for q in range(5):
        y = bottom - (bottom - top) * q / 4
        _line(img, left, y, right, y, (225, 225, 225), 1)
    _line(img, left, top, left, bottom, (0, 0, 0))
    _line(img, left, bottom, right, bottom, (0, 0, 0))
    series = [[f.get(metric, math.nan) for f in r.frames] for r in results]
    finite = [v for s in series for v in s if not math.isnan(v)]
    vmax = max(finite) if finite and max(finite) > 0 else 1.0
    longest = max((len(s) for s in series), default=1)
    for i, s in enumerate(series):
        pts = [(left + (right - left) * t / max(longest - 1, 1), bottom - (bottom - top) * v / vmax)
               for t, v in enumerate(s) if not math.isnan(v)]
        colour = PALETTE[i % len(PALETTE)]
        if len(pts) == 1:
            _line(img, *pts[0], *pts[0], colour, 4)
        for a, b in zip(pts, pts[1:]):
            _line(img, *a, *b, colour)
    return img


def write_plot(results: list[ClipResult], path: Path, metric: str = "MAD") -> None:
    import OpenImageIO as oiio

    img = np.ascontiguousarray(render_plot(results, metric))
    out = oiio.ImageOutput.create(str(path))
    out.open(str(path), oiio.ImageSpec(img.shape[1], img.shape[0], 3, "uint8"))
    out.write_image(img)
    out.close()
