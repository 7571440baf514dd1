"""``ftpvm matte``: matte a shot (image sequence or movie) from keyframe trimaps or roto masks into EXRs."""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys

from ftpvm_wire.sequences import Sequence, SequenceError, canonical, is_sequence, sequence_stem
from ftpvm_wire.shots import shot_id_from

from .errors import CLIError

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
        "matte", help="matte a shot into EXRs (alpha, trimap, foreground)",
        description="Matte an image sequence or movie with FTP-VM, propagating artist keyframes (trimaps or "
                    "roto) through the shot. Writes one multi-channel EXR per frame (A, trimap, fg.R/G/B).",
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
    p.add_argument("--colorspace", default=None,
                   help="OCIO colour space of the plates (required for sequences; movies default to "
                        "'sRGB Encoded Rec.709 (sRGB)')")
    p.add_argument("--out", required=True, metavar="PATTERN", help="output pattern, e.g. out/matte.%%04d.exr")
    p.add_argument("--foreground", action="store_true", help="also write the foreground colour (fg.R/G/B)")
    p.add_argument("--premultiply", action="store_true", help="write the foreground premultiplied by alpha")
    p.add_argument("--range", default=None, metavar="FRAMES",
                   help="only these frames: A-B (inclusive), A-BxN (every Nth), or a comma list such as 1001,1005; "
                        "a frame asked for that is missing is an error")
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


def output_pattern(text: str) -> Sequence:
    """The ``--out`` pattern, or CLIError saying how to write one."""
    try:
        return Sequence.parse(text)
    except SequenceError as exc:
        raise CLIError(f"--out: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from ftpvm_core.errors import EngineError

    try:
        return _run(args)
    except EngineError as exc:
        raise CLIError(str(exc)) from None


def _run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ftpvm_core.engine import Engine
    from ftpvm_core.imaging.io import read_mask, same_file, write_exr
    from ftpvm_core.imaging.sources import MOVIE_COLORSPACE, open_source, parse_range
    from ftpvm_core.model.checkpoint import CheckpointError

    if not args.keyframe and not args.roto:
        raise CLIError("give at least one --keyframe FRAME=TRIMAP or --roto FRAME=MASK")
    keys = [(*_frame_spec(k, "--keyframe"), "trimap") for k in args.keyframe]
    keys += [(*_frame_spec(r, "--roto"), "mask") for r in args.roto]
    for _, path, _ in keys:
        if not os.path.isfile(path):
            raise CLIError(f"keyframe file not found: {path}")
    out_pattern = output_pattern(args.out)
    source = open_source(args.sequence, parse_range(args.range), layer=args.layer)
    colorspace = args.colorspace or (MOVIE_COLORSPACE if source.is_movie else None)
    if colorspace is None:
        raise CLIError("--colorspace is required for image sequences (e.g. ACEScg or 'Linear Rec.709 (sRGB)')")
    protected = set(source.paths.values()) | {p for _, p, _ in keys}
    for f in source.frames:
        target = out_pattern.path(f)
        if any(same_file(target, p) for p in protected):
            raise CLIError(f"--out would overwrite an input ({target}); write somewhere else")
    all_frames = open_source(args.sequence).frames if args.range else source.frames
    for f, path, _ in keys:
        if f not in all_frames:
            raise CLIError(f"keyframe frame {f} is not in {source.description}")

    first = source.read(source.frames[0])
    height, width = first.shape[:2]
    try:
        engine = Engine(weights=args.weights, device=args.device, state_dir=args.state_dir, backend=args.backend)
    except CheckpointError as exc:
        raise CLIError(str(exc)) from None
    except RuntimeError as exc:
        raise CLIError(str(exc)) from None
    print(engine.weights_notice, file=sys.stderr)
    with engine:
        shot = engine.open_shot(args.shot or default_shot_id(args.sequence), width, height, colorspace,
                                settings=settings_from_args(args), reset=args.reset)
        for f, path, kind in keys:
            plane = read_mask(path)
            image = source.read(f)
            if kind == "trimap":
                shot.set_keyframe(f, image, trimap=plane)
            else:
                shot.set_keyframe(f, image, outer=plane, band=args.band)
        passes = ("alpha", "trimap") + (("foreground",) if args.foreground else ())
        meta = {"shot": shot.id, "model_fingerprint": engine.fingerprint, "colorspace": colorspace,
                "weights": engine.weights_source}
        frames = ((f, source.read(f)) for f in source.frames)
        cached = 0
        bar = tqdm(total=len(source.frames), desc=f"matte {shot.id}", unit="frame")
        for res in shot.matte(frames, passes=passes, premultiply=args.premultiply):
            channels = {"A": res.alpha, "trimap": res.trimap}
            if res.foreground is not None:
                for i, c in enumerate("RGB"):
                    channels[f"fg.{c}"] = res.foreground[..., i]
            write_exr(out_pattern.path(res.frame), channels, pixel_type=args.pixel_type,
                      compression=args.compression, metadata={**meta, "frame": res.frame})
            cached += res.from_cache
            bar.update(1)
        bar.close()
    print(f"wrote {len(source.frames)} frames to {args.out} ({cached} from cache); shot {shot.id!r}; "
          f"alpha is data, foreground in {colorspace}" + (", premultiplied" if args.premultiply else ""),
          file=sys.stderr)
    return 0
