"""Write the held-out synthetic evaluation set of the built-in demo weights (see docs/model-card.md).

    python bench/make_demo_eval_set.py --out /tmp/demo_eval_set

Clips ``<out>/synth_<seed>/{rgb,pha,trimap}/<frame>.png`` in the folder layout ``ftpvm-eval`` reads: sRGB composites,
true alpha, and the generator's own trimaps (the keyframe trimap is ``trimap/0000.png``). Shots come from
``ftpvm_core.synthetic.make_shot`` with seeds from 10000 up (training draws its shot seeds from
``numpy.random.Generator.integers(2**31)``, so a collision with one of these is a ~2e-5 chance for a 1500-iteration
run, not a guarantee), and vary noise, defocus blur, colour drift, strand count and aspect ratio, which training's
shots get only through the augmentation. Deterministic: the same arguments write the same files.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

FIRST_SEED = 10_000


def clip_settings(index: int) -> dict:
    """The generator options of clip ``index`` (cycled, so every setting appears)."""
    return {
        "noise": (0.0, 0.01, 0.02)[index % 3],
        "blur": (0, 1)[index % 2],
        "colour_drift": (0.0, 0.1, 0.05, 0.0)[index % 4],
        "strands": (12, 4, 16, 8, 0, 10)[index % 6],
    }


def write_set(out: Path, clips: int = 8, frames: int = 12, height: int = 128, width: int = 128,
              first_seed: int = FIRST_SEED) -> list[Path]:
    from ftpvm_core.imaging.io import write_image
    from ftpvm_core.synthetic import make_shot

    written = []
    for i in range(clips):
        seed = first_seed + i
        w = width if i % 2 == 0 else width + width // 4  # every other clip is 5:4
        shot = make_shot(frames, height, w, seed=seed, **clip_settings(i))
        clip = out / f"synth_{seed}"
        for t in range(frames):
            write_image(clip / "rgb" / f"{t:04d}.png", shot.plates_srgb[t])
            write_image(clip / "pha" / f"{t:04d}.png", shot.alpha[t][..., None])
            write_image(clip / "trimap" / f"{t:04d}.png", shot.trimaps[t][..., None])
        written.append(clip)
    return written


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="/tmp/demo_eval_set", help="output folder (clips are written under it)")
    p.add_argument("--clips", type=int, default=8)
    p.add_argument("--frames", type=int, default=12)
    p.add_argument("--height", type=int, default=128)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--first-seed", type=int, default=FIRST_SEED)
    a = p.parse_args()
    write_set(Path(a.out), a.clips, a.frames, a.height, a.width, a.first_seed)
    last = a.first_seed + a.clips - 1
    print(f"wrote {a.clips} clips of {a.frames} frames under {a.out} (seeds {a.first_seed}..{last})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
