"""Score demo-weight candidates per family of the evaluation set against the baselines (docs/model-card.md).

    python bench/make_demo_eval_set.py --out /tmp/demo_eval_set
    python bench/demo_weights_report.py /tmp/demo_eval_set "previous=OLD.pth" "new=NEW.pth" \
        [--sheet docs/images/demo_weights_contact_sheet.png --sheet-clip issue_acescg__904000] [--json report.json]

One table row per (family, method); families are the ``<family>__<seed>`` prefixes of the clips (held-out families
first). Each value is the mean over the family's clips of each clip's per-frame means, frame 0 included, paper
scalings (MAD x1e3, Grad /1e3, dtSSD x1e2). Methods:

- every candidate checkpoint (``name=path`` names the row), through the shot engine exactly as ``ftpvm-eval`` runs
  it (keyframe 0 with the clip's own trimap, frames in order with the recurrent state carried);
- ``hold keyframe alpha``: the true alpha of frame 0 repeated for every frame (no network);
- ``hold keyframe trimap``: the keyframe trimap (0 / 0.5 / 1) used as the alpha of every frame;
- with ``--untrained``: the network as ``ftpvm-train`` initialises it, and the synthetic fallback weights;
- with ``--true-trimaps``: the last candidate given the clip's true trimap on *every* frame as a keyframe. Its
  propagated trimap is then nearly perfect, so what is left is the error of the matte inside the unknown band: the
  floor that better propagation alone cannot go below (shown beside the targets).

Columns add ``MAD / hold alpha`` and ``unknown growth`` (the propagated trimap's unknown area over the keyframe
trimap's, frames after the keyframe), and the last candidate is checked against issue 17's targets on every held-out
family (MAD <= 0.3x holding the keyframe alpha, unknown growth <= 2x). ``--cache DIR`` keeps each checkpoint's
per-clip numbers; ``--sheet`` writes a contact sheet (plate | trimap | alpha | foreground over a checkerboard, the
layout of ``ftpvm demo``) of the last candidate on one clip.
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
from ftpvm_core.evaluate.runner import ClipResult, evaluate_clips
from ftpvm_core.evaluate.sources import discover_clips

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_demo_eval_set import HELD_OUT_FAMILIES, family_of  # noqa: E402

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


def contact_sheet_for(weights: str, clip, out: Path, scale: float = 1.0) -> None:
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
    sheet = contact_sheet(np.stack(plates), trimaps, alphas, fgs, max_rows=4)
    if scale != 1.0:
        t = torch.from_numpy(np.ascontiguousarray(sheet)).permute(2, 0, 1)[None]
        size = (round(sheet.shape[0] * scale), round(sheet.shape[1] * scale))
        sheet = torch.nn.functional.interpolate(t, size=size, mode="bilinear", antialias=True)[0].permute(1, 2, 0)
        sheet = sheet.clamp(0, 1).numpy()
    write_image(out, sheet)


HELD_COLUMNS = ("MAD", "Grad", "dtSSD", "MAD_unknown", "unknown_growth")
ALPHA_BASELINE, TRIMAP_BASELINE = "hold keyframe alpha", "hold keyframe trimap"
MAD_TARGET, GROWTH_TARGET = 0.3, 2.0  # issue 17: MAD <= 0.3 x hold-alpha, propagated unknown <= 2 x keyframe's


def clip_means(name: str, results: list[ClipResult]) -> dict[str, dict[str, float]]:
    """clip name -> mean metrics of one method."""
    return {r.name: r.mean() for r in results}


def by_family(per_clip: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean over the clips of each family (NaNs left out)."""
    groups: dict[str, list[dict[str, float]]] = {}
    for clip, m in per_clip.items():
        groups.setdefault(family_of(clip), []).append(m)
    out = {}
    for fam, ms in groups.items():
        keys = sorted({k for m in ms for k in m})
        out[fam] = {k: float(np.nanmean([m.get(k, math.nan) for m in ms])) if any(
            not math.isnan(m.get(k, math.nan)) for m in ms) else math.nan for k in keys}
    return out


