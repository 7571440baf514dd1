"""Tiny dataset trees in the original layouts for the training tests (a few frames of 80x96 pixels)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
H, W = 80, 96


def write_image(path: Path, px: np.ndarray) -> None:
    import OpenImageIO as oiio

    path.parent.mkdir(parents=True, exist_ok=True)
    px = np.ascontiguousarray(px.astype(np.uint8))
    if px.ndim == 2:
        px = px[..., None]
    spec = oiio.ImageSpec(px.shape[1], px.shape[0], px.shape[2], "uint8")
    spec.attribute("oiio:UnassociatedAlpha", 1)
    out = oiio.ImageOutput.create(str(path))
    assert out is not None, oiio.geterror()
    out.open(str(path), spec)
    out.write_image(px)
    out.close()


def blob_alpha(rng: np.random.Generator, h: int = H, w: int = W) -> np.ndarray:
    """A soft-edged ellipse, uint8."""
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx = rng.uniform(0.35, 0.65) * h, rng.uniform(0.35, 0.65) * w
    d = np.sqrt(((yy - cy) / (0.3 * h)) ** 2 + ((xx - cx) / (0.25 * w)) ** 2)
    return (np.clip((1.15 - d) / 0.3, 0, 1) * 255).round().astype(np.uint8)


def make_bg_videos(folder: Path, clips: int = 2, frames: int = 4, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    for c in range(clips):
        for f in range(frames):
            write_image(folder / f"bg{c:02d}" / f"{f:05d}.jpg", rng.integers(0, 255, (H + 8, W + 16, 3)))


def make_d646(root: Path, n: int = 2) -> None:
    rng = np.random.default_rng(2)
    for i in range(n):
        write_image(root / "Distinctions646" / "Train" / "FG" / f"fg{i}.png", rng.integers(0, 255, (H, W, 3)))
        write_image(root / "Distinctions646" / "Train" / "GT" / f"fg{i}.png", blob_alpha(rng))


def make_vm108(root: Path, clips: int = 2, frames: int = 4) -> None:
    rng = np.random.default_rng(3)
    vm = root / "VideoMatting108"
    names = [f"clip{c}" for c in range(clips)]
    corr = {}
    for name in names:
        for f in range(frames):
            rgba = np.concatenate([rng.integers(0, 255, (H, W, 3)), blob_alpha(rng)[..., None]], axis=2)
            write_image(vm / "FG_done" / name / f"{f:04d}.png", rgba)
            corr[f"{name}/{f:04d}.png"] = f"bg00/{f:05d}.jpg"
    make_bg_videos(vm / "BG_done", frames=frames)
    (vm / "train_videos.txt").write_text("\n".join(names) + "\n")
    (vm / "val_videos.txt").write_text(names[0] + "\n")
    (vm / "frame_corr.json").write_text(json.dumps(corr))


def make_bg20k(root: Path, n: int = 2) -> None:
    rng = np.random.default_rng(4)
    for i in range(n):
        write_image(root / "BG20k" / "BG-20k" / "train" / f"b{i}.jpg", rng.integers(0, 255, (H + 20, W, 3)))


def rle_of(mask: np.ndarray) -> dict:
    """Uncompressed column-major COCO RLE of a boolean mask."""
    flat = mask.T.reshape(-1).astype(np.uint8)
    counts, cur, run = [], 0, 0
    for v in flat:
        if v == cur:
            run += 1
        else:
            counts.append(run)
            cur, run = v, 1
    counts.append(run)
    return {"size": list(mask.shape), "counts": counts}


def make_ytvis(root: Path, videos: int = 2, frames: int = 4) -> None:
    rng = np.random.default_rng(5)
    base = root / "YoutubeVIS" / "train"
    vids, anns = [], []
    for v in range(videos):
        names = [f"v{v}/{f:05d}.jpg" for f in range(frames)]
        for n in names:
            write_image(base / "JPEGImages" / n, rng.integers(0, 255, (H, W, 3)))
        vids.append({"id": v + 1, "file_names": names, "height": H, "width": W})
        segs = [rle_of(blob_alpha(rng) > 128) for _ in names]
        segs[-1] = None
        anns.append({"video_id": v + 1, "segmentations": segs})
    (base / "instances.json").write_text(json.dumps({"videos": vids, "annotations": anns}))


def make_all(root: Path) -> Path:
    make_d646(root)
    make_vm108(root)
    make_bg20k(root)
    make_ytvis(root)
    return root


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_NUM_THREADS"] = "1"
    return env


PYTHON = sys.executable
