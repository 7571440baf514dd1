"""One press of Process: sync keyframes, render the frames that need it, matte them, record the result.

Host-independent: the Nuke adapter passes in ``render`` (render one frame of the Source to the
cache), ``progress`` and ``cancelled``; everything else is the client and files. Errors from the
client (``FTPVMError``) and the plan (``PlanError``) propagate for the adapter to show.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from ftpvm_wire.passes import EXR_CHANNELS

from . import exr
from .plan import (GUIDE_NAMES, Manifest, NodeState, PlanError, ProcessPlan, choose_transfer, plan_process,
                   require_keyframes)

RENDER_SHARE = 0.4  # share of the progress bar for rendering plates; the rest is matting
SAVE_EVERY = 2.0    # seconds between manifest saves while matting
CANCEL_POLL = 0.1   # seconds between looks at the Cancel button while frames stream


@dataclass
class ProcessReport:
    """What a Process did, for the status line and tests."""

    transfer: str = ""
    plan: Optional[ProcessPlan] = None
    sent_keyframes: List[int] = field(default_factory=list)
    removed_keyframes: List[int] = field(default_factory=list)
    rendered: List[int] = field(default_factory=list)
    matted: List[int] = field(default_factory=list)
    from_cache: List[int] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0

    def summary(self) -> str:
        if self.cancelled:
            left = len(self.plan.frames) - len(self.matted) if self.plan else 0
            return (f"Cancelled: {len(self.matted)} frame(s) processed and kept, {left} still to do. "
                    f"Press Process to continue.")
        if self.plan is not None and not self.plan.frames:
            return "Up to date: every frame in the range is processed."
        return f"Processed {len(self.matted)} frame(s) in {self.seconds:.1f} s ({self.transfer} transfer)."


def keyframe_payload(state: NodeState, frame: int, transfer: str) -> Tuple[Any, Dict[str, Any]]:
    """(image, keyword arguments) for the client's set_keyframe, from the keyframe's files.

    The guide file holds the wire guides by name (``outer`` [+ ``inner``], or ``trimap``); a roto sent alone
    carries its band.
    """
    rec = state.keyframes[frame]
    source = state.paths.path("key_source", frame)
    guide_path = state.paths.path("key_guide", frame)
    try:
        guides: Dict[str, Any] = {name: plane for name, plane in exr.read(guide_path).items()
                                  if name in GUIDE_NAMES}
        image: Any = source if transfer == "path" else open(source, "rb").read()
    except (OSError, exr.ExrError):
        guides = {}
    if not guides:
        raise PlanError(f"The files of keyframe {frame} are missing from the cache ({state.paths.shot_dir}): "
                        f"go to frame {frame} and press 'set keyframe' again.")
    if rec.mode == "roto":
        guides["band"] = int(round(rec.band))
    return image, guides


def run(state: NodeState, client: Any, render: Callable[[int], None],
        progress: Callable[[float, str], None], cancelled: Callable[[], bool]) -> ProcessReport:
    """Process ``state``'s frame range against ``client``; returns what was done (cancelled included)."""
    began = time.monotonic()
    report = ProcessReport()
    require_keyframes(state)   # before touching the server
    info = client.info()
    report.transfer = choose_transfer(state.transfer, state.cache_root, info.path_mode, info.allowed_roots)
    shot = client.open_shot(state.shot_id, width=state.width, height=state.height, colorspace=state.colorspace,
                            settings=state.settings)
    manifest = Manifest.load(state.paths.manifest, state.shot_id)
    plan = plan_process(state, manifest, [k.frame for k in shot.keyframes()])
    report.plan = plan
    try:
        _sync_keyframes(state, shot, manifest, plan, report)
        if plan.frames:
            _render(state, plan, render, progress, cancelled, report)
            if not report.cancelled:
                _matte(state, shot, manifest, plan, progress, cancelled, report)
    finally:
        manifest.save(state.paths.manifest)
    report.seconds = time.monotonic() - began
    progress(1.0, report.summary())
    return report


