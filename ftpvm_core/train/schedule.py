"""What each iteration trains on, and its learning rate, as pure functions of the iteration.

Being functions of the iteration alone (not of loop state) is what makes ``--resume`` exact and lets every process
of a distributed run agree without talking.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum


class Phase(str, Enum):
    """The three kinds of iteration."""

    SEGMENTATION = "segmentation"
    IMAGE_MATTING = "image_matting"
    VIDEO_MATTING = "video_matting"


@dataclass(frozen=True)
class Schedule:
    """The original recipe's schedule.

    Segmentation windows of ``seg_iter`` iterations start at ``seg_start`` and repeat after ``seg_cd`` matting
    iterations, until ``seg_stop`` (``seg_stop < 0`` or ``seg_iter <= 0`` disables them). Matting iterations use
    image matting before ``iter_switch_dataset`` and video matting from then on.
    """

    iterations: int
    iter_switch_dataset: int
    seg_start: int = 0
    seg_iter: int = 10000
    seg_cd: int = 20000
    seg_stop: int = 80000

    def is_segmentation(self, it: int) -> bool:
        if self.seg_iter <= 0 or self.seg_stop < 0 or it >= self.seg_stop or it < self.seg_start:
            return False
        return (it - self.seg_start) % (self.seg_iter + max(self.seg_cd, 0)) < self.seg_iter

    def phase(self, it: int) -> Phase:
        if self.is_segmentation(it):
            return Phase.SEGMENTATION
        return Phase.IMAGE_MATTING if it < self.iter_switch_dataset else Phase.VIDEO_MATTING

    def phases_used(self, start: int = 0) -> set[Phase]:
        """The phases that iterations ``start .. iterations-1`` will use (so unused datasets are not opened)."""
        used: set[Phase] = set()
        if start < min(self.iter_switch_dataset, self.iterations):
            used.add(Phase.IMAGE_MATTING)
        if self.iterations > max(self.iter_switch_dataset, start):
            used.add(Phase.VIDEO_MATTING)
        if self.seg_iter > 0 and self.seg_stop >= 0:
            lo, hi = max(start, self.seg_start), min(self.iterations, self.seg_stop)
            period = self.seg_iter + max(self.seg_cd, 0)
            if hi > lo and (hi - lo >= period or any(self.is_segmentation(i) for i in range(lo, min(hi, lo + period)))):
                used.add(Phase.SEGMENTATION)
        # matting phases that only ever fall inside segmentation windows are still opened: cheap and simpler
        return used


def learning_rate_factor(it: int, iterations: int, warmup: int, base_lr: float, eta_min: float = 1e-7) -> float:
    """Multiplier of the base learning rate at iteration ``it``.

    Linear warm-up from 0 over ``warmup`` iterations, then cosine annealing towards ``eta_min`` with a period of
    ``iterations`` counted from the end of the warm-up (the original's warm-up wrapper around a cosine schedule).
    """
    if warmup > 0 and it < warmup:
        return it / warmup
    t = it - max(warmup, 0)
    lr = eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / max(iterations, 1))) / 2
    return lr / base_lr if base_lr > 0 else 0.0
