"""Job planning without Resolve: shot id, frame range, which frames feed the server, where results go.

Everything here is decided from plain facts (:class:`ClipFacts`, :class:`~.settings.Settings`,
:class:`ServerFacts`), so it is tested without Resolve. Results always go to a fresh, versioned
work folder (``<root>/<project>/<shot>/v003/...``): nothing is ever written over existing files.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from ftpvm_wire.sequences import expand
from ftpvm_wire.shots import ShotIdError, check_shot_id as _check_shot_id, shot_id_from

from . import colour, sequences
from .settings import KeyframeSpec, Settings, SettingsError, default_output_root

BIN_NAME = "FTPVM"


class PlanError(ValueError):
    """The job cannot be planned as asked; the message says what to change."""


@dataclass(frozen=True)
class ClipFacts:
    """What the host adapter read about the chosen timeline clip."""

    name: str
    unique_id: str
    project: str
    timeline: str
    start: int                 # timeline frame of the clip's first frame
    duration: int              # frames
    track: int                 # video track index (1-based)
    width: int                 # timeline resolution
    height: int
    file_path: str = ""        # the media's path as Resolve shows it ("" for generators)
    left_offset: int = 0       # frames trimmed off the media's head
    colour_settings: Dict[str, str] = field(default_factory=dict)
    media_id: str = ""         # the media-pool item's unique id ("" for generators)

    @property
    def last(self) -> int:
        return self.start + self.duration - 1


@dataclass(frozen=True)
class ServerFacts:
    """What the server said about itself (``Client.info()``)."""

    path_mode: bool = False
    allowed_roots: Tuple[str, ...] = ()
    colorspaces: Tuple[str, ...] = ()


@dataclass(frozen=True)
class JobPlan:
    """Every decision for one run."""

    shot_id: str
    frames: Tuple[int, ...]                      # timeline frames, in order
    colorspace: str                              # OCIO name the shot is opened in
    source: str                                  # "render" or "media"
    media: Optional[sequences.Sequence]          # the clip's own image sequence (source == "media")
    work_dir: str
    plate_dir: str                               # where a render job writes the plate
    outputs: Dict[str, str]                      # pass -> printf template (timeline frame numbers)
    keyframes: Tuple[KeyframeSpec, ...]
    transport: str                               # "paths" (server reads/writes files) or "pixels"
    passes: Tuple[str, ...]
    place: str
    width: int
    height: int
    band: int                                    # roto band in pixels; 0: the shot's roto_band (server default)
    track: int
    record_start: int                            # timeline frame of frames[0]

    @property
    def first(self) -> int:
        return self.frames[0]

    @property
    def last(self) -> int:
        return self.frames[-1]

    def media_frame(self, frame: int) -> int:
        """The number of the media file that shows timeline ``frame`` (source == "media")."""
        assert self.media is not None
        return self.media.first + self._left_offset + (frame - self._clip_start)

    def output_path(self, name: str, frame: int) -> str:
        """The file the ``name`` pass of timeline ``frame`` is written to."""
        return expand(self.outputs[name], frame)

    # set by make_plan; kept out of the constructor's positional API
    _clip_start: int = 0
    _left_offset: int = 0


def shot_id_for(clip: ClipFacts) -> str:
    """A stable, server-safe id: the clip name (cleaned) + 8 hex of project/timeline/clip identity."""
    stem = shot_id_from(os.path.splitext(clip.name)[0], fallback="clip", max_length=40)
    digest = hashlib.sha1("\0".join((clip.project, clip.timeline, clip.unique_id, str(clip.start)))
                          .encode("utf-8")).hexdigest()[:8]
    return f"{stem}-{digest}"


def check_shot_id(shot_id: str) -> str:
    """``shot_id`` when the server accepts it, else PlanError."""
    try:
        return _check_shot_id(shot_id)
    except ShotIdError as exc:
        raise PlanError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None


def frame_range(clip: ClipFacts, first: Optional[int], last: Optional[int]) -> Tuple[int, ...]:
    """The timeline frames to matte: the clip's own range, or the part of it the user asked for."""
    lo, hi = (clip.start, clip.last) if first is None or last is None else (first, last)
    if lo < clip.start or hi > clip.last:
        raise PlanError(f"Frames {lo}-{hi} reach outside the clip (timeline frames {clip.start}-{clip.last}); "
                        f"choose a range inside it.")
    if lo > hi:
        raise PlanError(f"Frame range {lo}-{hi} is backwards.")
    return tuple(range(lo, hi + 1))


