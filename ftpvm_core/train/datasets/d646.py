"""Distinctions646 image matting, moved into clips by the motion augmentation and composited over backgrounds."""
from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import Dataset

from ftpvm_core.train.augment import IMAGE_MATTE_AUGMENTATION
from ftpvm_core.train.datasets.bg20k import BackgroundImages, BackgroundVideos, background_clip
from ftpvm_core.train.datasets.common import (DatasetLayoutError, far_frame_indices, list_images, matting_clip,
                                              read_image, sample_rng)

D646_LAYOUT = "Distinctions646/Train/{FG,GT}/<name>.png (the same file names in both; GT a greyscale alpha)"


class ImageMatteDataset(Dataset):
    """Clips of ``seq_len`` frames of one still foreground (FG + GT alpha) over a background clip."""

    salt = 646

    def __init__(self, root: str | Path, background_videos: str | Path, background_images: BackgroundImages | None,
                 size: int, seq_len: int, seed: int = 0):
        root = Path(root)
        fgs = {p.stem: p for p in list_images(root / "FG", D646_LAYOUT)}
        gts = {p.stem: p for p in list_images(root / "GT", D646_LAYOUT)}
        missing = sorted(set(fgs) - set(gts))
        if missing:
            raise DatasetLayoutError(root / "GT", f"no alpha for {len(missing)} foreground(s), e.g. {missing[0]}",
                                     D646_LAYOUT)
        self.pairs = [(fgs[k], gts[k]) for k in sorted(fgs)]
        self.backgrounds, self.background_images = BackgroundVideos(background_videos), background_images
        self.size, self.seq_len, self.seed = size, seq_len, seed

    def __len__(self) -> int:
        n_bg = len(self.backgrounds) + (len(self.background_images) if self.background_images else 0)
        return max(len(self.pairs), n_bg)

    def __getitem__(self, key: int) -> dict[str, torch.Tensor]:
        rng = sample_rng(self.seed, self.salt, key)
        fg_path, gt_path = self.pairs[(key % len(self)) % len(self.pairs)]
        bg = background_clip(self.backgrounds, self.background_images, far_frame_indices(self.seq_len, rng), rng)
        rgb, alpha = read_image(fg_path, 3), read_image(gt_path, 1)
        if rgb.shape[:2] != alpha.shape[:2]:
            raise DatasetLayoutError(gt_path, f"alpha size {alpha.shape[:2]} differs from its foreground's "
                                     f"{rgb.shape[:2]}", D646_LAYOUT)
        fg = torch.from_numpy(rgb).permute(2, 0, 1)
        fga = torch.cat([fg, torch.from_numpy(alpha).permute(2, 0, 1)], 0)[None].expand(self.seq_len, -1, -1, -1)
        return matting_clip(fga, bg, self.size, IMAGE_MATTE_AUGMENTATION, rng)
