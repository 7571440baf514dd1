"""Procedural training clips from :mod:`ftpvm_core.synthetic` (no folders needed): for tests and demo weights."""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ftpvm_core.synthetic import make_shot, srgb_encode
from ftpvm_core.train.augment import IMAGE_MATTE_AUGMENTATION, VIDEO_MATTE_AUGMENTATION, random_trimap
from ftpvm_core.train.datasets.common import matting_clip, pack, sample_rng

_SHOTS_PER_EPOCH = 10_000


def _shot_layers(rng: np.random.Generator, num_frames: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 fg RGBA (T,4,S,S) and bg (T,3,S,S), sRGB-encoded, of a random procedural shot."""
    shot = make_shot(num_frames=num_frames, height=size, width=size, seed=int(rng.integers(2**31)),
                     strands=int(rng.integers(0, 16)))
    to_u8 = lambda a: torch.from_numpy(np.round(np.clip(a, 0, 1) * 255).astype(np.uint8))  # noqa: E731
    fg = to_u8(srgb_encode(shot.foreground)).permute(0, 3, 1, 2)
    bg = to_u8(srgb_encode(shot.background)).permute(0, 3, 1, 2)
    alpha = to_u8(shot.alpha)[:, None]
    return torch.cat([fg, alpha], 1), bg


class SyntheticMatteDataset(Dataset):
    """Matting clips from procedural shots; ``still`` makes image-matting clips (one foreground frame repeated,
    moved only by the augmentation) like Distinctions646."""

    def __init__(self, size: int, seq_len: int, seed: int = 0, still: bool = False, length: int = _SHOTS_PER_EPOCH):
        self.size, self.seq_len, self.seed, self.still, self.length = size, seq_len, seed, still, length
        self.salt = 7001 if still else 7002

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: int) -> dict[str, torch.Tensor]:
        rng = sample_rng(self.seed, self.salt, key)
        fga, bg = _shot_layers(rng, self.seq_len, self.size)
        if self.still:
            fga = fga[:1].expand(self.seq_len, -1, -1, -1)
        aug = IMAGE_MATTE_AUGMENTATION if self.still else VIDEO_MATTE_AUGMENTATION
        return matting_clip(fga, bg, self.size, aug, rng)


class SyntheticSegmentationDataset(Dataset):
    """Segmentation clips (mask = alpha > 0.5) from procedural shots."""

    salt = 7003

    def __init__(self, size: int, seq_len: int, seed: int = 0, length: int = _SHOTS_PER_EPOCH):
        self.size, self.seq_len, self.seed, self.length = size, seq_len, seed, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, key: int) -> dict[str, torch.Tensor]:
        rng = sample_rng(self.seed, self.salt, key)
        shot = make_shot(num_frames=self.seq_len, height=self.size, width=self.size, seed=int(rng.integers(2**31)))
        rgb = torch.from_numpy(shot.plates_srgb).permute(0, 3, 1, 2).contiguous()
        seg = (torch.from_numpy(shot.alpha)[:, None] > 0.5).float()
        return pack(rgb, seg, random_trimap(seg, rng))
