"""Shared pieces of the training datasets: layout errors, image reading, per-sample randomness, clip assembly."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ftpvm_core.train.augment import MattingAugmentation, random_trimap, resized_crop

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".bmp", ".webp")


class DatasetLayoutError(ValueError):
    """A dataset folder is missing or not in the expected layout. The message names both, on one line."""

    def __init__(self, folder: str | os.PathLike, problem: str, layout: str):
        self.folder, self.problem, self.layout = str(folder), problem, layout
        super().__init__(f"{folder}: {problem}; expected layout: {layout}")


def require_dir(path: Path, layout: str) -> Path:
    if not path.is_dir():
        raise DatasetLayoutError(path, "folder not found", layout)
    return path


def require_file(path: Path, layout: str) -> Path:
    if not path.is_file():
        raise DatasetLayoutError(path, "file not found", layout)
    return path


def list_images(folder: Path, layout: str, *, allow_empty: bool = False) -> list[Path]:
    """Sorted image files of ``folder`` (raises a layout error if the folder is missing or has none)."""
    require_dir(folder, layout)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files and not allow_empty:
        raise DatasetLayoutError(folder, "no images in folder", layout)
    return files


def read_image(path: str | os.PathLike, channels: int) -> np.ndarray:
    """Read an image as uint8 (H, W, channels), alpha un-premultiplied; greyscale is repeated, alpha defaults to 1."""
    from ftpvm_core.imaging.io import read_unassociated

    px = read_unassociated(path, "uint8")
    nch = px.shape[2]
    if channels == 1:  # a matte: grey as is, colour as luma
        if nch < 3:
            return np.ascontiguousarray(px[..., :1])
        luma = px[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return np.clip(np.round(luma), 0, 255).astype(np.uint8)[..., None]
    if nch < 3:
        rgb = np.repeat(px[..., :1], 3, axis=2)
        alpha = px[..., 1:2] if nch == 2 else np.full_like(px[..., :1], 255)
    else:
        rgb, alpha = px[..., :3], px[..., 3:4] if nch >= 4 else np.full_like(px[..., :1], 255)
    return np.ascontiguousarray(rgb if channels == 3 else np.concatenate([rgb, alpha], axis=2))


def read_clip(paths: Sequence[str | os.PathLike], channels: int) -> torch.Tensor:
    """Read frames into a uint8 (T, C, H, W) tensor (channels-last in memory: cropping and resizing are fastest so)."""
    return torch.from_numpy(np.stack([read_image(p, channels) for p in paths])).permute(0, 3, 1, 2)


def sample_rng(seed: int, salt: int, key: int) -> np.random.Generator:
    """The generator of one sample: a function of (seed, dataset, key) only."""
    return np.random.default_rng([seed & 0xFFFFFFFF, salt, key])


def far_frame_indices(seq_len: int, rng: np.random.Generator, speeds: Sequence[float] = (0.5, 1, 2, 3, 4, 5),
                      far_mult: Sequence[int] = (1, 2, 4, 8, 16)) -> list[int]:
    """Relative frame offsets: seq_len-1 neighbours at a random speed, shift and direction, plus a memory frame
    placed a random multiple of the step further away (first in the list)."""
    n = seq_len - 1
    speed = speeds[int(rng.integers(len(speeds)))]
    frames = [int(f * speed) for f in range(n)]
    shift = int(rng.integers(max(n, 1)))
    frames = [f + shift for f in frames]
    if rng.random() < 0.5:
        frames = frames[::-1]
    step = frames[0] - frames[1] if n > 1 else 1
    return [frames[0] + step * far_mult[int(rng.integers(len(far_mult)))]] + frames


def to_sample(fg: torch.Tensor, pha: torch.Tensor, bg: torch.Tensor,
              rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """Composite an augmented clip and draw its trimaps. 10% of clips get a memory frame without foreground."""
    if rng.random() < 0.1:
        fg, pha = fg.clone(), pha.clone()
        fg[0] = 0
        pha[0] = 0
    rgb = fg * pha + bg * (1 - pha)
    trimap = random_trimap(pha, rng)
    return pack(rgb, pha, trimap)


def pack(rgb: torch.Tensor, gt: torch.Tensor, trimap: torch.Tensor) -> dict[str, torch.Tensor]:
    """Compact transfer format: rgb/gt float16, trimap uint8 0/1/2 (see :func:`unpack`)."""
    return {"rgb": rgb.clamp(0, 1).half(), "gt": gt.clamp(0, 1).half(), "trimap": (trimap * 2).round().to(torch.uint8)}


def unpack(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """Batch on ``device`` as float32: rgb (B,T,3,H,W), gt (B,T,1,H,W), trimap (B,T,1,H,W) in {0, 0.5, 1}."""
    return {"rgb": batch["rgb"].to(device, non_blocking=True).float(),
            "gt": batch["gt"].to(device, non_blocking=True).float(),
            "trimap": batch["trimap"].to(device, non_blocking=True).float() * 0.5}


def matting_clip(fg_rgba: torch.Tensor, bg: torch.Tensor, size: int, aug: MattingAugmentation,
                 rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """uint8 fg (T,4,H,W) and bg (T,3,H',W') -> an augmented, composited training clip at ``size``."""
    fgp = resized_crop(fg_rgba, size, rng).float() / 255
    bg = resized_crop(bg, size, rng).float() / 255
    fg, pha, bg = aug(fgp[:, :3], fgp[:, 3:], bg, rng)
    return to_sample(fg, pha, bg, rng)
