"""Assemble a procedural shot: a background family, one to several foreground objects, an optional occluder that is
not part of the matte, camera and object motion, capture effects, and trimaps of one trimap family.

    >>> from ftpvm_core.train.procedural.shot import make_procedural_shot
    >>> shot = make_procedural_shot(0, 128, 160, 8)   # training families only, chosen from the seed
    >>> shot.plates_srgb.shape, shot.alpha.shape, shot.recipe.background
    ((8, 128, 160, 3), (8, 128, 160), ...)

Compositing is in scene-linear light: objects back to front with the *over* operator, the matte is everything but
the background (an occluder in front cuts it). Deterministic in the seed (or generator) and the arguments.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ftpvm_core.synthetic import srgb_encode
from ftpvm_core.train.procedural import registry
from ftpvm_core.train.procedural.capture import Capture, add_noise, blur, compress
from ftpvm_core.train.procedural.motion import Camera, Trajectory
from ftpvm_core.train.procedural.raster import LatticeNoise, random_colours


@dataclass(frozen=True)
class ShotRecipe:
    """Which families make a shot (names of :mod:`ftpvm_core.train.procedural.registry`)."""

    background: str
    foregrounds: tuple[str, ...]
    trimap: str
    occluder: bool = False


@dataclass(frozen=True)
class ProceduralShot:
    """Layers and plates of a shot (numpy float32; linear unless ``_srgb``); see :class:`ftpvm_core.synthetic.
    SyntheticShot` for the meaning of the shared fields."""

    recipe: ShotRecipe
    times: np.ndarray
    plates_linear: np.ndarray  # (T, H, W, 3)
    plates_srgb: np.ndarray  # (T, H, W, 3), after compression artefacts
    alpha: np.ndarray  # (T, H, W)
    foreground: np.ndarray  # (T, H, W, 3), unpremultiplied, 0 where alpha is 0
    background: np.ndarray  # (T, H, W, 3)
    trimaps: np.ndarray  # (T, H, W)


def choose_recipe(rng: np.random.Generator, backgrounds: Sequence[str] | None = None,
                  foregrounds: Sequence[str] | None = None, trimaps: Sequence[str] | None = None,
                  occluder_prob: float = 0.12) -> ShotRecipe:
    """A random recipe; families default to :func:`registry.training_families` (never a held-out one)."""
    bgs = tuple(backgrounds or registry.training_families("background"))
    fgs = tuple(foregrounds or registry.training_families("foreground"))
    tris = tuple(trimaps or registry.training_families("trimap"))
    n = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1]))
    return ShotRecipe(bgs[int(rng.integers(len(bgs)))], tuple(fgs[int(i)] for i in rng.integers(0, len(fgs), n)),
                      tris[int(rng.integers(len(tris)))], bool(rng.random() < occluder_prob))


class _Appearance:
    """Colour of an object in its own coordinates: flat and shaded, a texture family, or the shot's background
    texture itself (objects that share the background's colours and patterns)."""

    def __init__(self, rng: np.random.Generator, background_texture, texture_families: Sequence[str]):
        mode = rng.choice(3, p=[0.45, 0.35, 0.2])
        self.offset = rng.uniform(-3, 3, 2)
        if mode == 0:
            colour = random_colours(rng, 1)[0]
            noise, amount = LatticeNoise(rng), rng.uniform(0, 0.6)
            self.tex = lambda u, v: colour * (1 - amount + 2 * amount * noise(u * 2, v * 2))[..., None]
        elif mode == 1:
            name = texture_families[int(rng.integers(len(texture_families)))]
            self.tex = registry.get("background", name).make(rng)
        else:
            self.tex = background_texture

    def __call__(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return self.tex(u + self.offset[0], v + self.offset[1])


@dataclass
class _Object:
    shape: object
    trajectory: Trajectory
    appearance: _Appearance

    def layer(self, su: np.ndarray, sv: np.ndarray, t: float, deform_t: float, px: float):
        lu, lv, per_unit = self.trajectory.to_local(su, sv, t)
        a = self.shape(lu, lv, deform_t, px * per_unit)
        size = self.trajectory.size(t)
        return a, self.appearance(lu * size, lv * size)


def _objects(rng: np.random.Generator, recipe: ShotRecipe, aspect: float, bg_tex, texture_families, t_end: float,
             ) -> tuple[list[_Object], _Object | None]:
    objects = []
    for i, name in enumerate(recipe.foregrounds):
        shape = registry.get("foreground", name).make(rng)
        size = rng.uniform(0.18, 0.42) / (1 + 0.3 * i)
        moving = i > 0 and rng.random() < 0.35  # the first object starts in frame (the keyframe sees it)
        traj = Trajectory.random(rng, aspect, size, enter_or_leave=moving)
        if moving and rng.random() < 0.5:
            traj = traj.reverse_in_time(t_end)
        elif i == 0:
            traj.start = traj.start * 0.6
        objects.append(_Object(shape, traj, _Appearance(rng, bg_tex, texture_families)))
    occluder = None
    if recipe.occluder:
        shape = registry.get("foreground", ("polygon", "blob")[int(rng.integers(2))]).make(rng)
        traj = Trajectory.random(rng, aspect, rng.uniform(0.1, 0.3), enter_or_leave=True)
        occluder = _Object(shape, traj, _Appearance(rng, bg_tex, texture_families))
    return objects, occluder


def make_procedural_shot(seed: int | np.random.Generator, height: int, width: int,
                         times: int | Sequence[float], recipe: ShotRecipe | None = None, *,
                         capture: Capture | None = None, camera: Camera | None = None, still: bool = False,
                         texture_families: Sequence[str] | None = None) -> ProceduralShot:
    """A shot at ``times`` (a frame count, or fractional frame times; the first is the keyframe).

    ``recipe`` defaults to a random one of the training families; ``capture`` / ``camera`` to random ones;
    ``still`` freezes the objects' deformation (image-matting clips); ``texture_families`` are what objects may
    be textured with (default: the training background families).
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if height < 8 or width < 8:
        raise ValueError(f"a procedural shot needs at least 8x8 pixels, got {height}x{width}")
    times = np.arange(times, dtype=np.float64) if isinstance(times, (int, np.integer)) else np.asarray(times, float)
    if times.ndim != 1 or len(times) < 1:
        raise ValueError("times must be a frame count >= 1 or a non-empty list of frame times")
    recipe = recipe or choose_recipe(rng)
    texture_families = tuple(texture_families or registry.training_families("background"))
    capture = Capture.random(rng) if capture is None else capture
    camera = Camera.random(rng) if camera is None else camera
    bg_tex = registry.get("background", recipe.background).make(rng)
    objects, occluder = _objects(rng, recipe, width / height, bg_tex, texture_families, float(times.max()))

    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    su, sv = (xx + 0.5 - width / 2) / height, (yy + 0.5 - height / 2) / height
    px = 1.0 / height
    subs = np.linspace(-0.5, 0.5, 4) * capture.shutter if capture.shutter > 0 else np.zeros(1)

    T = len(times)
    bgs = np.zeros((T, height, width, 3), np.float32)
    premult = np.zeros_like(bgs)
    alpha = np.zeros((T, height, width), np.float32)
    occ_premult, occ_alpha = np.zeros_like(bgs), np.zeros_like(alpha)
    for k, t in enumerate(times):
        bu, bv, zoom = camera.to_scene(su, sv, float(t))
        bgs[k] = bg_tex(bu, bv)
        for dt in subs:
            ts = float(t + dt)
            a_acc, p_acc = np.zeros((height, width), np.float32), np.zeros((height, width, 3), np.float32)
            for obj in objects:  # back to front
                a, col = obj.layer(su, sv, ts, float(times[0]) if still else ts, px)
                p_acc = a[..., None] * col + (1 - a[..., None]) * p_acc
                a_acc = a + (1 - a) * a_acc
            alpha[k] += a_acc / len(subs)
            premult[k] += p_acc / len(subs)
            if occluder is not None:
                a, col = occluder.layer(su, sv, ts, ts, px)
                occ_alpha[k] += a / len(subs)
                occ_premult[k] += a[..., None] * col / len(subs)

    gains = capture.light(times, rng)[:, None, None, :]
    bgs, premult, occ_premult = bgs * gains, premult * gains, occ_premult * gains
    back = blur(bgs, capture.bg_defocus)
    plates = occ_premult + (1 - occ_alpha[..., None]) * (premult + (1 - alpha[..., None]) * back)
    matte = np.clip((1 - occ_alpha) * alpha, 0, 1)
    plates = add_noise(blur(plates, capture.plate_blur), capture.noise, capture.shot_noise, rng)
    plates = np.clip(plates, 0, None).astype(np.float32)
    srgb = compress(srgb_encode(plates), capture.jpeg_quality)
    with np.errstate(divide="ignore", invalid="ignore"):
        fg = np.where(alpha[..., None] > 1e-4, premult / alpha[..., None], 0.0).astype(np.float32)
    tri = registry.get("trimap", recipe.trimap).make(rng, matte)
    return ProceduralShot(recipe, times, plates, srgb, matte.astype(np.float32), fg, back.astype(np.float32),
                          tri.astype(np.float32))
