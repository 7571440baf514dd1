"""Training clips from the wide procedural source (:mod:`ftpvm_core.train.procedural`), training families only.

Unlike ``--dataset synthetic`` the clips are not passed through the recipe's layer augmentation: the generator
already moves the camera and the objects and adds the capture effects, and an occluder in front of the matte cannot
be moved as a separate layer. A clip is ``seq_len`` frames: the keyframe (memory) placed 1-8 steps (at most 16
frames) away from its neighbours (before or after them), then the neighbours at a random speed.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ftpvm_core.train.augment import random_trimap
from ftpvm_core.train.datasets.common import pack, sample_rng
from ftpvm_core.train.procedural.shot import make_procedural_shot

_SHOTS_PER_EPOCH = 10_000


def clip_times(rng: np.random.Generator, seq_len: int) -> np.ndarray:
    """Frame times of a clip: memory frame first, then ``seq_len - 1`` neighbours."""
    step = float(rng.choice([0.5, 1.0, 1.5, 2.0]))
    gap = step * float(rng.choice([1, 2, 4, 8]))
    neighbours = gap + step * np.arange(seq_len - 1)
    if rng.random() < 0.3:  # the keyframe comes after the frames
        return np.concatenate([[neighbours[-1] + gap], neighbours[::-1] + 0.0])
    return np.concatenate([[0.0], neighbours])


class ProceduralMatteDataset(Dataset):
    """Matting clips; ``still`` freezes the objects' deformation (image-matting clips)."""

    def __init__(self, size: int, seq_len: int, seed: int = 0, still: bool = False, length: int = _SHOTS_PER_EPOCH):
        self.size, self.seq_len, self.seed, self.still, self.length = size, seq_len, seed, still, length
        self.salt = 7101 if still else 7102

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: int) -> dict[str, torch.Tensor]:
        rng = sample_rng(self.seed, self.salt, key)
        shot = make_procedural_shot(rng, self.size, self.size, clip_times(rng, self.seq_len), still=self.still)
        rgb = torch.from_numpy(shot.plates_srgb).permute(0, 3, 1, 2).contiguous()
        return pack(rgb, torch.from_numpy(shot.alpha)[:, None], torch.from_numpy(shot.trimaps)[:, None])


class ProceduralSegmentationDataset(Dataset):
    """Segmentation clips (mask = alpha > 0.5, trimaps with a random band) from procedural shots."""

    salt = 7103

    def __init__(self, size: int, seq_len: int, seed: int = 0, length: int = _SHOTS_PER_EPOCH):
        self.size, self.seq_len, self.seed, self.length = size, seq_len, seed, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: int) -> dict[str, torch.Tensor]:
        rng = sample_rng(self.seed, self.salt, key)
        shot = make_procedural_shot(rng, self.size, self.size, clip_times(rng, self.seq_len))
        rgb = torch.from_numpy(shot.plates_srgb).permute(0, 3, 1, 2).contiguous()
        seg = (torch.from_numpy(shot.alpha)[:, None] > 0.5).float()
        return pack(rgb, seg, random_trimap(seg, rng))
