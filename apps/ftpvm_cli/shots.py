"""``ftpvm shots list|show|rm|prune``: the shots in an engine state directory, their size and keyframes."""
from __future__ import annotations

import argparse
import json
import re
import time
from dataclasses import asdict
from pathlib import Path

from .console import info
from .errors import CLIError

_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_UNITS_B = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_age(text: str) -> float:
    """``90s``, ``30m``, ``12h``, ``7d``, ``2w`` -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", text.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r}: write a number and a unit, e.g. 12h, 7d or 2w (s, m, h, d, w)")
    return float(m.group(1)) * _UNITS_S[m.group(2)]


def parse_size(text: str) -> int:
    """``500M``, ``20G``, ``1.5T`` (powers of 1024; ``B`` or nothing = bytes) -> bytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", text.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r}: write a number and a unit, e.g. 500M, 20G or 1T")
    return int(float(m.group(1)) * _UNITS_B[m.group(2)])


def human_size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch)) if epoch else "-"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("shots", help="list, show, remove or prune shots in the state directory",
                            description="The shots in the engine's state directory (what `ftpvm matte` resumes "
                                        "from): their size on disk, keyframes and last change; remove or prune "
                                        "them. A server's shots: the same calls through ftpvm_client.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True

    def action(name: str, helptext: str):
        p = actions.add_parser(name, help=helptext, description=helptext)
        p.add_argument("--state-dir", default=None,
                       help="engine state directory (default: $FTPVM_STATE_DIR or the user state dir)")
        p.add_argument("--json", action="store_true", help="print JSON")
        return p

    action("list", "every shot: size on disk, keyframes, last change").set_defaults(func=_list)
    show = action("show", "one shot in full: frame size, colour space, settings, keyframes, size")
    show.add_argument("shot", help="shot id (see `ftpvm shots list`)")
    show.set_defaults(func=_show)
    rm = action("rm", "remove shots (keyframes, cache and settings)")
    rm.add_argument("shots", nargs="+", metavar="SHOT", help="shot id(s)")
    rm.set_defaults(func=_rm)
    prune = action("prune", "remove shots unchanged for a while and/or the oldest until the rest fit a size")
    prune.add_argument("--older-than", type=parse_age, metavar="AGE", help="e.g. 12h, 7d, 2w")
    prune.add_argument("--max-size", type=parse_size, metavar="SIZE",
                       help="keep the most recently changed shots within this total, e.g. 50G")
    prune.add_argument("--dry-run", action="store_true", help="name the shots, remove nothing")
    prune.set_defaults(func=_prune)


def _store(args: argparse.Namespace):
    from ftpvm_core.engine.store import Store, default_state_dir

    root = args.state_dir or default_state_dir()
    if not (Path(root) / "shots").is_dir():
        raise CLIError(f"no engine state directory at {root} (pass --state-dir, or set $FTPVM_STATE_DIR)")
    return Store(root)


def _row(s) -> dict:
    d = asdict(s)
    d["keyframes"] = {str(k): v for k, v in s.keyframes.items()}
    return d


def _list(args: argparse.Namespace) -> int:
    from ftpvm_core.engine import inventory

    store = _store(args)
    try:
        shots = inventory.summaries(store)
    finally:
        store.close()
    if args.json:
        print(json.dumps([_row(s) for s in shots], indent=1))
        return 0
    if not shots:
        info(f"no shots in {store.root}")
        return 0
    width = max(len(s.id) for s in shots)
    print(f"{'SHOT':<{width}}  {'SIZE':>10}  {'CHANGED':<16}  KEYFRAMES")
    for s in shots:
        print(f"{s.id:<{width}}  {human_size(s.size_bytes):>10}  {_when(s.modified):<16}  "
              f"{'DAMAGED (ftpvm shots rm it)' if s.damaged else ','.join(map(str, s.keyframes)) or '-'}")
    info(f"{len(shots)} shot(s), {human_size(sum(s.size_bytes for s in shots))} in {store.root}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from ftpvm_core.engine import inventory
    from ftpvm_core.errors import EngineError

    store = _store(args)
    try:
        s = inventory.summary(store, args.shot)
    except EngineError as exc:
        raise CLIError(str(exc)) from None
    finally:
        store.close()
    if args.json:
        print(json.dumps(_row(s), indent=1))
        return 0
    print(f"shot        {s.id}\nfolder      {store.shot_dir(s.id)}\nframe       {s.width}x{s.height}, "
          f"{s.colorspace}\nsize        {human_size(s.size_bytes)}\nchanged     {_when(s.modified)}")
    print("keyframes   " + (", ".join(f"{f} ({src})" for f, src in s.keyframes.items()) or "none"))
    print("settings    " + ", ".join(f"{k}={v}" for k, v in s.settings.items()))
    return 0


def _rm(args: argparse.Namespace) -> int:
    from ftpvm_core.engine import inventory
    from ftpvm_core.errors import EngineError

    store = _store(args)
    try:
        missing = [sid for sid in args.shots if sid not in store.shot_ids()]
        if missing:
            raise CLIError(f"no shot {', '.join(missing)} in {store.root} (see `ftpvm shots list`); nothing removed")
        for sid in args.shots:
            inventory.remove(store, sid)
            info(f"removed {sid}")
    except EngineError as exc:
        raise CLIError(str(exc)) from None
    finally:
        store.close()
    return 0


def _prune(args: argparse.Namespace) -> int:
    from ftpvm_core.engine import inventory
    from ftpvm_core.errors import EngineError

    if args.older_than is None and args.max_size is None:
        raise CLIError("say what to prune: --older-than AGE (e.g. 7d) and/or --max-size SIZE (e.g. 50G)")
    store = _store(args)
    try:
        chosen = inventory.prune(store, args.older_than, args.max_size, dry_run=args.dry_run)
    except EngineError as exc:
        raise CLIError(str(exc)) from None
    finally:
        store.close()
    verb = "would remove" if args.dry_run else "removed"
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, "shots": [_row(s) for s in chosen]}, indent=1))
    for s in chosen:
        info(f"{verb} {s.id} ({human_size(s.size_bytes)}, changed {_when(s.modified)})")
    info(f"{verb} {len(chosen)} shot(s), {human_size(sum(s.size_bytes for s in chosen))}")
    return 0
