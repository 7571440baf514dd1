"""Score demo-weight candidates against the baselines on the held-out synthetic set (docs/model-card.md).

    python bench/make_demo_eval_set.py --out /tmp/demo_eval_set
    python bench/demo_weights_report.py /tmp/demo_eval_set CANDIDATE.pth [MORE.pth ...] \
        [--sheet docs/images/demo_weights_contact_sheet.png] [--json report.json]

Rows of the table (means over clips of each clip's per-frame means, every frame of every clip, frame 0 included,
paper scalings: MAD/MSE x1e3, Grad/Conn /1e3, dtSSD x1e2):

- every candidate checkpoint, through the shot engine exactly as ``ftpvm-eval`` runs it (keyframe 0 with the
  clip's own trimap, frames in order with the recurrent state carried);
- ``untrained (init)``: the same network freshly initialised as ``ftpvm-train`` starts it (``torch.manual_seed``
  of the trainer's default seed, no ImageNet backbone), BN statistics untouched;
- ``untrained (synthetic fallback)``: the deterministic synthetic weights ``weights.py`` falls back to;
- ``held keyframe alpha``: the true alpha of frame 0 repeated for every frame (no network);
- ``held keyframe trimap``: the keyframe trimap (0 / 0.5 / 1) used as the alpha of every frame.

``--sheet`` writes a contact sheet (plate | trimap | alpha | foreground over a checkerboard, the layout of
``ftpvm demo``) of the first candidate on one clip.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

from ftpvm_core.evaluate.metrics import frame_metrics
from ftpvm_core.evaluate.runner import ClipResult, evaluate_clips, summarise
from ftpvm_core.evaluate.sources import discover_clips

COLUMNS = ("MAD", "Grad", "MSE", "dtSSD", "Conn", "MAD_unknown", "Grad_unknown")
TRAINER_SEED = 14159265


def held_keyframe(clips, use_trimap: bool = False) -> list[ClipResult]:
    """Metrics of holding frame 0's true alpha (or its trimap) for the whole clip."""
    results = []
    for clip in clips:
        _, alpha0 = clip.frame(0)
        tri0 = clip.trimap(0, alpha0)
        held = tri0 if use_trimap else alpha0
        res, prev = ClipResult(clip.name), None
        for t in range(clip.num_frames):
            _, true = clip.frame(t)
            tri = clip.trimap(t, true)
            res.frames.append(frame_metrics(held, true, tri, prev))
            prev = (held, true, tri)
        results.append(res)
    return results


def untrained_init_state() -> dict:
    from ftpvm_core.train.registry import build_model

    torch.manual_seed(TRAINER_SEED)
    return build_model("FTPVM").state_dict()


def table(rows: list[tuple[str, dict]]) -> str:
    head = "| weights | " + " | ".join(COLUMNS) + " |"
    sep = "|---|" + "---:|" * len(COLUMNS)
    lines = [head, sep]
    for name, m in rows:
        cells = ["-" if m.get(c) is None or math.isnan(m.get(c, math.nan)) else f"{m[c]:.2f}" for c in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def contact_sheet_for(weights: str, clip, out: Path) -> None:
    import tempfile

    from ftpvm_cli.demo import contact_sheet
    from ftpvm_core.engine import Engine
    from ftpvm_core.imaging.io import write_image
    from ftpvm_core.synthetic import srgb_decode

    plates = [clip.frame(t)[0] for t in range(clip.num_frames)]
    _, alpha0 = clip.frame(0)
    h, w = alpha0.shape
    alphas, trimaps, fgs = [], [], []
    with tempfile.TemporaryDirectory() as state, Engine(weights=weights, device="cpu", state_dir=state) as engine:
        shot = engine.open_shot("sheet", w, h, "sRGB Encoded Rec.709 (sRGB)", reset=True)
        shot.set_keyframe(0, plates[0], trimap=clip.trimap(0, alpha0))
        for res in shot.matte(list(enumerate(plates))):
            alphas.append(np.asarray(res.alpha, np.float32))
            trimaps.append(np.asarray(res.trimap, np.float32))
            # the engine returns the foreground in the shot's colour space (sRGB here); the sheet wants linear
            fgs.append(srgb_decode(np.asarray(res.foreground, np.float32)))
    write_image(out, contact_sheet(np.stack(plates), trimaps, alphas, fgs, max_rows=4))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data", help="folder of <clip>/{rgb,pha,trimap} (bench/make_demo_eval_set.py)")
    p.add_argument("candidates", nargs="*", help="checkpoints to score")
    p.add_argument("--sheet", default=None, help="write a contact sheet PNG of the first candidate here")
    p.add_argument("--sheet-clip", default=None, help="clip of the contact sheet (default: the first)")
    p.add_argument("--json", default=None, help="also write the numbers as JSON")
    p.add_argument("--no-baselines", action="store_true")
    a = p.parse_args(argv)

    torch.set_num_threads(min(2, torch.get_num_threads()))
    _, clips = discover_clips(a.data)
    rows: list[tuple[str, dict]] = []
    for c in a.candidates:
        rows.append((Path(c).name, summarise(evaluate_clips(c, clips, device="cpu"))["mean_over_clips"]))
        print(table(rows[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
    if not a.no_baselines:
        from ftpvm_core.weights import synthetic_weights

        rows.append(("untrained (init)", summarise(evaluate_clips(untrained_init_state(), clips,
                                                                  device="cpu"))["mean_over_clips"]))
        rows.append(("untrained (synthetic fallback)", summarise(evaluate_clips(synthetic_weights(), clips,
                                                                                device="cpu"))["mean_over_clips"]))
        rows.append(("held keyframe alpha", summarise(held_keyframe(clips))["mean_over_clips"]))
        rows.append(("held keyframe trimap", summarise(held_keyframe(clips, True))["mean_over_clips"]))
    print(f"{len(clips)} clips, {sum(c.num_frames for c in clips)} frames; mean over clips; "
          "MAD/MSE x1e3, Grad/Conn /1e3, dtSSD x1e2")
    print(table(rows))
    if a.json:
        Path(a.json).write_text(json.dumps({n: m for n, m in rows}, indent=1))
    if a.sheet and a.candidates:
        clip = next((c for c in clips if c.name == a.sheet_clip), clips[0])
        contact_sheet_for(a.candidates[0], clip, Path(a.sheet))
        print(f"wrote {a.sheet} ({clip.name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
