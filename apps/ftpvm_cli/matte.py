"""``ftpvm matte``: matte a shot (image sequence or movie) from keyframe trimaps or roto masks into EXRs."""
from __future__ import annotations

import argparse
import hashlib
import os
import re
from typing import TYPE_CHECKING

from ftpvm_wire.sequences import canonical, format_frames, is_sequence, sequence_stem
from ftpvm_wire.shots import shot_id_from

from .console import info, progress, warning
from .errors import CLIError
from .outputs import Outputs, check_folder, plan_outputs

if TYPE_CHECKING:
    import numpy as np

EXAMPLE = """examples:
  ftpvm matte plate.%04d.exr --keyframe 1001=trimap.1001.exr --colorspace ACEScg --out matte.####.exr
  ftpvm matte plate.####.exr --roto 1001=roto.1001.exr --band 12 --colorspace "Linear Rec.709 (sRGB)" \\
      --out out/matte.%04d.exr --foreground --range 1001-1100
  ftpvm matte clip.mp4 --keyframe 0=trimap0.png --out look/matte.%04d.exr
  ftpvm matte plate.1001-1100x2#.exr --keyframe 1001=tri.exr --colorspace ACEScg --out half/matte.@@@@.exr

Patterns: %04d and #### are four digits, as are @@@@ and a lone # (fileseq, oiiotool); see docs/engine.md.

Re-running the same command resumes: frames already matted come from the engine's cache."""


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per shot setting, built from the settings schema."""
    from ftpvm_core.engine.settings import SETTINGS_SCHEMA

    group = parser.add_argument_group("shot settings")
    for f in SETTINGS_SCHEMA:
        if f.name == "roto_band":  # per keyframe here: --band
            continue
        flag = "--" + f.name.replace("_", "-")
        kwargs = dict(dest=f"setting_{f.name}", default=None, metavar=f.name.upper(),
                      help=f"{f.help} (default: {f.default})")
        if f.choices:
            kwargs["choices"] = list(f.choices) + list(f.aliases or ())
        group.add_argument(flag, **kwargs)


def settings_from_args(args: argparse.Namespace) -> dict:
    from ftpvm_core.engine.settings import SETTINGS_SCHEMA

    return {f.name: getattr(args, f"setting_{f.name}") for f in SETTINGS_SCHEMA
            if getattr(args, f"setting_{f.name}", None) is not None}


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto)")
    parser.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto",
                        help="network runtime: auto = ONNX Runtime on the CPU when installed, else torch "
                             "(default: auto)")
    parser.add_argument("--weights", default=None,
                        help="checkpoint (default: $FTPVM_WEIGHTS, saves/ftpvm.pth, built-in demo weights)")
    parser.add_argument("--state-dir", default=None,
                        help="engine state directory (default: $FTPVM_STATE_DIR or the user state dir)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "matte", help="matte a shot into EXRs (alpha, trimap, foreground) or separate sequences",
        description="Matte an image sequence or movie with FTP-VM, propagating artist keyframes (trimaps or "
                    "roto) through the shot. Writes one multi-channel EXR per frame (A, trimap, fg.R/G/B) with "
                    "--out, and/or separate alpha, foreground and trimap sequences (see docs/matte.md).",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sequence", metavar="SEQUENCE",
                   help="plate pattern (name.%%04d.exr, name.####.exr, name.@@@@.exr, name.1001-1100#.exr) or a movie "
                        "file (mp4/mov)")
    p.add_argument("--keyframe", action="append", default=[], metavar="FRAME=TRIMAP",
                   help="trimap image for a frame (0 bg, 0.5 unknown, 1 fg); repeatable")
    p.add_argument("--roto", action="append", default=[], metavar="FRAME=MASK",
                   help="roto matte for a frame (binary or soft); the trimap gets an unknown band; repeatable")
    p.add_argument("--band", type=float, default=None, metavar="PX",
                   help="unknown band around --roto edges: pixels, or a fraction (< 1) of the frame diagonal "
                        "(default: 10)")
    p.add_argument("--keep-keyframes", action="store_true",
                   help="keep the shot's keyframes from earlier runs (default: this command's keyframes are the "
                        "full set; earlier ones not given again are removed)")
    p.add_argument("--colorspace", default=None,
                   help="OCIO colour space of the plates (required for sequences; movies default to "
                        "'sRGB Encoded Rec.709 (sRGB)')")
    out = p.add_argument_group("outputs (at least one)")
    out.add_argument("--out", metavar="PATTERN",
                     help="multi-channel EXR per frame (A, trimap, and fg.R/G/B with --foreground), "
                          "e.g. out/matte.%%04d.exr")
    out.add_argument("--output-alpha", metavar="PATTERN",
                     help="alpha alone per frame: EXR (half/float), 16-bit PNG or TIFF, e.g. alpha.####.png")
    out.add_argument("--output-foreground", metavar="PATTERN",
                     help="foreground colour per frame in the plates' colour space: EXR or TIFF")
    out.add_argument("--output-trimap", metavar="PATTERN",
                     help="the trimap (0, 0.5, 1) per frame: EXR, PNG or TIFF")
    out.add_argument("--preview", metavar="MOVIE",
                     help="a preview movie (mp4/mov) of the foreground over a checkerboard; needs PyAV "
                          "(pip install \"ftpvm[movie]\")")
    p.add_argument("--foreground", action="store_true", help="also write the foreground colour (fg.R/G/B) in --out")
    p.add_argument("--premultiply", action="store_true", help="write the foreground premultiplied by alpha")
    p.add_argument("--range", default=None, metavar="FRAMES",
                   help="only these frames: A-B (inclusive), A-BxN (every Nth), or a comma list such as 1001,1005; "
                        "a frame asked for that is missing is an error unless --allow-gaps")
    p.add_argument("--allow-gaps", action="store_true",
                   help="matte the frames that exist when some asked for (or inside the sequence) are missing, "
                        "with a warning listing them")
    p.add_argument("--layer", default=None, help="EXR layer of the plates to read (e.g. 'plate' for plate.R/G/B)")
    p.add_argument("--shot", default=None, help="shot id in the state dir (default: from the sequence path)")
    p.add_argument("--reset", action="store_true", help="drop the shot's keyframes and cache first")
    p.add_argument("--pixel-type", choices=("half", "float"), default="half", help="EXR pixel type (default half)")
    p.add_argument("--compression", default="zip", help="EXR compression (default zip)")
    add_engine_arguments(p)
    add_settings_arguments(p)
    p.set_defaults(func=run)


def _frame_spec(text: str, flag: str) -> tuple[int, str]:
    m = re.fullmatch(r"(-?\d+)=(.+)", text)
    if not m:
        raise CLIError(f"{flag} {text!r} must be FRAME=PATH, e.g. {flag} 1001=trimap.1001.exr")
    return int(m.group(1)), m.group(2)


def default_shot_id(sequence: str) -> str:
    """``<name>-<8 hex of the path>``; a pattern's path in its canonical spelling, so ``plate.####.exr``,
    ``plate.%04d.exr`` and ``plate.1001-1100#.exr`` are one shot."""
    key = canonical(sequence) if is_sequence(sequence) else sequence
    digest = hashlib.sha1(os.path.abspath(key).encode()).hexdigest()[:8]
    return f"{shot_id_from(sequence_stem(sequence), max_length=80)}-{digest}"


