"""How much engine state a shot leaves on disk per 100 frames: recurrent states (every frame in float32 before
issue 16; a half-precision checkpoint every N frames now), stored model inputs and cached results.

    python bench/bench_state_size.py [--size 1920x1080] [--frames 100] [--every 8] [--run 320x192x24]

The 1080p numbers write what the engine's caches write (``ShotCaches.save_state/save_input/save_result`` into a
real store) for states of the network's real shapes at the shot's working size; no network runs, so this is quick
on a CPU. ``--run WxHxN`` also mattes a synthetic shot end to end at a small size with synthetic weights under
both policies and measures the state folder the engine actually left.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from ftpvm_core.engine.caches import ChainState, ShotCaches  # noqa: E402
from ftpvm_core.engine.store import Store  # noqa: E402
from ftpvm_core.model import FastTrimapPropagationVideoMatting  # noqa: E402
from ftpvm_core.model.step_types import StreamState, state_shapes  # noqa: E402
from ftpvm_core.model.working_size import ratio_for, working_size  # noqa: E402

POLICIES = (("before: every frame, float32", 1, torch.float32), ("now: every {n}, float16", None, torch.float16))


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def cache_bytes(width: int, height: int, frames: int, every: int, dtype: torch.dtype) -> dict[str, int]:
    """Bytes the caches write for ``frames`` frames of a ``width``x``height`` shot under one state policy."""
    net = FastTrimapPropagationVideoMatting(backbone_pretrained=False)
    hs, ws = working_size(height, width, ratio_for("auto", height, width))
    shapes = state_shapes(net, hs, ws)
    gen = torch.Generator().manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(tmp, cache_limit_bytes=1 << 40)
        caches = ShotCaches(store, Path(tmp) / "shots" / "s", torch.device("cpu"), 4, 4)
        rng = np.random.default_rng(0)
        for f in range(frames):
            stream = StreamState(tuple(torch.rand(s, generator=gen) for s in shapes), f + 1)
            caches.save_state(f"k{f}", ChainState(stream), persist=(f + 1) % every == 0, dtype=dtype)
            if f < 2:  # inputs and results do not depend on the policy: measure two frames, scale
                caches.save_input(f"i{f}.npy", torch.from_numpy(rng.random((height, width, 3), np.float32)).half())
                alpha = rng.random((height, width), np.float32)
                caches.save_result(f"k{f}", (alpha, np.round(alpha * 2) / 2, alpha))
        store.flush()
        root = Path(tmp) / "shots" / "s" / "cache"
        out = {kind: folder_bytes(root / kind) for kind in ("states", "inputs", "results")}
        store.close()
    out["inputs"] = out["inputs"] * frames // 2
    out["results"] = out["results"] * frames // 2
    out["working_size"] = (ws, hs)  # type: ignore[assignment]
    return out


def run_shot(width: int, height: int, frames: int, every: int, dtype: str) -> int:
    """Matte a synthetic shot end to end; the bytes of the state folder the engine left."""
    from ftpvm_core.engine import Engine
    from ftpvm_core.synthetic import LINEAR_COLORSPACE, make_shot
    from ftpvm_core.weights import synthetic_weights

    shot_data = make_shot(frames, height, width, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        with Engine(weights=synthetic_weights(), device="cpu", state_dir=tmp, backend="torch", state_every=every,
                    state_dtype=dtype) as engine:
            shot = engine.open_shot("bench", width, height, LINEAR_COLORSPACE)
            shot.set_keyframe(0, shot_data.plates_linear[0], trimap=shot_data.trimaps[0])
            for _ in shot.matte([(i, shot_data.plates_linear[i]) for i in range(frames)], passes=("alpha",)):
                pass
            engine.flush()
            return folder_bytes(Path(tmp) / "shots" / "bench" / "cache" / "states")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--every", type=int, default=8)
    ap.add_argument("--run", default=None, metavar="WxHxN", help="also matte a synthetic shot end to end")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    mb = 1e6
    print(f"{width}x{height}, {args.frames} frames, state checkpoint every {args.every} frames")
    for label, every, dtype in POLICIES:
        every = every or args.every
        b = cache_bytes(width, height, args.frames, every, dtype)
        total = b["states"] + b["inputs"] + b["results"]
        print(f"  {label.format(n=every):<32} states {b['states'] / mb:8.1f} MB   inputs {b['inputs'] / mb:7.1f} MB"
              f"   results {b['results'] / mb:7.1f} MB   total {total / mb:8.1f} MB  (working size "
              f"{b['working_size'][0]}x{b['working_size'][1]})")
    if args.run:
        w, h, n = (int(v) for v in args.run.lower().split("x"))
        old = run_shot(w, h, n, 1, "float32")
        new = run_shot(w, h, n, args.every, "float16")
        print(f"end to end {w}x{h}, {n} frames, synthetic weights: state folder {old / mb:.2f} MB before, "
              f"{new / mb:.2f} MB now ({old / max(new, 1):.1f}x less); per frame {old / n / mb:.2f} -> "
              f"{new / n / mb:.3f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
