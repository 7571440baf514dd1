"""Easing curves that shape how an augmentation moves between its start and end values over a clip."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

Easing = Callable[[np.ndarray], np.ndarray]


def _bounce_out(p: np.ndarray) -> np.ndarray:
    n, d = 7.5625, 2.75
    return np.where(p < 1 / d, n * p * p,
           np.where(p < 2 / d, n * (p - 1.5 / d) ** 2 + 0.75,
           np.where(p < 2.5 / d, n * (p - 2.25 / d) ** 2 + 0.9375, n * (p - 2.625 / d) ** 2 + 0.984375)))


_EASE_IN: dict[str, Easing] = {
    "quad": lambda p: p ** 2,
    "cubic": lambda p: p ** 3,
    "quartic": lambda p: p ** 4,
    "quintic": lambda p: p ** 5,
    "sine": lambda p: 1 - np.cos(p * math.pi / 2),
    "circular": lambda p: 1 - np.sqrt(np.clip(1 - p * p, 0, 1)),
    "exponential": lambda p: np.where(p <= 0, 0.0, 2.0 ** (10 * (p - 1))),
    "back": lambda p: p ** 3 - p * np.sin(p * math.pi),
    "elastic": lambda p: np.sin(6.5 * math.pi * p) * 2.0 ** (10 * (p - 1)),
    "bounce": lambda p: 1 - _bounce_out(1 - p),
}


def _ease_out(f: Easing) -> Easing:
    return lambda p: 1 - f(1 - p)


def _ease_in_out(f: Easing) -> Easing:
    return lambda p: np.where(p < 0.5, f(2 * p) / 2, 1 - f(2 - 2 * p) / 2)


EASINGS: list[Easing] = []
for _f in _EASE_IN.values():
    EASINGS += [_f, _ease_out(_f), _ease_in_out(_f)]
EASINGS.append(lambda p: (p >= 0.5).astype(np.float64))  # a sudden step halfway


def random_easing(rng: np.random.Generator) -> Easing:
    """Linear 20% of the time, otherwise one of the curves above (as the original's motion augmentation)."""
    if rng.random() < 0.2:
        return lambda p: np.asarray(p, dtype=np.float64)
    return EASINGS[int(rng.integers(len(EASINGS)))]


def eased_progress(num_frames: int, rng: np.random.Generator) -> np.ndarray:
    """Progress in [0, 1]-ish (curves may overshoot) for each of ``num_frames`` frames."""
    p = np.linspace(0.0, 1.0, num_frames) if num_frames > 1 else np.zeros(1)
    return np.asarray(random_easing(rng)(p), dtype=np.float64)