def safe_name(text: str) -> str:
    """A folder-name-safe version of a project or clip name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "untitled"


def next_version(shot_dir: str) -> str:
    """``v001`` or one more than the highest existing ``vNNN`` in ``shot_dir``."""
    taken = [int(m.group(1)) for n in (os.listdir(shot_dir) if os.path.isdir(shot_dir) else ())
             for m in [re.fullmatch(r"v(\d{3,})", n)] if m]
    return f"v{max(taken, default=0) + 1:03d}"


def inside(path: str, roots: Sequence[str]) -> bool:
    """True when ``path`` (resolved) is under one of ``roots``."""
    real = os.path.realpath(path)
    for root in roots:
        r = os.path.realpath(root).rstrip(os.sep)
        if real == r or real.startswith(r + os.sep):
            return True
    return False


def choose_source(settings: Settings, clip: ClipFacts) -> Tuple[str, Optional[sequences.Sequence]]:
    """Use the clip's own files when they are an EXR sequence (and the user allows it), else render."""
    media = sequences.parse(clip.file_path) if clip.file_path else None
    usable = media is not None and media.suffix.lower() == ".exr"
    if settings.source == "media":
        if not usable:
            raise PlanError(f"'Use source media' needs an EXR image sequence; this clip's media is "
                            f"{clip.file_path or 'not a file'}. Choose 'render' instead.")
        return "media", media
    if settings.source == "auto" and usable:
        return "media", media
    return "render", None


def choose_transport(settings: Settings, server: ServerFacts, paths: Sequence[str]) -> str:
    """"paths" when the server may read and write every path we need, else "pixels"."""
    ok = server.path_mode and all(inside(p, server.allowed_roots) for p in paths)
    if settings.transport == "paths" and not ok:
        raise PlanError("The server cannot read/write these files in path mode (its --allow-root folders: "
                        f"{', '.join(server.allowed_roots) or 'none'}). Start ftpvm-server with --allow-root "
                        f"on the output folder, or set transport to 'pixels'.")
    if settings.transport == "pixels":
        return "pixels"
    return "paths" if ok else "pixels"


def choose_colorspace(settings: Settings, clip: ClipFacts, source: str, server: ServerFacts) -> str:
    """The OCIO name the shot is opened in: the user's choice, else detected from the project."""
    if settings.colorspace:
        name = colour.ocio_name(settings.colorspace) or settings.colorspace
    else:
        found = colour.detect(clip.colour_settings, "media" if source == "media" else "render")
        if found.ocio is None:
            raise PlanError(f"Cannot tell the colour space of the frames ({found.resolve_name or 'unknown'}, from "
                            f"{found.reason}); choose the source colour space in the dialog.")
        name = found.ocio
    problem = colour.check_available(name, server.colorspaces)
    if problem:
        raise PlanError(problem)
    return name


def make_plan(clip: ClipFacts, settings: Settings, server: ServerFacts, version: Optional[str] = None) -> JobPlan:
    """The whole plan for one run; PlanError (or SettingsError) says what to fix."""
    settings = settings.checked()
    shot_id = check_shot_id(settings.shot_id or shot_id_for(clip))
    frames = frame_range(clip, settings.first, settings.last)
    for k in settings.keyframes:
        if not frames[0] <= k.frame <= frames[-1]:
            raise PlanError(f"Keyframe {k.frame} is outside the frames to matte ({frames[0]}-{frames[-1]}); "
                            f"keyframes must be frames of the range.")
    source, media = choose_source(settings, clip)
    root = os.path.abspath(os.path.expanduser(settings.output_root or default_output_root()))
    shot_dir = os.path.join(root, safe_name(clip.project), shot_id)
    work_dir = os.path.join(shot_dir, version or next_version(shot_dir))
    if os.path.exists(work_dir):
        raise PlanError(f"The work folder {work_dir} already exists; results never overwrite files.")
    padding = max(4, len(str(frames[-1])))
    outputs = {p: os.path.join(work_dir, p, f"{shot_id}_{p}.%0{padding}d.exr") for p in settings.passes}
    plate_dir = os.path.join(work_dir, "plate")
    if media is not None:
        first_needed = media.first + clip.left_offset + (frames[0] - clip.start)
        last_needed = first_needed + len(frames) - 1
        if first_needed < media.first or last_needed > media.last:
            raise PlanError(f"The clip's media has frames {media.first}-{media.last} but the range needs "
                            f"{first_needed}-{last_needed}; is the clip retimed? Choose 'render'.")
    reads = [media.directory] if media is not None else [plate_dir]
    transport = choose_transport(settings, server, reads + [work_dir])
    colorspace = choose_colorspace(settings, clip, source, server)
    plan = JobPlan(shot_id=shot_id, frames=frames, colorspace=colorspace, source=source, media=media,
                   work_dir=work_dir, plate_dir=plate_dir, outputs=outputs, keyframes=settings.keyframes,
                   transport=transport, passes=tuple(settings.passes), place=settings.place, width=clip.width,
                   height=clip.height, band=settings.band or 0, track=clip.track, record_start=frames[0],
                   _clip_start=clip.start, _left_offset=clip.left_offset)
    check_no_overwrite(plan)
    return plan


