"""Run a checkpoint over evaluation clips through the shot engine, and score every frame."""
from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ftpvm_core.evaluate.metrics import frame_metrics, unknown_region
from ftpvm_core.evaluate.sources import EvalClip
from ftpvm_wire.shots import shot_id_from

MODEL_COLORSPACE = "sRGB Encoded Rec.709 (sRGB)"  # evaluation frames are sRGB-encoded, the model's own space


@dataclass
class ClipResult:
    """Per-frame metrics of one clip, and their means (NaNs left out)."""

    name: str
    frames: list[dict[str, float]] = field(default_factory=list)

    def mean(self) -> dict[str, float]:
        keys = sorted({k for f in self.frames for k in f})
        return {k: _nanmean([f.get(k, math.nan) for f in self.frames]) for k in keys}


def _nanmean(values: Sequence[float]) -> float:
    v = [x for x in values if not math.isnan(x)]
    return float(sum(v) / len(v)) if v else math.nan


def summarise(results: list[ClipResult]) -> dict[str, dict[str, float]]:
    """Mean over clips (of each clip's mean) and mean over all frames."""
    keys = sorted({k for r in results for f in r.frames for k in f})
    per_clip = [r.mean() for r in results]
    return {"mean_over_clips": {k: _nanmean([m.get(k, math.nan) for m in per_clip]) for k in keys},
            "mean_over_frames": {k: _nanmean([f.get(k, math.nan) for r in results for f in r.frames]) for k in keys}}


def _shot_id(i: int, name: str) -> str:
    return f"eval{i:04d}-" + shot_id_from(name, fallback="clip", max_length=100)


def engine_alphas(engine: Any, shot_id: str, clip: EvalClip, keyframes: Sequence[int], settings: dict | None,
                  frames: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(image, true alpha, trimap, predicted alpha, propagated trimap) per frame, in order, through ``engine`` (the
    in-process :class:`ftpvm_core.engine.Engine`). Keyframe memories use the trimaps of the ``keyframes``."""
    first, alpha0 = clip.frame(0)
    h, w = alpha0.shape
    shot = engine.open_shot(shot_id, w, h, MODEL_COLORSPACE, settings=settings, reset=True)
    for k in keyframes:
        if k >= frames:
            continue
        image, alpha = (first, alpha0) if k == 0 else clip.frame(k)
        shot.set_keyframe(k, image, trimap=clip.trimap(k, alpha))
    pending: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def feed() -> Iterator[tuple[int, np.ndarray]]:
        for i in range(frames):
            image, alpha = (first, alpha0) if i == 0 else clip.frame(i)
            pending[i] = (image, alpha)
            yield i, image

    for result in shot.matte(feed(), passes=("alpha", "trimap")):
        image, alpha = pending.pop(result.frame)
        yield (image, alpha, clip.trimap(result.frame, alpha), np.asarray(result.alpha, dtype=np.float32),
               np.asarray(result.trimap, dtype=np.float32))
    engine.delete_shot(shot_id)


def evaluate_clips(checkpoint: str | Path | Any, clips: list[EvalClip], *, keyframes: Sequence[int] = (0,),
                   device: str = "auto", settings: dict | None = None, max_frames: int | None = None,
                   on_alpha: Callable[[EvalClip, int, np.ndarray], None] | None = None,
                   progress: Callable[[str, int, int], None] | None = None) -> list[ClipResult]:
    """Score ``checkpoint`` (a path, a state dict or a model) on ``clips`` with the shot engine.

    Besides :func:`frame_metrics`, every frame that is not a keyframe gets ``unknown_growth``: the unknown area of
    the network's propagated trimap over that of the first keyframe's trimap (1: the band kept its size)."""
    from ftpvm_core.engine import Engine

    results = []
    with tempfile.TemporaryDirectory(prefix="ftpvm-eval-") as state_dir, \
            Engine(weights=checkpoint, device=device, state_dir=state_dir) as engine:
        for i, clip in enumerate(clips):
            n = clip.num_frames if max_frames is None else min(clip.num_frames, max_frames)
            res, prev = ClipResult(clip.name), None
            first = keyframes[0] if keyframes else 0
            key_unknown = float(unknown_region(clip.trimap(first, clip.frame(first)[1])).mean())
            for t, (_, true, tri, pred, pred_tri) in enumerate(engine_alphas(engine, _shot_id(i, clip.name), clip,
                                                                             keyframes, settings, n)):
                res.frames.append(frame_metrics(pred, true, tri, prev))
                if t not in keyframes and key_unknown > 0:
                    res.frames[-1]["unknown_growth"] = float(unknown_region(pred_tri).mean()) / key_unknown
                prev = (pred, true, tri)
                if on_alpha is not None:
                    on_alpha(clip, t, pred)
                if progress is not None:
                    progress(clip.name, t + 1, n)
            results.append(res)
    return results