def _check_arguments(args: argparse.Namespace) -> tuple[list[tuple[int, str, str]], dict, Outputs]:
    """Everything that needs no pixels and no network, checked first: keyframes, settings, outputs."""
    from ftpvm_core.engine.settings import ShotSettings
    from ftpvm_core.imaging.colour import resolve_colorspace

    if not args.keyframe and not args.roto:
        raise CLIError("give at least one --keyframe FRAME=TRIMAP or --roto FRAME=MASK")
    keys = [(*_frame_spec(k, "--keyframe"), "trimap") for k in args.keyframe]
    keys += [(*_frame_spec(r, "--roto"), "mask") for r in args.roto]
    frames = [f for f, _, _ in keys]
    twice = sorted({f for f in frames if frames.count(f) > 1})
    if twice:
        raise CLIError(f"frame(s) {', '.join(map(str, twice))} have more than one --keyframe/--roto; give one each")
    for _, path, _ in keys:
        if not os.path.isfile(path):
            raise CLIError(f"keyframe file not found: {path}")
    settings = settings_from_args(args)
    ShotSettings.from_dict(settings)  # InvalidInput names the setting and its range
    if args.band is not None:
        ShotSettings.from_dict({"roto_band": args.band})  # --band is roto_band per keyframe: one range
    if args.colorspace is not None:
        args.colorspace = resolve_colorspace(args.colorspace)
    if args.weights is not None and not os.path.isfile(args.weights):
        raise CLIError(f"--weights {args.weights}: no such file")
    if args.shot is not None:
        from ftpvm_core.engine.engine import validate_shot_id

        validate_shot_id(args.shot)
    return keys, settings, plan_outputs(args)