def check_no_overwrite(plan: JobPlan) -> None:
    """PlanError if any file the job writes exists already (the user's media included)."""
    for name in plan.outputs:
        for frame in (plan.first, plan.last):
            path = plan.output_path(name, frame)
            if os.path.exists(path):
                raise PlanError(f"{path} exists; results never overwrite files. Choose another output folder.")
    if plan.media is not None and os.path.realpath(plan.work_dir) == os.path.realpath(plan.media.directory):
        raise PlanError("The output folder is the clip's media folder; choose another one.")


def import_clip_info(plan: JobPlan, name: str) -> Dict[str, object]:
    """The ``MediaPool.ImportMedia`` clip-info dict of a result sequence."""
    return {"FilePath": plan.outputs[name], "StartIndex": plan.first, "EndIndex": plan.last}


#: The first Resolve whose ``AppendToTimeline`` clipInfo ``endFrame`` is exclusive (one past the last frame).
EXCLUSIVE_END_FROM = 19


def append_clip_info(item: object, count: int, track: int, record_frame: int, resolve_major: int) -> Dict[str, object]:
    """``MediaPool.AppendToTimeline`` clipInfo placing the first ``count`` frames of ``item`` at ``record_frame``.

    The README documents ``startFrame``/``endFrame`` without saying which end is included. Its own example (on
    Blackmagic's forum: startFrame 0, endFrame 25 appends "the first 25 frames") and read-backs on Resolve Studio
    20.3 and 21.0 (GetDuration() == endFrame - startFrame) show an exclusive end from Resolve 19; 18.6 took the last
    frame itself. So ``endFrame`` is ``count`` from 19 on and ``count - 1`` before.
    """
    end = count if resolve_major >= EXCLUSIVE_END_FROM else count - 1
    return {"mediaPoolItem": item, "startFrame": 0, "endFrame": end, "trackIndex": track,
            "recordFrame": record_frame}


def comp_time(comp_start: int, frame: int, clip_start: int) -> int:
    """The time in the clip's Fusion comp (render range from ``comp_start``) that shows timeline ``frame``."""
    return comp_start + (frame - clip_start)


def loader_global_in(comp_start: int, plan: JobPlan, clip_start: int) -> int:
    """Where a Fusion Loader starts so its first matte frame sits on the clip's matching frame."""
    return comp_time(comp_start, plan.first, clip_start)


#: The Fusion Magic Mask node: Studio only (DaVinci Resolve 18 manual, "Magic Mask (Studio Version Only)"; the Fusion
#: node "Magic Mask [MagM]"). Its registry id is taken to follow the other mask tools' naming; not confirmed in a real
#: Resolve.
STUDIO_ONLY_MASKS = ("MagicMask",)


def is_mask_tool(reg_id: str) -> bool:
    """Whether a Fusion tool's registry id (``TOOLS_RegID``) is a mask tool: PolylineMask (Polygon), BSplineMask,
    EllipseMask, RectangleMask, ... all end in "Mask" (Fusion 8 Scripting Reference, class PolylineMask; the
    EllipseMask / RectangleMask tools of KartaVR's PTGui importer)."""
    return reg_id.endswith("Mask")


def render_settings(plan: JobPlan, first: Optional[int] = None, last: Optional[int] = None,
                    target_dir: Optional[str] = None, name: str = "plate") -> Dict[str, object]:
    """``Project.SetRenderSettings`` for rendering timeline frames ``first..last`` (default: the range) to an EXR
    sequence in ``target_dir`` (default: ``plate_dir``)."""
    return {"SelectAllFrames": False, "MarkIn": plan.first if first is None else first,
            "MarkOut": plan.last if last is None else last, "TargetDir": target_dir or plan.plate_dir,
            "CustomName": f"{plan.shot_id}_{name}", "ExportVideo": True, "ExportAudio": False,
            "FormatWidth": plan.width, "FormatHeight": plan.height}


def choose_exr_codec(codecs: Dict[str, str]) -> str:
    """The EXR codec to render with (``GetRenderCodecs('exr')``: label -> name): half float, lossless."""
    if not codecs:
        raise PlanError("This Resolve offers no EXR render codecs; cannot render the plate.")
    def score(item: Tuple[str, str]) -> Tuple[int, int, int]:
        text = (item[0] + " " + item[1]).lower()
        return ("half" in text, "no compression" in text or "none" in text or "zip" in text, -len(text))
    return max(codecs.items(), key=score)[1]


def tracks_to_mute(enabled: Dict[int, bool], clip_track: int) -> List[int]:
    """Enabled video tracks above the clip's: muted while rendering so only the clip is rendered."""
    return sorted(i for i, on in enabled.items() if on and i > clip_track)


def solo_track(enabled: Dict[int, bool], track: int) -> Dict[int, bool]:
    """The track-enable changes that leave only ``track`` on (a matte track is often kept off while editing)."""
    changes = {i: False for i, on in enabled.items() if on and i != track}
    if not enabled.get(track, False):
        changes[track] = True
    return changes
