"""Evaluation clips: a VideoMatting108 validation split, or any folder of frames with alpha ground truth."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ftpvm_core.imaging.io import read_unassociated
from ftpvm_core.train.augment import structuring_element, trimap_from_alpha
from ftpvm_core.train.datasets.common import DatasetLayoutError, list_images

FOLDER_LAYOUT = ("<root>/<clip>/{rgb|com|image|frames}/<frame>.png and <root>/<clip>/{pha|alpha}/<frame>.png "
                 "(optional <root>/<clip>/trimap/<frame>.png; frames matched in sorted order)")
VM108_VAL_LAYOUT = ("VideoMatting108/{FG_done/<clip>/<frame>.png (RGBA), BG_done/<clip>/<frame>.jpg, "
                    "val_videos.txt, frame_corr.json (<clip>/<frame>.png -> <bg clip>/<frame>.jpg)}")


def read_float(path: str | Path) -> tuple[np.ndarray, int]:
    """(H, W, C) float32 in [0, 1] (alpha un-premultiplied) and the channel count."""
    px = read_unassociated(path, "float").astype(np.float32, copy=False)
    return px, px.shape[2]


def _rgb(px: np.ndarray) -> np.ndarray:
    return np.repeat(px[..., :1], 3, axis=2) if px.shape[2] < 3 else px[..., :3]


def _matte(px: np.ndarray) -> np.ndarray:
    return px[..., 0] if px.shape[2] < 3 else px[..., :3] @ np.array([0.299, 0.587, 0.114], np.float32)


def _resize(a: np.ndarray, height: int | None) -> np.ndarray:
    if height is None or a.shape[0] == height:
        return a
    width = max(1, round(a.shape[1] * height / a.shape[0]))
    t = torch.from_numpy(np.ascontiguousarray(a))
    t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
    t = F.interpolate(t, size=(height, width), mode="bilinear", align_corners=False, antialias=True)[0]
    return (t[0] if a.ndim == 2 else t.permute(1, 2, 0)).numpy()


@dataclass
class EvalClip:
    """One clip: sRGB frames in [0, 1], true alphas, and trimaps (given, or made from the truth)."""

    name: str
    num_frames: int
    image_paths: list[Path] = field(default_factory=list)
    alpha_paths: list[Path] = field(default_factory=list)
    trimap_paths: list[Path] | None = None
    background_paths: list[Path] | None = None  # VM108: composite the RGBA foreground over these
    trimap_kernel: int = 25
    height: int | None = None

    def frame(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(image (H, W, 3), alpha (H, W)), float32 in [0, 1]."""
        px, n = read_float(self.image_paths[i])
        if self.background_paths is not None:
            alpha = px[..., 3] if n >= 4 else np.ones(px.shape[:2], np.float32)
            bg = _rgb(read_float(self.background_paths[i])[0])
            if bg.shape[:2] != px.shape[:2]:
                bg = _resize_to(bg, px.shape[:2])
            image = _rgb(px) * alpha[..., None] + bg * (1 - alpha[..., None])
        else:
            image, alpha = _rgb(px), _matte(read_float(self.alpha_paths[i])[0])
            if alpha.shape != image.shape[:2]:
                raise DatasetLayoutError(self.alpha_paths[i], f"alpha size {alpha.shape} differs from its frame's "
                                         f"{image.shape[:2]}", FOLDER_LAYOUT)
        return (np.clip(_resize(image, self.height), 0, 1).astype(np.float32),
                np.clip(_resize(alpha, self.height), 0, 1).astype(np.float32))

    def trimap(self, i: int, alpha: np.ndarray) -> np.ndarray:
        """The trimap of frame ``i`` in {0, 0.5, 1}: the given one, else from the truth (disc of trimap_kernel px)."""
        if self.trimap_paths is not None:
            t = _matte(read_float(self.trimap_paths[i])[0])
            t = _resize(t, self.height) if t.shape != alpha.shape else t
            return np.where(t > 0.99, 1.0, np.where(t < 0.01, 0.0, 0.5)).astype(np.float32)
        a = torch.from_numpy(alpha)[None, None]
        return trimap_from_alpha(a, structuring_element(self.trimap_kernel, 2))[0, 0].numpy()