def _cell(v: float | None, fmt: str = "{:.2f}") -> str:
    return "-" if v is None or math.isnan(v) else fmt.format(v)


def family_table(methods: dict[str, dict[str, dict[str, float]]], families: list[str]) -> str:
    """Markdown: one row per (family, method) with MAD, Grad, dtSSD, MAD_unknown, MAD / hold-alpha MAD and the
    propagated unknown area over the keyframe's."""
    lines = ["| family | method | MAD | Grad | dtSSD | MAD_unknown | MAD / hold alpha | unknown growth |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for fam in families:
        held = methods[ALPHA_BASELINE][fam]["MAD"] if ALPHA_BASELINE in methods else math.nan
        for name, fams in methods.items():
            m = fams.get(fam, {})
            ratio = m.get("MAD", math.nan) / held if held else math.nan
            lines.append(f"| {fam} | {name} | {_cell(m.get('MAD'))} | {_cell(m.get('Grad'))} | "
                         f"{_cell(m.get('dtSSD'))} | {_cell(m.get('MAD_unknown'))} | {_cell(ratio, '{:.2f}x')} | "
                         f"{_cell(m.get('unknown_growth'), '{:.2f}x')} |")
    return "\n".join(lines)


def mad_ratio(methods: dict[str, dict[str, dict[str, float]]], candidate: str, family: str) -> float:
    """``candidate``'s MAD on ``family`` over that of holding the keyframe alpha (issue 17's measure)."""
    return methods[candidate][family]["MAD"] / methods[ALPHA_BASELINE][family]["MAD"]


def target_lines(methods: dict[str, dict[str, dict[str, float]]], candidate: str, families: list[str]) -> list[str]:
    """Per held-out family: does ``candidate`` meet issue 17's targets? With a true-trimap row (``--true-trimaps``),
    each line also gives that floor."""
    out = []
    floor_row = methods.get(true_trimap_name(candidate))
    for fam in families:
        ratio = mad_ratio(methods, candidate, fam)
        growth = methods[candidate][fam].get("unknown_growth", math.nan)
        ok = ratio <= MAD_TARGET and growth <= GROWTH_TARGET
        floor = "" if floor_row is None else \
            f" (true trimap every frame: {floor_row[fam]['MAD'] / methods[ALPHA_BASELINE][fam]['MAD']:.2f}x)"
        out.append(f"{fam}: MAD {ratio:.2f}x hold-alpha (target <= {MAD_TARGET}x){floor}, unknown {growth:.2f}x "
                   f"keyframe (target <= {GROWTH_TARGET}x): {'met' if ok else 'NOT met'}")
    return out


def split_candidate(arg: str) -> tuple[str, str]:
    """(row name, checkpoint path) of a ``name=path`` or bare ``path`` argument (the first ``=`` ends the name, so
    a path may hold ``=``, as in ``runs/lr=1e-4/ckpt.pth``)."""
    name, sep, path = arg.partition("=")
    return (name, path) if sep and name else (Path(arg).name, arg)


def true_trimap_name(candidate: str) -> str:
    """The row of ``candidate`` scored with the true trimap of every frame (``--true-trimaps``)."""
    return f"{candidate}, true trimap every frame"


def evaluate_cached(checkpoint: str, clips, cache: Path | None,
                    every_frame_keyed: bool = False) -> dict[str, dict[str, float]]:
    """Per-clip means of a checkpoint, reusing ``cache/<name>.<mtime>.json`` when present. ``every_frame_keyed``:
    every frame is a keyframe with its true trimap (the matting floor), instead of frame 0 alone."""
    key = None
    if cache is not None:
        st = Path(checkpoint).stat()
        tag = ".every-frame-keyed" if every_frame_keyed else ""
        key = cache / f"{Path(checkpoint).name}.{int(st.st_mtime)}.{st.st_size}{tag}.json"
        if key.is_file():
            return json.loads(key.read_text())
    keyframes = tuple(range(max(c.num_frames for c in clips))) if every_frame_keyed else (0,)
    res = clip_means(checkpoint, evaluate_clips(checkpoint, clips, keyframes=keyframes, device="cpu"))
    if key is not None:
        cache.mkdir(parents=True, exist_ok=True)
        key.write_text(json.dumps(res))
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data", help="folder of <family>__<seed>/{rgb,pha,trimap} (bench/make_demo_eval_set.py)")
    p.add_argument("candidates", nargs="*", help="checkpoints to score; name=path sets the row's name")
    p.add_argument("--sheet", default=None, help="write a contact sheet PNG of the last candidate here")
    p.add_argument("--sheet-clip", default=None, help="clip of the contact sheet (default: the first)")
    p.add_argument("--sheet-scale", type=float, default=1.0, help="resize the contact sheet by this factor")
    p.add_argument("--json", default=None, help="also write the numbers as JSON")
    p.add_argument("--cache", default=None, help="folder caching each checkpoint's per-clip numbers")
    p.add_argument("--untrained", action="store_true", help="also score the untrained network and the synthetic "
                   "fallback weights")
    p.add_argument("--true-trimaps", action="store_true", help="also score the last candidate with the true trimap "
                   "of every frame as a keyframe: the in-band matting floor, what perfect propagation would leave")
    a = p.parse_args(argv)

    torch.set_num_threads(1)
    _, clips = discover_clips(a.data)
    cache = Path(a.cache) if a.cache else None
    candidates = [split_candidate(c) for c in a.candidates]
    per_clip: dict[str, dict[str, dict[str, float]]] = {}
    for name, path in candidates:
        per_clip[name] = evaluate_cached(path, clips, cache)
        print(f"scored {name}", file=sys.stderr, flush=True)
    if a.true_trimaps and candidates:
        name, path = candidates[-1]
        per_clip[true_trimap_name(name)] = evaluate_cached(path, clips, cache, every_frame_keyed=True)
        print(f"scored {true_trimap_name(name)}", file=sys.stderr, flush=True)
    if a.untrained:
        from ftpvm_core.weights import synthetic_weights

        per_clip["untrained (init)"] = clip_means("init", evaluate_clips(untrained_init_state(), clips, device="cpu"))
        per_clip["untrained (synthetic fallback)"] = clip_means("fallback", evaluate_clips(
            synthetic_weights(), clips, device="cpu"))
    per_clip[ALPHA_BASELINE] = clip_means("alpha", held_keyframe(clips))
    per_clip[TRIMAP_BASELINE] = clip_means("trimap", held_keyframe(clips, True))
    methods = {name: by_family(pc) for name, pc in per_clip.items()}
    found = sorted({family_of(c.name) for c in clips}, key=lambda f: (f not in HELD_OUT_FAMILIES, f))
    print(f"{len(clips)} clips, {sum(c.num_frames for c in clips)} frames; per family: mean over clips of each "
          "clip's frame means; MAD x1e3, Grad /1e3, dtSSD x1e2; unknown growth: propagated unknown area / the "
          "keyframe trimap's, frames after the keyframe")
    print(family_table(methods, found))
    held_out = [f for f in found if f in HELD_OUT_FAMILIES]
    for name, _ in candidates[-1:]:
        print(f"\nissue 17 targets, {name}:")
        print("\n".join(target_lines(methods, name, held_out)))
    if a.json:
        Path(a.json).write_text(json.dumps({"per_family": methods, "per_clip": per_clip}, indent=1))
    if a.sheet and candidates:
        clip = next((c for c in clips if c.name == a.sheet_clip), clips[0])
        contact_sheet_for(candidates[-1][1], clip, Path(a.sheet), a.sheet_scale)
        print(f"wrote {a.sheet} ({clip.name})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