def run(args: argparse.Namespace) -> int:
    from ftpvm_core.errors import EngineError

    try:
        return _run(args)
    except EngineError as exc:
        raise CLIError(str(exc)) from None


def _open_source(args: argparse.Namespace):
    """The plates; gaps inside the requested range are refused unless --allow-gaps (then listed as a warning)."""
    from ftpvm_core.imaging.sources import open_source, parse_range
    from ftpvm_wire.sequences import format_frames

    source = open_source(args.sequence, parse_range(args.range), layer=args.layer, allow_gaps=True)
    if source.gaps:
        what = (f"{len(source.gaps)} of the {source.wanted} frames asked for are missing from {args.sequence!r}: "
                f"{format_frames(source.gaps)} (it has {format_frames(source.frames)})")
        if not args.allow_gaps:
            raise CLIError(f"{what}; render them, narrow --range, or pass --allow-gaps to matte the others")
        warning(f"warning: {what}; matting the others (--allow-gaps): the recurrent state restarts after each gap")
    return source


def _open_shot(engine, args: argparse.Namespace, width: int, height: int, colorspace: str, settings: dict):
    """The shot, created or reopened with this run's settings (applied when only settings changed)."""
    from ftpvm_core.engine.settings import ShotSettings
    from ftpvm_core.errors import ShotConflict

    shot_id = args.shot or default_shot_id(args.sequence)
    before = None
    if not args.reset and shot_id in engine.list_shots():
        before = engine.get_shot(shot_id).settings.to_dict()
    try:
        shot = engine.open_shot(shot_id, width, height, colorspace, settings=settings, reset=args.reset,
                                apply_settings=True)
    except ShotConflict as exc:
        raise CLIError(f"{exc}. Pass --reset to start the shot again (drops its keyframes and cache), or --shot "
                       f"NAME to keep it and make a new one") from None
    info(f"shot {shot.id} (state in {engine.store.shot_dir(shot.id)})" + ("" if before else ", new"))
    if before:
        after = ShotSettings.coerce(settings).to_dict()
        changed = [f"{k} {before[k]} -> {after[k]}" for k in after if before[k] != after[k]]
        if changed:
            info(f"settings changed since the last run: {', '.join(changed)} (results they affect are recomputed)")
    return shot


def _set_keyframes(shot, source, keys: list[tuple[int, str, str]], band: float | None, keep: bool) -> None:
    """This run's keyframes; earlier runs' keyframes are removed unless ``keep``. Prints the set used."""
    from ftpvm_core.imaging.io import read_mask

    earlier = {k.frame: k for k in shot.keyframes()}
    for f, path, kind in keys:
        plane, image = read_mask(path), source.read(f)
        if kind == "trimap":
            shot.set_keyframe(f, image, trimap=plane)
        else:
            shot.set_keyframe(f, image, outer=plane, band=band)
    given = {f: path for f, path, _ in keys}
    stale = sorted(set(earlier) - set(given))
    if not keep:
        for f in stale:
            shot.remove_keyframe(f)
        if stale:
            info(f"removed keyframe(s) {', '.join(map(str, stale))} left by earlier runs (--keep-keyframes keeps "
                 f"them)")
    lines = [f"  {k.frame}: {given[k.frame]} ({k.source})" if k.frame in given
             else f"  {k.frame}: from an earlier run ({k.source}), kept by --keep-keyframes"
             for k in shot.keyframes()]
    info("keyframes used:\n" + "\n".join(lines))