def _resize_to(a: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None]
    return F.interpolate(t, size=hw, mode="bilinear", align_corners=False)[0].permute(1, 2, 0).numpy()


def vm108_validation_clips(root: Path, split: str = "val", trimap_kernel: int = 25,
                           height: int | None = None) -> list[EvalClip]:
    """The clips of ``<split>_videos.txt``, composited over their backgrounds as ``frame_corr.json`` says."""
    listing = root / f"{split}_videos.txt"
    if not listing.is_file():
        raise DatasetLayoutError(listing, "file not found", VM108_VAL_LAYOUT)
    corr_path = root / "frame_corr.json"
    if not corr_path.is_file():
        raise DatasetLayoutError(corr_path, "file not found", VM108_VAL_LAYOUT)
    try:
        corr = json.loads(corr_path.read_text())
    except json.JSONDecodeError as e:
        raise DatasetLayoutError(corr_path, f"not valid JSON ({e.msg})", VM108_VAL_LAYOUT) from None
    clips = []
    for name in [ln.strip() for ln in listing.read_text().splitlines() if ln.strip()]:
        frames = list_images(root / "FG_done" / name, VM108_VAL_LAYOUT)
        bgs = []
        for f in frames:
            key = f"{name}/{f.name}"
            if key not in corr:
                raise DatasetLayoutError(corr_path, f"no background frame for {key}", VM108_VAL_LAYOUT)
            bg = root / "BG_done" / corr[key]
            if not bg.is_file() and bg.with_suffix(".png").is_file():
                bg = bg.with_suffix(".png")
            if not bg.is_file():
                raise DatasetLayoutError(bg, "background frame not found", VM108_VAL_LAYOUT)
            bgs.append(bg)
        clips.append(EvalClip(name, len(frames), frames, [], None, bgs, trimap_kernel, height))
    return clips


def _first_dir(clip: Path, names: tuple[str, ...]) -> Path | None:
    return next((clip / n for n in names if (clip / n).is_dir()), None)


def folder_clips(root: Path, trimap_kernel: int = 25, height: int | None = None) -> list[EvalClip]:
    """Every sub-folder of ``root`` holding frames and alphas (see :data:`FOLDER_LAYOUT`)."""
    if not root.is_dir():
        raise DatasetLayoutError(root, "folder not found", FOLDER_LAYOUT)
    clips = []
    for clip in sorted(p for p in root.iterdir() if p.is_dir()):
        img_dir = _first_dir(clip, ("rgb", "com", "image", "frames"))
        pha_dir = _first_dir(clip, ("pha", "alpha"))
        if img_dir is None or pha_dir is None:
            continue
        images, alphas = list_images(img_dir, FOLDER_LAYOUT), list_images(pha_dir, FOLDER_LAYOUT)
        if len(images) != len(alphas):
            raise DatasetLayoutError(pha_dir, f"{len(alphas)} alphas for {len(images)} frames", FOLDER_LAYOUT)
        tri_dir = clip / "trimap"
        trimaps = list_images(tri_dir, FOLDER_LAYOUT) if tri_dir.is_dir() else None
        if trimaps is not None and len(trimaps) != len(images):
            raise DatasetLayoutError(tri_dir, f"{len(trimaps)} trimaps for {len(images)} frames", FOLDER_LAYOUT)
        clips.append(EvalClip(clip.name, len(images), images, alphas, trimaps, None, trimap_kernel, height))
    if not clips:
        raise DatasetLayoutError(root, "no clip folders with frames and alphas", FOLDER_LAYOUT)
    return clips


def discover_clips(root: str | Path, trimap_kernel: int = 25, height: int | None = None,
                   split: str = "val") -> tuple[str, list[EvalClip]]:
    """(kind, clips): a VideoMatting108 root (or its parent), else a folder of clips."""
    root = Path(root)
    for cand in (root, root / "VideoMatting108"):
        if (cand / "FG_done").is_dir() and (cand / f"{split}_videos.txt").exists():
            return "VideoMatting108", vm108_validation_clips(cand, split, trimap_kernel, height)
    return "folder", folder_clips(root, trimap_kernel, height)
