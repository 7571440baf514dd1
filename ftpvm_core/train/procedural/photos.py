"""Real photographs that ship inside installable packages (the ``train`` extra), with their licences.

Nothing is downloaded: a photograph is used only when its package is installed and the file is inside it. Without
the packages the ``photo`` background family is unavailable and training skips it with a warning
(:func:`ftpvm_core.train.procedural.registry.training_families`).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Photo:
    package: str
    path: str  # inside the package
    title: str
    licence: str


PHOTOS: tuple[Photo, ...] = (
    Photo("skimage", "data/astronaut.png", "astronaut Eileen Collins (NASA)", "public domain (NASA)"),
    Photo("skimage", "data/camera.png", "cameraman (Lav Varshney)", "CC0"),
    Photo("skimage", "data/chelsea.png", "Chelsea the cat (Stefan van der Walt)", "CC0"),
    Photo("skimage", "data/coffee.png", "coffee cup (Rachel Michetti)", "CC0"),
    Photo("skimage", "data/rocket.jpg", "Falcon 9 rocket (SpaceX)", "public domain (SpaceX)"),
    Photo("skimage", "data/hubble_deep_field.jpg", "Hubble deep field (NASA)", "public domain (NASA)"),
    Photo("skimage", "data/brick.png", "brick wall (CC0Textures)", "CC0"),
    Photo("skimage", "data/grass.png", "grass (linolafett, DeviantArt)", "CC0"),
    Photo("skimage", "data/gravel.png", "gravel (CC0Textures)", "CC0"),
    Photo("sklearn", "datasets/images/china.jpg", "china (danielbuechele, Flickr)", "CC BY 2.0"),
    Photo("sklearn", "datasets/images/flower.jpg", "flower (vultilion, Flickr)", "CC BY 2.0"),
)

MAX_SIDE = 512  # photographs are stored downscaled to this (they are sampled at <= 320 px)


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


@lru_cache(maxsize=1)
def available_photos() -> tuple[tuple[Photo, Path], ...]:
    """The photographs whose package is installed and holds the file."""
    found = []
    for photo in PHOTOS:
        root = _package_dir(photo.package)
        if root is not None and (root / photo.path).is_file():
            found.append((photo, root / photo.path))
    return tuple(found)


@lru_cache(maxsize=len(PHOTOS))
def load_linear(index: int) -> np.ndarray:
    """Photograph ``index`` of :func:`available_photos` as linear RGB float32 (h, w, 3), at most MAX_SIDE px."""
    import torch
    import torch.nn.functional as F

    from ftpvm_core.imaging.io import read_unassociated
    from ftpvm_core.synthetic import srgb_decode

    px = read_unassociated(available_photos()[index][1], "float").astype(np.float32)
    rgb = np.repeat(px[..., :1], 3, 2) if px.shape[2] < 3 else px[..., :3]
    h, w = rgb.shape[:2]
    s = MAX_SIDE / max(h, w)
    if s < 1:
        t = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None]
        t = F.interpolate(t, size=(round(h * s), round(w * s)), mode="bilinear", antialias=True, align_corners=False)
        rgb = t[0].permute(1, 2, 0).numpy()
    return srgb_decode(rgb)
