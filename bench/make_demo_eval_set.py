"""Write the evaluation set of the built-in demo weights (see docs/model-card.md).

    python bench/make_demo_eval_set.py --out /tmp/demo_eval_set

Clips ``<out>/<family>__<seed>/{rgb,pha,trimap}/<frame>.png`` in the folder layout ``ftpvm-eval`` reads: sRGB
composites, true alpha, and trimaps (the keyframe trimap is ``trimap/0000.png``). Families (``FAMILIES``):

- held out of training by family (``ftpvm_core.train.procedural.registry.HELD_OUT``; the training source never
  draws them): ``bg_voronoi`` and ``bg_fabric`` (held-out backgrounds under training foregrounds), ``fg_ellipse_arm``
  and ``fg_letters`` (held-out foregrounds over training backgrounds), and ``issue_acescg``: issue 17's report, a soft
  ellipse with an arm over a panning woven texture authored in ACEScg (converted to the model's sRGB by the
  project's OpenColorIO path, as the engine does), 320 x 192, roto (10 px band) on the first frame;
- for reference, not held out by family: ``train_families`` (training families, unseen seeds) and ``legacy`` (the
  original demo generator ``ftpvm_core.synthetic.make_shot``, seeds 10000+, the previous model card's set).

Held-out clips are 160 x 128 unless noted, 12 frames, with random camera motion and capture effects drawn from the
clip's seed. Deterministic: the same arguments write the same files.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

FIRST_SEED = 10_000  # legacy clips
HELD_OUT_SEED = 900_000
TRAIN_BACKGROUNDS = ("perlin", "grating", "checker", "polygons")  # no photographs: the set must not depend on extras
TRAIN_FOREGROUNDS = ("blob", "strands", "limbs", "holes")

#: family -> (background choices, foreground choices, held out of training?)
FAMILIES: dict[str, tuple[tuple[str, ...], tuple[str, ...], bool]] = {
    "bg_voronoi": (("voronoi",), TRAIN_FOREGROUNDS, True),
    "bg_fabric": (("fabric",), TRAIN_FOREGROUNDS, True),
    "fg_ellipse_arm": (TRAIN_BACKGROUNDS, ("ellipse_arm",), True),
    "fg_letters": (TRAIN_BACKGROUNDS, ("letters",), True),
    "issue_acescg": (("fabric",), ("ellipse_arm",), True),
    "train_families": (TRAIN_BACKGROUNDS, TRAIN_FOREGROUNDS, False),
    "legacy": ((), (), False),
}
HELD_OUT_FAMILIES = tuple(k for k, v in FAMILIES.items() if v[2])


def family_of(clip_name: str) -> str:
    return clip_name.split("__", 1)[0]


def legacy_settings(index: int) -> dict:
    """The generator options of legacy clip ``index`` (cycled, so every setting appears)."""
    return {
        "noise": (0.0, 0.01, 0.02)[index % 3],
        "blur": (0, 1)[index % 2],
        "colour_drift": (0.0, 0.1, 0.05, 0.0)[index % 4],
        "strands": (12, 4, 16, 8, 0, 10)[index % 6],
    }


def _write(clip: Path, srgb: np.ndarray, alpha: np.ndarray, trimaps: np.ndarray) -> None:
    from ftpvm_core.imaging.io import write_image

    for t in range(len(alpha)):
        write_image(clip / "rgb" / f"{t:04d}.png", srgb[t])
        write_image(clip / "pha" / f"{t:04d}.png", alpha[t][..., None])
        write_image(clip / "trimap" / f"{t:04d}.png", trimaps[t][..., None])


def issue_shot(seed: int, frames: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Issue 17's first report: (sRGB plates, alpha, trimaps) of an ACEScg ellipse-with-arm over a panning weave."""
    from ftpvm_core.imaging.colour import ColourConverter
    from ftpvm_core.train.procedural.capture import Capture
    from ftpvm_core.train.procedural.motion import Camera
    from ftpvm_core.train.procedural.shot import ShotRecipe, make_procedural_shot
    from ftpvm_core.train.procedural.trimaps import roto_trimaps

    rng = np.random.default_rng(seed)
    still = lambda t: 0.0  # noqa: E731
    camera = Camera(np.array([rng.uniform(0.025, 0.04), rng.uniform(-0.01, 0.01)]), np.zeros(2), 0.0, 0.0, still, still)
    capture = Capture.clean()
    shot = make_procedural_shot(rng, 192, 320, frames, ShotRecipe("fabric", ("ellipse_arm",), "roto"),
                                capture=capture, camera=camera)
    to_model = ColourConverter("ACEScg").to_model
    srgb = np.stack([to_model(p) for p in shot.plates_linear]).astype(np.float32)
    return srgb, shot.alpha, roto_trimaps(shot.alpha, band=10)


def family_shot(family: str, seed: int, index: int, frames: int, height: int, width: int):
    """(sRGB plates, alpha, trimaps) of clip ``index`` of a procedural family."""
    from ftpvm_core.train.procedural.shot import ShotRecipe, make_procedural_shot

    bgs, fgs, _ = FAMILIES[family]
    rng = np.random.default_rng(seed)
    recipe = ShotRecipe(bgs[index % len(bgs)], (fgs[index % len(fgs)],), ("band", "roto")[index % 2])
    shot = make_procedural_shot(rng, height, width, frames, recipe, texture_families=TRAIN_BACKGROUNDS)
    return shot.plates_srgb, shot.alpha, shot.trimaps


def write_set(out: Path, clips: int = 4, frames: int = 12, height: int = 128, width: int = 160,
              families: tuple[str, ...] = tuple(FAMILIES)) -> list[Path]:
    from ftpvm_core.synthetic import make_shot

    written = []
    for f_index, family in enumerate(families):
        n = 2 if family == "issue_acescg" else clips
        for i in range(n):
            if family == "legacy":
                seed = FIRST_SEED + i
                w = 128 if i % 2 == 0 else 160
                shot = make_shot(frames, 128, w, seed=seed, **legacy_settings(i))
                data = shot.plates_srgb, shot.alpha, shot.trimaps
            elif family == "issue_acescg":
                seed = HELD_OUT_SEED + 1000 * f_index + i
                data = issue_shot(seed, frames)
            else:
                seed = HELD_OUT_SEED + 1000 * f_index + i
                data = family_shot(family, seed, i, frames, height, width)
            clip = out / f"{family}__{seed}"
            _write(clip, *data)
            written.append(clip)
    return written


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="/tmp/demo_eval_set", help="output folder (clips are written under it)")
    p.add_argument("--clips", type=int, default=4, help="clips per family (issue_acescg: always 2)")
    p.add_argument("--frames", type=int, default=12)
    p.add_argument("--families", default=",".join(FAMILIES), help="comma-separated: " + ", ".join(FAMILIES))
    a = p.parse_args()
    fams = tuple(f for f in a.families.split(",") if f)
    unknown = [f for f in fams if f not in FAMILIES]
    if unknown:
        p.error(f"unknown families {unknown}; known: {', '.join(FAMILIES)}")
    written = write_set(Path(a.out), a.clips, a.frames, families=fams)
    print(f"wrote {len(written)} clips of {a.frames} frames under {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
