"""Which keyframes should fill the memory bank? Compares the policies on a synthetic shot with known alpha.

    python bench/bench_memory_policy.py [--weights PATH] [--frames 24] [--size 160x128] [--every 6] [--bank 2]

A shot whose foreground colour drifts, keyframes (trimaps from the true alpha) every ``--every`` frames, a bank
smaller than the keyframe count; prints MAD / MSE (x1e3) of alpha against the truth on the non-keyframe frames for
each policy. Only meaningful with trained weights: with synthetic weights it measures nothing but the plumbing.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from ftpvm_core.engine import Engine  # noqa: E402
from ftpvm_core.engine.settings import MEMORY_POLICIES  # noqa: E402
from ftpvm_core.synthetic import LINEAR_COLORSPACE, make_shot  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=None)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--size", default="160x128")
    ap.add_argument("--every", type=int, default=6)
    ap.add_argument("--bank", type=int, default=2)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(weights=args.weights, device=args.device, state_dir=tmp)
        print(engine.weights_notice)
        scores: dict[str, list[tuple[float, float]]] = {p: [] for p in MEMORY_POLICIES}
        for seed in (int(s) for s in args.seeds.split(",")):
            data = make_shot(args.frames, h, w, seed=seed, colour_drift=0.6)
            kfs = list(range(0, args.frames, args.every))
            for policy in MEMORY_POLICIES:
                shot = engine.open_shot(f"p-{policy}-{seed}", w, h, LINEAR_COLORSPACE, reset=True,
                                        settings={"memory_policy": policy, "memory_size": args.bank})
                for k in kfs:
                    shot.set_keyframe(k, data.plates_linear[k], trimap=data.trimaps[k])
                alphas = [r.alpha for r in shot.matte([(i, data.plates_linear[i]) for i in range(args.frames)],
                                                      passes=("alpha",))]
                err = np.stack([alphas[i] - data.alpha[i] for i in range(args.frames) if i not in kfs])
                scores[policy].append((float(np.abs(err).mean() * 1e3), float((err ** 2).mean() * 1e3)))
        engine.close()
    print(f"{args.frames} frames {w}x{h}, keyframes every {args.every}, bank {args.bank}, seeds {args.seeds}")
    for policy, s in scores.items():
        mad, mse = np.mean([a for a, _ in s]), np.mean([b for _, b in s])
        print(f"  {policy:12s} MAD {mad:8.2f}e-3   MSE {mse:8.2f}e-3")
    return 0


if __name__ == "__main__":
    sys.exit(main())