def _sync_keyframes(state: NodeState, shot: Any, manifest: Manifest, plan: ProcessPlan,
                    report: ProcessReport) -> None:
    for f in plan.remove_keyframes:
        shot.remove_keyframe(f)
        manifest.sent_keyframes.pop(f, None)
        report.removed_keyframes.append(f)
    for f in plan.send_keyframes:
        image, guides = keyframe_payload(state, f, report.transfer)
        shot.set_keyframe(f, image=image, **guides)
        manifest.sent_keyframes[f] = state.keyframes[f].digest
        report.sent_keyframes.append(f)


def _render(state: NodeState, plan: ProcessPlan, render: Callable[[int], None],
            progress: Callable[[float, str], None], cancelled: Callable[[], bool], report: ProcessReport) -> None:
    total = len(plan.frames)
    for i, f in enumerate(plan.frames):
        if cancelled():
            report.cancelled = True
            return
        progress(RENDER_SHARE * i / total, f"Rendering Source frame {f} ({i + 1}/{total})")
        render(f)
        report.rendered.append(f)


def _matte(state: NodeState, shot: Any, manifest: Manifest, plan: ProcessPlan,
           progress: Callable[[float, str], None], cancelled: Callable[[], bool], report: ProcessReport) -> None:
    from ftpvm_client import Cancelled

    path_mode = report.transfer == "path"
    sources = [(f, state.paths.path("source", f) if path_mode else _read_bytes(state.paths.path("source", f)))
               for f in plan.frames]
    outputs: Optional[Dict[str, str]] = {p: state.paths.pattern(p) for p in state.passes} if path_mode else None
    for name in state.passes:   # the server writes only into folders that exist
        os.makedirs(os.path.dirname(state.paths.pattern(name)), exist_ok=True)
    stop = threading.Event()
    total = len(sources)
    last_save = time.monotonic()
    ended = threading.Event()

    def watch_cancel() -> None:   # Cancel also counts while the server works on a frame, not only between them
        while not ended.wait(CANCEL_POLL):
            if cancelled():
                stop.set()
                return
    watcher = threading.Thread(target=watch_cancel, name="ftpvm-cancel", daemon=True)
    watcher.start()

    def on_progress(p: Any) -> None:
        progress(RENDER_SHARE + (1 - RENDER_SHARE) * p.done / total,
                 f"Matting frame {p.frame} ({p.done}/{total}, {p.frames_per_second:.1f} fps)")
        if cancelled():
            stop.set()

    # Results: written files only in path mode; otherwise the client's per-transport default (float32 through
    # shared memory, a plain copy; float16 in the gRPC stream, half the bytes). Forcing float16 cost a conversion on
    # both ends over shared memory (docs/performance.md, "Transport"). Each result's EXRs are written before the
    # next is taken, so results through shared memory may be views of the client's slot (no copy out).
    try:
        for r in shot.matte(sources, passes=state.passes, outputs=outputs, progress=on_progress, cancel=stop,
                            result_dtype="none" if path_mode else None, result_views=True):
            if not path_mode:
                for name in state.passes:
                    image = getattr(r, name)
                    planes = [image] if image.ndim == 2 else [image[:, :, i] for i in range(image.shape[2])]
                    exr.write(state.paths.path(name, r.frame), dict(zip(EXR_CHANNELS[name], planes)))
            manifest.frames[r.frame] = state.frame_signature(r.frame)
            manifest.passes[r.frame] = list(state.passes)
            report.matted.append(r.frame)
            if r.from_cache:
                report.from_cache.append(r.frame)
            if time.monotonic() - last_save > SAVE_EVERY:
                manifest.save(state.paths.manifest)
                last_save = time.monotonic()
            if stop.is_set():
                break
    except Cancelled:
        report.cancelled = True
    finally:
        ended.set()
        watcher.join()
    if stop.is_set():
        report.cancelled = True


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()
