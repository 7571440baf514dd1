"""Camera and object motion as smooth functions of (fractional) time: pans, zooms, roll, shake, objects crossing,
approaching, spinning, entering and leaving the frame.

Screen coordinates: ``((x - W/2) / H, (y - H/2) / H)`` (the frame is 1 unit high, centred on 0).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


def _shake(rng: np.random.Generator, amount: float) -> Callable[[float], float]:
    freq, phase = rng.uniform(0.5, 2.5, 3), rng.uniform(0, 2 * np.pi, 3)

    def f(t: float) -> float:
        return amount * float(np.sum(np.sin(freq * t + phase))) / 3

    return f


@dataclass
class Camera:
    """Maps screen coordinates to the background texture's coordinates at time ``t``."""

    pan: np.ndarray  # (2,) units per frame
    accel: np.ndarray  # (2,) units per frame^2
    zoom_rate: float  # log zoom per frame
    roll_rate: float  # radians per frame
    shake_u: Callable[[float], float]
    shake_v: Callable[[float], float]

    @classmethod
    def random(cls, rng: np.random.Generator, strength: float = 1.0) -> "Camera":
        pan = rng.normal(0, 0.025, 2) * strength if rng.random() < 0.8 else np.zeros(2)
        accel = rng.normal(0, 0.002, 2) * strength if rng.random() < 0.3 else np.zeros(2)
        zoom = rng.normal(0, 0.02) * strength if rng.random() < 0.35 else 0.0
        roll = rng.normal(0, 0.01) * strength if rng.random() < 0.2 else 0.0
        shake = rng.uniform(0, 0.01) * strength if rng.random() < 0.3 else 0.0
        return cls(pan, accel, zoom, roll, _shake(rng, shake), _shake(rng, shake))

    def zoom(self, t: float) -> float:
        return float(np.exp(self.zoom_rate * t))

    def to_scene(self, su: np.ndarray, sv: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray, float]:
        """Background coordinates of screen points at time ``t``, and the size of a pixel there (per screen unit)."""
        z, a = self.zoom(t), self.roll_rate * t
        c, s = np.cos(a) * z, np.sin(a) * z
        off = self.pan * t + 0.5 * self.accel * t * t + np.array([self.shake_u(t), self.shake_v(t)])
        return (c * su - s * sv + off[0]).astype(np.float32), (s * su + c * sv + off[1]).astype(np.float32), z


@dataclass
class Trajectory:
    """Pose of one object over time in screen units: centre, rotation and size."""

    start: np.ndarray
    velocity: np.ndarray
    accel: np.ndarray
    angle0: float
    spin: float
    size0: float
    growth: float
    sway: np.ndarray  # (2,) amplitude of a slow oscillation
    sway_freq: float

    @classmethod
    def random(cls, rng: np.random.Generator, aspect: float, size: float, enter_or_leave: bool) -> "Trajectory":
        """A random trajectory; ``enter_or_leave`` starts it outside the frame moving in (or the reverse)."""
        half = np.array([aspect / 2, 0.5])
        velocity = rng.normal(0, 0.01, 2)
        start = rng.uniform(-0.6, 0.6, 2) * half
        if enter_or_leave:
            side = rng.integers(0, 2)
            sign = 1.0 if rng.random() < 0.5 else -1.0
            start[side] = sign * (half[side] + size * rng.uniform(0.3, 1.0))
            velocity[side] = -sign * rng.uniform(0.02, 0.06)
        return cls(start=start, velocity=velocity, accel=rng.normal(0, 0.0015, 2),
                   angle0=rng.uniform(-np.pi, np.pi) if rng.random() < 0.5 else rng.normal(0, 0.3),
                   spin=rng.normal(0, 0.03), size0=size, growth=rng.normal(0, 0.02) if rng.random() < 0.4 else 0.0,
                   sway=rng.uniform(0, 0.03, 2), sway_freq=rng.uniform(0.1, 0.8))

    def reverse_in_time(self, t_end: float) -> "Trajectory":
        """The same path run backwards from ``t_end`` (an object entering becomes one leaving)."""
        centre = self.centre(t_end)
        return Trajectory(centre, -self.velocity - self.accel * t_end, self.accel, self.angle(t_end), -self.spin,
                          self.size(t_end), -self.growth, self.sway, -self.sway_freq)

    def centre(self, t: float) -> np.ndarray:
        return self.start + self.velocity * t + 0.5 * self.accel * t * t + self.sway * np.sin(self.sway_freq * t)

    def angle(self, t: float) -> float:
        return float(self.angle0 + self.spin * t)

    def size(self, t: float) -> float:
        return float(self.size0 * np.exp(self.growth * t))

    def to_local(self, su: np.ndarray, sv: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray, float]:
        """Object coordinates of screen points at time ``t``, and the object units per screen unit."""
        c, a, s = self.centre(t), self.angle(t), self.size(t)
        du, dv = su - c[0], sv - c[1]
        ca, sa = np.cos(-a), np.sin(-a)
        return ((ca * du - sa * dv) / s).astype(np.float32), ((sa * du + ca * dv) / s).astype(np.float32), 1.0 / s
