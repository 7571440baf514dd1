"""VideoMatting108: RGBA foreground videos (``FG_done``) composited over background videos (``BG_done``)."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch.utils.data import Dataset

from ftpvm_core.train.augment import VIDEO_MATTE_AUGMENTATION
from ftpvm_core.train.datasets.bg20k import BackgroundImages, BackgroundVideos, background_clip
from ftpvm_core.train.datasets.common import (DatasetLayoutError, far_frame_indices, list_images, matting_clip,
                                              read_clip, require_file, sample_rng)

VM108_LAYOUT = ("VideoMatting108/{FG_done/<clip>/<frame>.png (RGBA: colour + alpha), BG_done/<clip>/<frame>.jpg, "
                "train_videos.txt and val_videos.txt (one FG_done clip a line), frame_corr.json (val only: "
                "FG frame -> BG frame)}")


def read_clip_list(root: Path, split: str) -> list[str]:
    """The clip names listed in ``<split>_videos.txt``."""
    path = require_file(root / f"{split}_videos.txt", VM108_LAYOUT)
    clips = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not clips:
        raise DatasetLayoutError(path, "lists no clips", VM108_LAYOUT)
    return clips


def clip_frames(root: Path, clips: list[str]) -> list[list[Path]]:
    """Sorted frame files of each FG_done clip."""
    out = []
    for clip in clips:
        frames = list_images(root / "FG_done" / clip, VM108_LAYOUT)
        out.append(frames)
    return out


def read_frame_correspondence(root: Path) -> dict[str, str]:
    """frame_corr.json: ``<clip>/<fg frame>`` -> ``<bg clip>/<bg frame>``."""
    path = require_file(root / "frame_corr.json", VM108_LAYOUT)
    try:
        corr = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise DatasetLayoutError(path, f"not valid JSON ({e.msg})", VM108_LAYOUT) from None
    if not isinstance(corr, dict):
        raise DatasetLayoutError(path, "is not a JSON object", VM108_LAYOUT)
    return corr


class VideoMatteDataset(Dataset):
    """Clips of ``seq_len`` frames (far memory frame + neighbours) from the training videos."""

    salt = 108

    def __init__(self, root: str | Path, background_images: BackgroundImages | None, size: int, seq_len: int,
                 seed: int = 0, split: str = "train"):
        root = Path(root)
        self.clips = read_clip_list(root, split)
        self.frames = clip_frames(root, self.clips)
        self.backgrounds = BackgroundVideos(root / "BG_done")
        self.background_images = background_images
        self.index = [(c, f) for c, frames in enumerate(self.frames) for f in range(0, len(frames), seq_len)]
        self.size, self.seq_len, self.seed = size, seq_len, seed

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key: int) -> dict[str, torch.Tensor]:
        rng = sample_rng(self.seed, self.salt, key)
        clip, start = self.index[key % len(self)]
        frames = self.frames[clip]
        offsets = far_frame_indices(self.seq_len, rng)
        bg = background_clip(self.backgrounds, self.background_images, far_frame_indices(self.seq_len, rng), rng)
        fga = read_clip([frames[(start + o) % len(frames)] for o in offsets], 4)
        return matting_clip(fga, bg, self.size, VIDEO_MATTE_AUGMENTATION, rng)
