"""YouTubeVIS 2019 video instance masks, for the segmentation windows (trimap from the mask's edges)."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ftpvm_core.train.augment import random_trimap, segmentation_augmentation
from ftpvm_core.train.datasets.common import (DatasetLayoutError, far_frame_indices, pack, read_clip, require_dir,
                                              require_file, sample_rng)

YTVIS_LAYOUT = ("YoutubeVIS/train/{JPEGImages/<video>/<frame>.jpg, instances.json (YouTubeVIS 2019: videos with "
                "file_names, height, width; annotations with video_id and per-frame RLE segmentations)}")


def decode_rle(rle: dict, height: int, width: int) -> np.ndarray:
    """A COCO run-length mask (counts as a list, or the compressed string form) as uint8 (H, W) in {0, 255}."""
    counts = rle["counts"]
    if isinstance(counts, str):
        counts = _uncompress_counts(counts)
    values = np.repeat(np.arange(len(counts), dtype=np.uint8) % 2, np.asarray(counts, dtype=np.int64))
    mask = np.zeros(height * width, dtype=np.uint8)
    n = min(len(values), mask.size)
    mask[:n] = values[:n] * 255
    return mask.reshape(width, height).T  # column-major


def _uncompress_counts(s: str) -> list[int]:
    """COCO's compressed RLE string: 5-bit groups with a continuation bit, sign-extended, delta to counts[i-2]."""
    counts: list[int] = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


class YouTubeVISDataset(Dataset):
    """Clips of ``seq_len`` frames of one instance's mask; frames at speeds 0.5, 1 or 2."""

    salt = 2019
    speeds = (0.5, 1, 2)

    def __init__(self, root: str | Path, size: int, seq_len: int, seed: int = 0):
        root = Path(root)
        self.image_dir = require_dir(root / "JPEGImages", YTVIS_LAYOUT)
        ann_path = require_file(root / "instances.json", YTVIS_LAYOUT)
        try:
            data = json.loads(ann_path.read_text())
            masks: dict[int, list] = defaultdict(list)
            for ann in data["annotations"]:
                masks[ann["video_id"]].append(ann["segmentations"])
            self.videos = {v["id"]: v for v in data["videos"] if v["id"] in masks}
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise DatasetLayoutError(ann_path, f"not YouTubeVIS annotations ({type(e).__name__}: {e})",
                                     YTVIS_LAYOUT) from None
        if not self.videos:
            raise DatasetLayoutError(ann_path, "has no annotated videos", YTVIS_LAYOUT)
        self.masks = dict(masks)
        self.index = [(vid, f) for vid, v in self.videos.items() for f in range(len(v["file_names"]))]
        self.size, self.seq_len, self.seed = size, seq_len, seed

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, key: int) -> dict[str, torch.Tensor]:
        rng = sample_rng(self.seed, self.salt, key)
        vid, first = self.index[key % len(self)]
        video = self.videos[vid]
        h, w, names = video["height"], video["width"], video["file_names"]
        instance = self.masks[vid][int(rng.integers(len(self.masks[vid])))]
        frames = [(first + o) % len(names) for o in far_frame_indices(self.seq_len, rng, self.speeds)]
        imgs = read_clip([self.image_dir / names[f] for f in frames], 3)
        segs = np.stack([np.zeros((h, w), np.uint8) if instance[f] is None else decode_rle(instance[f], h, w)
                         for f in frames])
        if segs.shape[1:] != tuple(imgs.shape[-2:]):
            raise DatasetLayoutError(self.image_dir / names[frames[0]], f"image size {tuple(imgs.shape[-2:])} differs "
                                     f"from the annotation's {(h, w)}", YTVIS_LAYOUT)
        imgs, segs = segmentation_augmentation(imgs, torch.from_numpy(segs)[:, None], self.size, rng)
        return pack(imgs, segs, random_trimap(segs, rng))
