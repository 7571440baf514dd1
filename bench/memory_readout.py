"""Does the memory read track the subject? Per family of the demo evaluation set, for each checkpoint.

    python bench/make_demo_eval_set.py --out /tmp/demo_eval_set
    python bench/memory_readout.py /tmp/demo_eval_set "shipped=ftpvm_core/model/demo_weights.pth" "new=NEW.pth"

The network reads its keyframe memory at 1/16 of the frame: each query cell takes a softmax-weighted mix of the
memory cells (``bottleneck_fuse``'s affinity). This reads the keyframe's *true* alpha (averaged per 1/16 cell)
through that affinity for every later frame, and compares it with that frame's true 1/16 alpha. Beside it, the
same error for holding the keyframe's 1/16 alpha still. A ratio under 1 means the keys find the subject where it
has moved to; near or over 1, they match by position (the read-out copies the keyframe's layout). ``entropy`` is
the mean entropy of a query cell's affinity, in nats (log of the memory cell count when uniform).

This looks at the matching alone, before the decoders: it says whether a weak matte comes from the memory read or
from what the decoders make of it. ``--lambda_readout`` trains this affinity, with the keyframe's trimap classes
in place of its alpha (docs/training.md).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ftpvm_core.evaluate.sources import discover_clips
from ftpvm_core.model import FastTrimapPropagationVideoMatting
from ftpvm_core.model.checkpoint import load_model
from ftpvm_core.model.ftpvm import pad_to_multiple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo_weights_report import split_candidate  # noqa: E402
from make_demo_eval_set import HELD_OUT_FAMILIES, family_of  # noqa: E402


@torch.no_grad()
def clip_readout(model: FastTrimapPropagationVideoMatting, images: np.ndarray, alphas: np.ndarray,
                 ) -> tuple[float, float, float]:
    """(read-out error, hold error, affinity entropy) of one clip: (T, H, W, 3) sRGB and (T, H, W) alpha, keyframe 0."""
    x, _ = pad_to_multiple(torch.from_numpy(images).permute(0, 3, 1, 2)[None])
    a, _ = pad_to_multiple(torch.from_numpy(alphas)[None, :, None])
    feat16 = model.backbone(x)[-1]
    a16 = F.adaptive_avg_pool2d(a[0], feat16.shape[-2:])[:, 0]  # (T, h, w)
    affinity = model.bottleneck_fuse.affinity(feat16[:, 1:], feat16[:, :1])[0]  # (Nm, Nq)
    read = (a16[0].flatten() @ affinity).view(-1, *a16.shape[1:])
    entropy = -(affinity.clamp_min(1e-12).log() * affinity).sum(0).mean()
    return ((read - a16[1:]).abs().mean().item(), (a16[:1] - a16[1:]).abs().mean().item(), entropy.item())


def family_readout(model: FastTrimapPropagationVideoMatting, clips) -> dict[str, np.ndarray]:
    """family -> (clips, 3) rows of :func:`clip_readout`."""
    rows: dict[str, list[tuple[float, float, float]]] = {}
    for clip in clips:
        images, alphas = zip(*(clip.frame(t) for t in range(clip.num_frames)))
        rows.setdefault(family_of(clip.name), []).append(clip_readout(model, np.stack(images), np.stack(alphas)))
    return {fam: np.asarray(v) for fam, v in rows.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("eval_set", help="folder made by bench/make_demo_eval_set.py")
    p.add_argument("checkpoints", nargs="+", metavar="[NAME=]PATH", help="weights to look at (network state dicts)")
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    try:
        _, clips = discover_clips(args.eval_set)
    except (OSError, ValueError) as exc:
        p.error(f"{args.eval_set}: {exc}")
    if not clips:
        p.error(f"{args.eval_set}: no clips (make them with bench/make_demo_eval_set.py)")
    print("| checkpoint | family | read-out error | hold error | read-out / hold | affinity entropy |")
    print("|---|---|---:|---:|---:|---:|")
    for spec in args.checkpoints:
        name, path = split_candidate(spec)
        fams = family_readout(load_model(path, device="cpu"), clips)
        order = [f for f in fams if f in HELD_OUT_FAMILIES] + sorted(f for f in fams if f not in HELD_OUT_FAMILIES)
        ratios = []
        for fam in order:
            read, hold, ent = fams[fam].mean(0)
            ratios.append(read / hold if fam in HELD_OUT_FAMILIES else math.nan)
            print(f"| {name or path} | {fam} | {read:.4f} | {hold:.4f} | {read / hold:.2f}x | {ent:.2f} |")
        held = [r for r in ratios if not math.isnan(r)]
        if held:
            print(f"| {name or path} | held-out mean | | | {np.mean(held):.2f}x | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
