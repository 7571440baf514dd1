"""``ftpvm-eval``: score a checkpoint on a VideoMatting108 validation split or a folder of clips."""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Sequence


def build_parser() -> argparse.ArgumentParser:
    from ftpvm_core.train.flags import OneLineErrorParser

    p = OneLineErrorParser(
        prog="ftpvm-eval",
        description="Run a checkpoint through the shot engine over clips with alpha ground truth and report MAD, "
        "MSE, Grad, Conn and dtSSD (MAD/MSE x1e3, Grad/Conn /1e3, dtSSD x1e2), per clip and mean, on the full "
        "frame and inside the trimap's unknown band. Writes metrics.csv, metrics.json and error_over_time.png.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("checkpoint", help="network weights (.pth; network-only or a training checkpoint)")
    p.add_argument("data", help="a VideoMatting108 folder (or its parent), or a folder of <clip>/{rgb,pha[,trimap]}/")
    p.add_argument("--out", default="eval_out", help="output folder")
    p.add_argument("--split", default="val", help="VideoMatting108 split list <split>_videos.txt")
    p.add_argument("--keyframes", default="0", help="comma-separated frames whose trimaps fill the memory")
    p.add_argument("--trimap-width", type=int, default=25, help="kernel size in px of trimaps made from the truth "
                   "(when a clip has no trimap/ folder)")
    p.add_argument("--height", type=int, default=None, help="resize frames to this height first")
    p.add_argument("--max-frames", type=int, default=None, help="only the first N frames of each clip")
    p.add_argument("--clips", default=None, help="comma-separated clip names to evaluate (default: all)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--downsample-ratio", default=None, help="engine setting: 'auto' or a float in (0, 1]")
    p.add_argument("--precision", default=None, help="engine setting: auto, fp32, fp16 or bf16")
    p.add_argument("--save-alpha", action="store_true", help="also write predicted alphas as PNG under --out")
    return p


def _keyframes(text: str) -> list[int]:
    try:
        frames = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise ValueError(f"--keyframes must be comma-separated frame numbers, got {text!r}") from None
    if not frames or frames[0] < 0:
        raise ValueError(f"--keyframes needs at least one frame >= 0, got {text!r}")
    return frames


def run(args: argparse.Namespace) -> dict:
    """Evaluate as the parsed ``args`` say; returns the JSON summary."""
    from tqdm import tqdm

    from ftpvm_core.evaluate.report import write_csv, write_json, write_plot
    from ftpvm_core.evaluate.runner import evaluate_clips
    from ftpvm_core.evaluate.sources import discover_clips

    keyframes = _keyframes(args.keyframes)
    if not Path(args.checkpoint).is_file():
        raise FileNotFoundError(f"{args.checkpoint}: no such checkpoint file")
    kind, clips = discover_clips(args.data, args.trimap_width, args.height, args.split)
    if args.clips:
        wanted = [c.strip() for c in args.clips.split(",") if c.strip()]
        unknown = sorted(set(wanted) - {c.name for c in clips})
        if unknown:
            raise ValueError(f"--clips: no clip named {', '.join(unknown)} in {args.data}")
        clips = [c for c in clips if c.name in wanted]
    settings = {k: v for k, v in (("downsample_ratio", args.downsample_ratio), ("precision", args.precision))
                if v is not None}
    if "downsample_ratio" in settings and settings["downsample_ratio"] != "auto":
        settings["downsample_ratio"] = float(settings["downsample_ratio"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    total = sum(c.num_frames if args.max_frames is None else min(c.num_frames, args.max_frames) for c in clips)
    bar = tqdm(total=total, unit="frame", dynamic_ncols=True, file=sys.stderr)

    def on_alpha(clip, t, alpha):
        if args.save_alpha:
            _write_png(out / "alpha" / clip.name / f"{t:05d}.png", alpha)

    print(f"ftpvm-eval: using weights from {args.checkpoint}")
    results = evaluate_clips(args.checkpoint, clips, keyframes=keyframes, device=args.device,
                             settings=settings or None, max_frames=args.max_frames, on_alpha=on_alpha,
                             progress=lambda name, done, n: (bar.set_postfix(clip=name, refresh=False), bar.update(1)))
    bar.close()
    write_csv(results, out / "metrics.csv")
    doc = write_json(results, out / "metrics.json", {"checkpoint": str(args.checkpoint), "data": str(args.data),
                                                      "dataset_kind": kind, "keyframes": keyframes})
    write_plot(results, out / "error_over_time.png")
    return doc


def _write_png(path: Path, alpha) -> None:
    import numpy as np
    import OpenImageIO as oiio

    path.parent.mkdir(parents=True, exist_ok=True)
    px = np.ascontiguousarray((np.clip(alpha, 0, 1) * 255).round().astype(np.uint8)[..., None])
    o = oiio.ImageOutput.create(str(path))
    o.open(str(path), oiio.ImageSpec(px.shape[1], px.shape[0], 1, "uint8"))
    o.write_image(px)
    o.close()


def print_summary(doc: dict) -> None:
    m = doc["mean_over_clips"]
    cols = ["MAD", "MSE", "Grad", "Conn", "dtSSD"]
    print("clip".ljust(24) + "".join(c.rjust(10) for c in cols) + "   (MAD/MSE x1e3, Grad/Conn /1e3, dtSSD x1e2)")
    fmt = lambda v: ("-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}").rjust(10)  # noqa
    for name, c in doc["clips"].items():
        print(name[:23].ljust(24) + "".join(fmt(c.get(k)) for k in cols))
    print("mean".ljust(24) + "".join(fmt(m.get(k)) for k in cols))
    print("mean (unknown band)".ljust(24) + "".join(fmt(m.get(f"{k}_unknown")) for k in cols))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ftpvm_core.train.datasets.common import DatasetLayoutError

    try:
        from ftpvm_core.engine import EngineError
    except ImportError:  # pragma: no cover
        EngineError = RuntimeError  # type: ignore
    try:
        doc = run(args)
    except (DatasetLayoutError, FileNotFoundError, ValueError, OSError, EngineError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"ftpvm-eval: error: {msg}", file=sys.stderr)
        return 2
    print_summary(doc)
    print(f"wrote {Path(args.out) / 'metrics.csv'}, metrics.json, error_over_time.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
