"""The shot engine's own overhead (colour, hashing, foreground, cache, EXR I/O) as a share of model time.

    python bench/bench_engine.py [--size 1920x1080] [--frames 4] [--device auto|cpu|cuda] [--threads N]
                                 [--backend auto|torch|onnx]

Baseline in the same run: the network alone (the engine's streaming step on a prepared tensor, recurrent state
carried, the frame-size passes made). Then the engine's full path (``Shot.matte`` with every pass) and each
overhead component on its own.
Background writes (states, inputs, results) run on the store's writer thread; their time is reported separately
(it overlaps with the next frame's model work). Uses synthetic weights: speed does not depend on the values.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from ftpvm_core.engine import Engine  # noqa: E402
from ftpvm_core.engine.chain import image_hash  # noqa: E402
from ftpvm_core.engine.matting import frame_passes, frame_tensor, model_input  # noqa: E402
from ftpvm_core.imaging.colour import ColourConverter  # noqa: E402
from ftpvm_core.imaging.foreground import estimate_foreground_torch  # noqa: E402
from ftpvm_core.imaging.io import write_exr  # noqa: E402
from ftpvm_core.synthetic import LINEAR_COLORSPACE, make_shot  # noqa: E402
from ftpvm_core.weights import synthetic_weights  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _time(fn, repeat: int, device: torch.device) -> float:
    times = []
    for _ in range(repeat):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch default)")
    ap.add_argument("--backend", default="auto", choices=("auto", "torch", "onnx"),
                    help="the engine's network runtime (default: auto = ONNX Runtime on CPU when installed)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.split("x"))
    n = max(2, args.frames)
    shot_data = make_shot(n + 1, h, w, seed=0, strands=6)
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(weights=synthetic_weights(), device=args.device, state_dir=tmp, backend=args.backend)
        dev = engine.device
        shot = engine.open_shot("bench", w, h, LINEAR_COLORSPACE)
        shot.set_keyframe(0, shot_data.plates_linear[0], trimap=shot_data.trimaps[0])
        step = engine.step(shot.settings.precision, shot.settings.downsample_ratio)
        print(f"device {dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'CPU'}), "
              f"{w}x{h}, ratio {shot.ratio:.3f}, precision {step.precision}, backend {step.backend}, "
              f"torch threads {torch.get_num_threads()}")

        # -- baseline: the network alone (the engine's step, no colour, hashing, cache or foreground)
        conv = ColourConverter(LINEAR_COLORSPACE)
        x16 = [model_input(conv, p) for p in shot_data.plates_linear]
        mem = step.encode_memory(frame_tensor(x16[0], dev),
                                 torch.as_tensor(shot_data.trimaps[0], device=dev)[None, None, None])
        state = None
        model_times = []
        for i in range(n + 1):
            xi = frame_tensor(x16[i], dev)
            _sync(dev)
            t = time.perf_counter()
            out = step(xi, mem, state)
            [p.cpu() for p in frame_passes(out, h, w, shot.ratio)]
            _sync(dev)
            if i:  # first call warms up kernels
                model_times.append(time.perf_counter() - t)
            state = out.state
        model = statistics.median(model_times)

        # -- the engine's full path (first frame is the keyframe; time frames 1..n)
        frames = [(i, shot_data.plates_linear[i]) for i in range(n + 1)]
        times = []
        t = time.perf_counter()
        for res in shot.matte(frames):
            now = time.perf_counter()
            if res.frame:
                times.append(now - t)
            t = now
        engine_frame = statistics.median(times)
        t = time.perf_counter()
        engine.flush()
        flush = time.perf_counter() - t
        t = time.perf_counter()
        hits = list(shot.matte(frames[1:], passes=("alpha", "trimap", "boundary")))
        cache_hit = (time.perf_counter() - t) / len(hits)
        assert all(r.from_cache for r in hits)

        # -- components
        img = shot_data.plates_linear[1]
        alpha = hits[0].alpha
        colour = _time(lambda: conv.to_model(img), 3, dev)
        hashing = _time(lambda: image_hash(img), 3, dev)
        sha1_whole = _time(lambda: hashlib.sha1(memoryview(np.ascontiguousarray(img)).cast("B")).digest(), 3, dev)
        blake2b_whole = _time(lambda: hashlib.blake2b(memoryview(np.ascontiguousarray(img)).cast("B"),
                                                      digest_size=16).digest(), 3, dev)

        def fg():
            lin = torch.from_numpy(conv.to_linear(img)).to(dev).permute(2, 0, 1)[None]
            a = torch.from_numpy(alpha).to(dev)[None, None]
            conv.from_linear(estimate_foreground_torch(lin, a)[0].permute(1, 2, 0).cpu().numpy())
        foreground = _time(fg, 3, dev)
        chans = {"A": alpha, "trimap": hits[0].trimap, "fg.R": img[..., 0], "fg.G": img[..., 1], "fg.B": img[..., 2]}
        exr = _time(lambda: write_exr(os.path.join(tmp, "o.exr"), chans, compression="zip"), 3, dev)
        exr_fast = _time(lambda: write_exr(os.path.join(tmp, "o.exr"), chans, compression="none"), 3, dev)
        engine.close()

    overhead = engine_frame - model
    rows = [
        ("network alone (baseline)", model),
        ("engine frame, all passes", engine_frame),
        ("engine overhead (frame - network)", overhead),
        ("  colour to model (OCIO)", colour),
        ("  input hash (sha256 over 4 MiB chunks)", hashing),
        ("    for comparison: sha1 of the whole frame", sha1_whole),
        ("    for comparison: blake2b-128 of the whole frame", blake2b_whole),
        ("  foreground (OCIO + blur-fusion)", foreground),
        ("background writes per frame (writer thread)", flush / n),
        ("cache hit per frame (alpha, trimap, boundary)", cache_hit),
        ("EXR write A+trimap+fg, zip (CLI, not engine)", exr),
        ("EXR write A+trimap+fg, uncompressed", exr_fast),
    ]
    for name, sec in rows:
        print(f"{name:48s} {sec * 1e3:9.1f} ms  {100 * sec / model:6.1f}% of network")
    print(f"ENGINE OVERHEAD SHARE: {100 * overhead / model:.1f}% of network time (target < 15% on GPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
