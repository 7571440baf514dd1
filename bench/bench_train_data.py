"""Training data throughput: clips/s of each dataset at the published command's shapes.

    python bench/bench_train_data.py [--size 480] [--num_worker 2] [--batches 6] [--root DATASET_ROOT]

Without ``--root`` it writes a small tree at real resolutions (VideoMatting108 1920x1080 RGBA PNG, backgrounds
1920x1080 JPEG, Distinctions646 1600x1200 PNG, BG-20k 1500x1000 JPEG, YouTubeVIS 1280x720 JPEG) under
``--cache`` and reuses it. Prints samples (clips) per second, frames per second and seconds per batch, for the batch
size and clip length of the main published command, through the real DataLoader with ``--num_worker`` workers,
and the CPU time one clip costs a single thread (what a loader worker spends; less sensitive to a busy machine).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _write(path: Path, px: np.ndarray, quality: int = 90) -> None:
    import OpenImageIO as oiio

    path.parent.mkdir(parents=True, exist_ok=True)
    px = np.ascontiguousarray(px.astype(np.uint8))
    px = px[..., None] if px.ndim == 2 else px
    spec = oiio.ImageSpec(px.shape[1], px.shape[0], px.shape[2], "uint8")
    spec.attribute("oiio:UnassociatedAlpha", 1)
    spec.attribute("Compression", f"jpeg:{quality}")
    out = oiio.ImageOutput.create(str(path))
    out.open(str(path), spec)
    out.write_image(px)
    out.close()


def _picture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Smooth colour fields plus mild noise: compresses like a photograph, not like white noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    f = rng.uniform(0.5, 4, 6)
    img = np.stack([0.5 + 0.4 * np.sin(xx / w * f[c] * 6.28 + f[c + 3] * yy / h * 6.28) for c in range(3)], -1)
    img += rng.normal(0, 0.03, img.shape).astype(np.float32)
    return np.clip(img * 255, 0, 255)


def _alpha(rng: np.random.Generator, h: int, w: int, shift: float = 0.0) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.hypot((yy - 0.55 * h) / (0.35 * h), (xx - (0.5 + shift) * w) / (0.2 * w))
    return np.clip((1.1 - d) / 0.15, 0, 1) * 255


def make_tree(root: Path, frames: int = 24) -> Path:
    marker = root / "done.json"
    if marker.is_file():
        return root
    rng = np.random.default_rng(0)
    vm = root / "VideoMatting108"
    for c in range(2):
        for f in range(frames):
            _write(vm / "FG_done" / f"fg{c}" / f"{f:04d}.png",
                   np.dstack([_picture(rng, 1080, 1920), _alpha(rng, 1080, 1920, 0.005 * f)]))
            _write(vm / "BG_done" / f"bg{c}" / f"{f:05d}.jpg", _picture(rng, 1080, 1920))
    (vm / "train_videos.txt").write_text("fg0\nfg1\n")
    (vm / "val_videos.txt").write_text("fg1\n")
    (vm / "frame_corr.json").write_text("{}")
    for i in range(4):
        _write(root / "Distinctions646" / "Train" / "FG" / f"im{i}.png", _picture(rng, 1200, 1600))
        _write(root / "Distinctions646" / "Train" / "GT" / f"im{i}.png", _alpha(rng, 1200, 1600))
        _write(root / "BG20k" / "BG-20k" / "train" / f"bg{i}.jpg", _picture(rng, 1000, 1500))
    ytvis = root / "YoutubeVIS" / "train"
    videos, anns = [], []
    for v in range(2):
        names = [f"v{v}/{f:05d}.jpg" for f in range(frames)]
        for n in names:
            _write(ytvis / "JPEGImages" / n, _picture(rng, 720, 1280))
        videos.append({"id": v + 1, "file_names": names, "height": 720, "width": 1280})
        mask = (_alpha(rng, 720, 1280) > 128).T.reshape(-1).astype(np.int8)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], mask, [1 - mask[-1]]])))
        counts = np.diff(np.concatenate([[0], edges])).tolist()
        anns.append({"video_id": v + 1, "segmentations": [{"size": [720, 1280], "counts": counts}] * frames})
    (ytvis / "instances.json").write_text(json.dumps({"videos": videos, "annotations": anns}))
    marker.write_text("{}")
    return root


def bench(args: argparse.Namespace) -> None:
    import torch

    from ftpvm_core.train.data import TrainingData, build_datasets
    from ftpvm_core.train.ddp import DistContext
    from ftpvm_core.train.flags import parse_flags
    from ftpvm_core.train.schedule import Phase

    torch.set_num_threads(1)
    root = Path(args.root) if args.root else make_tree(Path(args.cache))
    base = ["-i", "10", "--dataset-root", str(root), "--size", str(args.size), "--num_worker", str(args.num_worker),
            "--use_background_dataset", "-b_seg", "8", "-b_img_mat", "10", "-b_vid_mat", "4", "-s_seg", "8",
            "-s_img_mat", "4", "-s_vid_mat", "8"]
    print(f"size {args.size}, {args.num_worker} workers, {args.batches} timed batches after 1 warm-up; "
          f"data at {root}")
    for source in args.sources.split(","):
        flags = parse_flags(base + ["--dataset", source])
        datasets = build_datasets(flags, set(Phase))
        for phase in (Phase.IMAGE_MATTING, Phase.VIDEO_MATTING, Phase.SEGMENTATION):
            dataset, batch = datasets[phase]
            labels = {Phase.IMAGE_MATTING: "Distinctions646 (+BG)", Phase.VIDEO_MATTING: "VideoMatting108",
                      Phase.SEGMENTATION: "YouTubeVIS"}
            name = labels[phase] if source == "original" else f"synthetic {phase.value}"
            dataset[0]
            c0 = time.process_time()
            for k in range(1, 3):
                dataset[k]
            cpu_per_clip = (time.process_time() - c0) / 2  # one process, one thread: CPU cost of a clip
            data = TrainingData({phase: (dataset, batch)}, DistContext(), args.num_worker, 0)
            first = data.next_batch(phase)
            frames = first["rgb"].shape[1]
            t0 = time.perf_counter()
            for _ in range(args.batches):
                data.next_batch(phase)
            dt = time.perf_counter() - t0
            data.close()
            n = args.batches * batch
            print(f"{name:28s} batch {batch:2d} x {frames} frames at {first['rgb'].shape[-1]}px: "
                  f"{n / dt:6.2f} samples/s  {n * frames / dt:7.1f} frames/s  {dt / args.batches:6.2f} s/batch  "
                  f"({cpu_per_clip:.2f} CPU-s per clip in one thread)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=480)
    p.add_argument("--num_worker", type=int, default=2)
    p.add_argument("--batches", type=int, default=6)
    p.add_argument("--root", default=None, help="an existing dataset root (the original layout)")
    p.add_argument("--sources", default="original,synthetic", help="original and/or synthetic")
    p.add_argument("--cache", default="/tmp/ftpvm-bench-data", help="where to write the generated tree")
    bench(p.parse_args())


if __name__ == "__main__":
    main()