def _run(args: argparse.Namespace) -> int:
    from ftpvm_core.engine import Engine
    from ftpvm_core.imaging.io import same_file
    from ftpvm_core.imaging.sources import MOVIE_COLORSPACE, open_source
    from ftpvm_core.model.checkpoint import CheckpointError

    keys, settings, outputs = _check_arguments(args)
    source = _open_source(args)
    colorspace = args.colorspace or (MOVIE_COLORSPACE if source.is_movie else None)
    if colorspace is None:
        raise CLIError("--colorspace is required for image sequences (e.g. ACEScg or 'Linear Rec.709 (sRGB)')")
    protected = set(source.paths.values()) | {p for _, p, _ in keys}
    for out in outputs.sequences:
        for f in source.frames:
            target = out.path(f)
            if any(same_file(target, p) for p in protected):
                raise CLIError(f"{out.flag} would overwrite an input ({target}); write somewhere else")
    all_frames = open_source(args.sequence, layer=args.layer, allow_gaps=True).frames if args.range \
        else source.frames
    for f, path, _ in keys:
        if f not in all_frames:
            raise CLIError(f"keyframe frame {f} is not in {source.description} (it has {format_frames(all_frames)})")
    for out in outputs.sequences:
        check_folder(out.path(source.frames[0]), out.flag)
    if outputs.preview:
        check_folder(outputs.preview, "--preview")

    first = source.read(source.frames[0])
    height, width = first.shape[:2]
    try:
        engine = Engine(weights=args.weights, device=args.device, state_dir=args.state_dir, backend=args.backend)
    except (CheckpointError, RuntimeError) as exc:
        raise CLIError(str(exc)) from None
    info(engine.weights_notice)
    with engine:
        shot = _open_shot(engine, args, width, height, colorspace, settings)
        _set_keyframes(shot, source, keys, args.band, args.keep_keyframes)
        want_fg = outputs.needs_foreground(args.foreground)
        passes = ("alpha", "trimap") + (("foreground",) if want_fg else ())
        meta = {"shot": shot.id, "model_fingerprint": engine.fingerprint, "colorspace": colorspace,
                "weights": engine.weights_source}
        outputs.open_preview(width, height, colorspace)
        cached, ok = 0, False
        try:
            with progress(total=len(source.frames), desc=f"matte {shot.id}", unit="frame") as bar:
                frames = ((f, source.read(f)) for f in source.frames)
                whole = []  # the whole sequence, opened only if the engine asks for frames before the range

                def refetch(frame: int) -> "np.ndarray":
                    if not whole:
                        whole.append(open_source(args.sequence, layer=args.layer, allow_gaps=True))
                    return whole[0].read(frame)
                for res in shot.matte(frames, passes=passes, premultiply=args.premultiply, refetch=refetch):
                    outputs.write(res.frame, res.alpha, res.trimap, res.foreground, args.foreground, meta)
                    outputs.add_preview(res.foreground, res.alpha, args.premultiply)
                    cached += res.from_cache
                    bar.update(1)
            ok = True
        finally:
            outputs.close(ok)
    written = ", ".join(o.text for o in outputs.sequences) or "the preview"
    info(f"wrote {len(source.frames)} frames to {written} ({cached} from cache); shot {shot.id!r}; alpha is data, "
         f"foreground in {colorspace}" + (", premultiplied" if args.premultiply else "")
         + (f"; preview {outputs.preview}" if outputs.preview else ""))
    return 0
