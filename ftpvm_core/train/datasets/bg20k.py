"""Background sources: BG-20k still images and the VideoMatting108 background videos (``BG_done``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ftpvm_core.train.datasets.common import DatasetLayoutError, list_images, read_clip, require_dir

BG20K_LAYOUT = "BG20k/BG-20k/train/<image>.jpg"
BG_VIDEO_LAYOUT = "VideoMatting108/BG_done/<clip>/<frame>.jpg (one folder of frames per background clip)"


class BackgroundImages:
    """BG-20k: a folder of still background images."""

    def __init__(self, folder: str | Path):
        self.files = list_images(Path(folder), BG20K_LAYOUT)

    def __len__(self) -> int:
        return len(self.files)

    def clip(self, num_frames: int, rng: np.random.Generator) -> torch.Tensor:
        """A random image as a still clip, uint8 (T, 3, H, W)."""
        img = read_clip([self.files[int(rng.integers(len(self.files)))]], 3)
        return img.expand(num_frames, -1, -1, -1)


class BackgroundVideos:
    """Folders of background frames, one folder per clip."""

    def __init__(self, folder: str | Path):
        root = require_dir(Path(folder), BG_VIDEO_LAYOUT)
        self.clips = [list_images(d, BG_VIDEO_LAYOUT, allow_empty=True) for d in sorted(root.iterdir()) if d.is_dir()]
        self.clips = [c for c in self.clips if c]
        if not self.clips:
            raise DatasetLayoutError(root, "no clip folders with frames", BG_VIDEO_LAYOUT)

    def __len__(self) -> int:
        return len(self.clips)

    def clip(self, offsets: list[int], rng: np.random.Generator) -> torch.Tensor:
        """Frames at ``offsets`` from a random start of a random clip, uint8 (T, 3, H, W)."""
        frames = self.clips[int(rng.integers(len(self.clips)))]
        start = int(rng.integers(max(1, len(frames) - len(offsets))))
        return read_clip([frames[(start + o) % len(frames)] for o in offsets], 3)


def background_clip(videos: BackgroundVideos, images: BackgroundImages | None, offsets: list[int],
                    rng: np.random.Generator) -> torch.Tensor:
    """The original's mix: a BG-20k still 20% of the time when images are given, otherwise a video clip."""
    if images is not None and rng.random() < 0.2:
        return images.clip(len(offsets), rng)
    return videos.clip(offsets, rng)
