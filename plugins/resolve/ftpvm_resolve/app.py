"""Entry point: from Workspace > Scripts (with Resolve's ``resolve``/``fusion``/``bmd`` globals) or outside.

Inside Resolve Studio the dialog opens. Where there is no UIManager (the free Resolve 19.1+), outside Resolve, or
with ``--console``, the options below run the job and progress goes to the console; the clip's keyframes come from
its keyframe file (:mod:`.keyframe_store`), which ``--keyframe`` options replace. Errors are printed as one message
with what to do, never a traceback (exit status 2; 1 when cancelled).
"""
from __future__ import annotations

import argparse
import sys
import threading
from dataclasses import replace
from typing import Any, Callable, List, Optional, Sequence

from . import colour, keyframe_store, settings as settings_mod
from .errors import JobCancelled, ResolveScriptError, explain
from .host import ResolveHost, connect
from .job import MatteJob
from .settings import Settings


def say(message: str, stream: Any = None) -> None:
    """Print to Resolve's console (or the terminal)."""
    print(f"FTPVM Matte: {message}", file=stream or sys.stdout, flush=True)


def check_server(s: Settings) -> str:
    """One line about the server at ``s.server`` (for the dialog's Check button)."""
    from ftpvm_client import Client

    with Client(s.server, token=s.token or None, timeout=5.0) as client:
        info = client.info()
    return (f"ftpvm-server {info.server_version} on {info.device} ({info.weights_source} weights)"
            + (", path mode" if info.path_mode else ""))


def advertised_schema(s: Settings) -> Any:
    """The settings schema the chosen server advertises, or the shipped snapshot when it does not answer at once."""
    from ftpvm_client import Client
    from ftpvm_client.retry import NO_RETRY
    from ftpvm_wire.schema import advertised

    try:
        with Client(s.server, token=s.token or None, timeout=2.0, retry=NO_RETRY) as client:
            return advertised(client.info().settings_schema)
    except Exception:  # noqa: BLE001 - no server yet: the dialog still opens, with the snapshot's defaults
        return advertised(None)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="FTPVM Matte", description="Matte the clip under Resolve's playhead with FTP-VM.")
    p.add_argument("--console", action="store_true", help="no dialog: run with these options and the saved ones")
    p.add_argument("--server", help="ftpvm-server address host:port")
    p.add_argument("--keyframe", action="append", default=[], metavar="'FRAME PATH'",
                   help="a keyframe matte (repeatable); PATH may be mediapool:CLIP, fusion:[MASK TOOL] "
                        "(a mask drawn in the clip's Fusion comp) or track:N (the matte clip on video track N)")
    p.add_argument("--roto", action="store_true", help="the keyframe mattes are roto mattes, not trimaps")
    p.add_argument("--band", type=int, help="roto band in pixels (default: the server's roto_band)")
    p.add_argument("--range", nargs=2, type=int, metavar=("FIRST", "LAST"), help="timeline frames (default: the clip)")
    p.add_argument("--colorspace", help="source colour space (default: from the project's colour management)")
    p.add_argument("--place", choices=settings_mod.PLACEMENTS)
    p.add_argument("--source", choices=settings_mod.SOURCES)
    p.add_argument("--transport", choices=settings_mod.TRANSPORTS)
    p.add_argument("--output", help="folder for the work folders (default: ~/FTPVM/resolve)")
    p.add_argument("--shot", help="shot id (default: from the clip)")
    return p


def settings_from_args(args: argparse.Namespace, base: Settings) -> Settings:
    """``base`` with the command-line options applied."""
    kind = "roto" if args.roto else "trimap"
    values = {k: v for k, v in dict(server=args.server, band=args.band, colorspace=args.colorspace, place=args.place,
                                    source=args.source, transport=args.transport, output_root=args.output,
                                    shot_id=args.shot).items() if v is not None}
    if args.keyframe:
        values["keyframes"] = settings_mod.parse_keyframes("\n".join(args.keyframe), kind)
    if args.range:
        values["first"], values["last"] = args.range
    return replace(base, **values)


def no_window_note(host: ResolveHost) -> str:
    """Why the window does not open, naming the product and version and what is missing."""
    return (f"{host.product()} gives scripts no UIManager (the FTPVM Matte window needs DaVinci Resolve Studio, or a "
            f"free Resolve before 19.1), so FTPVM Matte runs without its window: the server, range and outputs "
            f"are the saved settings, the keyframes come from the clip's keyframe file.")


def run_console(host: ResolveHost, s: Settings, cancel: Optional[threading.Event] = None) -> int:
    """Run one job, printing progress; the exit status."""
    last: List[str] = [""]

    def progress(stage: str, fraction: Optional[float], message: str) -> None:
        line = message + (f" {fraction * 100:.0f}%" if fraction is not None else "")
        if line != last[0]:
            say(line)
            last[0] = line

    try:
        MatteJob(host, s.checked(), progress=progress, cancel=cancel).run()
        return 0
    except JobCancelled as exc:
        say(str(exc))
        return 1
    except Exception as exc:  # noqa: BLE001 - one message, never a traceback
        say(explain(exc, s.server), sys.stderr)
        return 2


def main(resolve: Any = None, fusion: Any = None, bmd: Any = None, argv: Optional[Sequence[str]] = None,
         dialog_factory: Optional[Callable[..., Any]] = None) -> int:
    """Open the dialog (inside Resolve) or run from the console; returns an exit status."""
    args = build_parser().parse_args(list(argv or []))
    try:
        host = connect(resolve)
        item = host.current_clip()
        clip = host.clip_facts(item)
    except ResolveScriptError as exc:
        say(str(exc), sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001
        say(explain(exc), sys.stderr)
        return 2
    s = settings_from_args(args, settings_mod.load())
    try:
        if args.keyframe:
            keyframe_store.save(clip, s.keyframes)
        else:
            s = replace(s, keyframes=keyframe_store.load(clip))
    except (OSError, settings_mod.SettingsError) as exc:
        say(f"The keyframe file of clip {clip.name} ({keyframe_store.path_for(clip)}): {exc}", sys.stderr)
        return 2
    fusion = fusion if fusion is not None else _fusion_of(host)
    ui = getattr(fusion, "UIManager", None) if fusion is not None else None
    if args.console or ui is None or bmd is None:
        if ui is None and bmd is not None:
            say(no_window_note(host))
        if not s.keyframes:
            path = keyframe_store.save(clip, ())
            say(f"No keyframes for clip {clip.name} yet. Open {path} in a text editor, add a line 'FRAME PATH' "
                f"per keyframe (a trimap or roto matte; see the help in the file), save it and run FTPVM Matte "
                f"again.", sys.stderr)
            return 2
        return run_console(host, s)

    detected = colour.detect(clip.colour_settings, "render")
    clip_text = f"{clip.name}: timeline frames {clip.start}-{clip.last}, {clip.width}x{clip.height}, track V{clip.track}"

    def run_job(chosen: Settings, progress: Any, cancel: threading.Event) -> str:
        keyframe_store.save(clip, chosen.keyframes)
        return MatteJob(host, chosen, item=item, progress=progress, cancel=cancel).run().summary()

    from .dialog import MatteDialog

    factory = dialog_factory or MatteDialog
    dialog = factory(ui, bmd.UIDispatcher(ui), s, run_job, check_server, clip_text,
                     detected.ocio or detected.resolve_name, schema=advertised_schema(s))
    dialog.show()
    return 0


def _fusion_of(host: ResolveHost) -> Any:
    try:
        return host.resolve.Fusion()
    except Exception:  # noqa: BLE001 - no Fusion means console mode
        return None
