"""Colour conversion at full resolution: OCIO on the CPU (the engine's CPU path) against the baked torch path.

    python bench/bench_colour.py [--size 1920x1080] [--repeat 7] [--device cpu|cuda] [--spaces A,B]
    python bench/bench_colour.py --accuracy

Speed: for each space, the model input (input -> sRGB Rec.709, clipped), the foreground's conversion to
scene-linear and back, each through OCIO's default CPU processor and through the bake
(:mod:`ftpvm_core.imaging.colour_torch`) on ``--device``; the two alternate within each repeat; medians in ms.
``--accuracy``: for every space of the config, max abs difference of the bake from OCIO's exact processor and from
the CPU path, on ordinary code values (a 256x256 ramp of [-0.05, 1.05]) and for the model input over the bake's whole
code domain, and the foreground's conversion back in code values, on linear colours 0.8-1.2x the plate's.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Callable, Tuple

import numpy as np
import PyOpenColorIO as ocio
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from ftpvm_core.imaging.colour import ColourConverter, get_config  # noqa: E402
from ftpvm_core.imaging.colour_torch import SHAPER_DOMAIN, bake, bake_linear, exact_to_model  # noqa: E402

DEFAULT_SPACES = "ACEScct,sRGB Encoded AP1"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


Conversion = Tuple[str, Callable[[np.ndarray], np.ndarray], Callable[[torch.Tensor], torch.Tensor], np.ndarray]


def conversions(colour: ColourConverter, plate: np.ndarray) -> list[Conversion] | None:
    """The three full-resolution conversions of ``colour`` (also bench/gpu_check.py's ``colour`` section): for each,
    (name, OCIO's CPU path, the bake, the numpy input both take); None when the space does not bake."""
    model, linear = bake(colour), bake_linear(colour)
    if model is None or linear is None:
        return None
    return [("model input", colour.to_model, model.to_model, plate),
            ("to scene-linear", colour.to_linear, linear.to_linear, plate),
            ("back from scene-linear", colour.from_linear, linear.from_linear, colour.to_linear(plate))]


def speed(spaces: list[str], width: int, height: int, repeat: int, device: torch.device) -> None:
    rng = np.random.default_rng(0)
    plate = rng.random((height, width, 3)).astype(np.float32)
    print(f"{width}x{height}, {repeat} repeats, torch threads {torch.get_num_threads()}, device {device}; "
          "median ms (OCIO CPU / torch bake)")
    for space in spaces:
        cases = conversions(ColourConverter(space), plate)
        if cases is None:
            print(f"{space}: does not bake")
            continue
        for name, ocio_fn, baked_fn, source in cases:
            on = torch.from_numpy(source).to(device)
            fns = (lambda: ocio_fn(source), lambda: baked_fn(on))
            times: tuple[list[float], list[float]] = ([], [])
            for i in range(repeat + 1):
                for k, fn in enumerate(fns):
                    _sync(device)
                    t = time.perf_counter()
                    fn()
                    _sync(device)
                    if i:  # the first round warms up
                        times[k].append(time.perf_counter() - t)
            a, b = (statistics.median(t) * 1e3 for t in times)
            print(f"  {space:28s} {name:24s} OCIO {a:8.1f}   torch {b:8.1f}   ({a / b:.2f}x)")


def _exact(colour: ColourConverter, src: str, dst: str, rgb: np.ndarray) -> np.ndarray:
    out = np.array(rgb, np.float32, copy=True)
    colour.config.getProcessor(src, dst).getOptimizedCPUProcessor(ocio.OPTIMIZATION_NONE).applyRGB(out)
    return out


def accuracy() -> None:
    ramp = np.linspace(-0.05, 1.05, 256, dtype=np.float32)
    grid = np.stack(np.meshgrid(ramp, ramp[::-1], indexing="ij"), -1)
    plate = np.concatenate([grid, np.roll(grid, 97, axis=0)[..., :1]], -1)  # every pair of channels, mixed
    lo, hi = SHAPER_DOMAIN
    whole = (np.random.default_rng(0).random((256, 256, 3)) * (hi - lo) + lo).astype(np.float32)
    print("max abs difference | model input: vs OCIO exact (ordinary / whole domain), vs the CPU path (ordinary) "
          "| foreground back: vs OCIO exact, vs the CPU path")
    for cs in get_config().getColorSpaces():
        colour = ColourConverter(cs.getName())
        model, linear = bake(colour), bake_linear(colour)
        row = f"{cs.getName():30s}"
        if model is None:
            row += " model input: does not bake"
        else:
            ours = model.to_model(torch.from_numpy(plate)).numpy()
            domain = whole if not colour.input_is_linear else whole * 8
            ours_whole = model.to_model(torch.from_numpy(domain)).numpy()
            row += (f" {np.abs(ours - exact_to_model(colour, plate)).max():8.1e} /"
                    f" {np.abs(ours_whole - exact_to_model(colour, domain)).max():8.1e}"
                    f" {np.abs(ours - colour.to_model(plate)).max():8.1e}")
        if linear is None:
            row += " | foreground: does not bake"
        elif not colour.input_is_linear:
            fg = colour.to_linear(plate) * np.random.default_rng(1).uniform(0.8, 1.2, plate.shape).astype(np.float32)
            back = linear.from_linear(torch.from_numpy(fg)).numpy()
            exact = _exact(colour, colour.linear_space, colour.colorspace, fg)
            row += (f" | {np.abs(back - exact).max():8.1e} {np.abs(back - colour.from_linear(fg)).max():8.1e}")
        print(row, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--spaces", default=DEFAULT_SPACES)
    ap.add_argument("--accuracy", action="store_true")
    args = ap.parse_args()
    if args.accuracy:
        accuracy()
        return 0
    width, height = (int(v) for v in args.size.lower().split("x"))
    speed(args.spaces.split(","), width, height, args.repeat, torch.device(args.device))
    return 0


if __name__ == "__main__":
    sys.exit(main())
