"""Pure decisions of the FTPVMMatte node: shot ids, cache paths, keyframe records and the process plan.

Nothing here imports Nuke or the client (only the shared rules of ``ftpvm_wire``), so every rule can be tested
on its own. The Nuke adapter
(``node.py``) reads knobs into a :class:`NodeState`, asks this module what to do, and does it.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from ftpvm_wire.schema import Schema, SchemaError

from ftpvm_wire.passes import PASS_ORDER
from ftpvm_wire.sequences import expand
from ftpvm_wire.shots import ShotIdError, check_shot_id as _check_shot_id, shot_id_from

TRIMAP_MODES = ("roto", "inner_outer", "trimap")
TRIMAP_MODE_LABELS = {"roto": "roto", "inner_outer": "inner / outer mattes", "trimap": "ready trimap"}
FG_TARGETS = ("ftpvm_fg", "rgb")
TRANSFERS = ("auto", "path", "inline")
#: Shot settings shown as knobs of their own, built from the advertised schema (default, choices, range, help).
#: ``downsample_ratio`` is the downsample/ratio pair and ``roto_band`` the keyframe's band knob.
SETTING_KNOBS = ("memory_size", "memory_policy", "precision", "highlights")
CHANNELS = ("red", "green", "blue", "alpha")
#: The wire's keyframe guides, as channel names of a keyframe's guide file.
GUIDE_NAMES = ("trimap", "outer", "inner")


class PlanError(ValueError):
    """A setting the artist must fix; the message says how."""


# ----------------------------------------------------------------------------- shot ids
def default_shot_id(script_path: str, node_name: str) -> str:
    """``<script name without extension and version>_<node name>``, e.g. ``sh010_comp_FTPVMMatte1``.

    An unsaved script (empty path) gives ``untitled_<node>``. The version suffix (``_v012``) is
    dropped so that versioning up a script keeps talking to the same shot.
    """
    base = os.path.splitext(os.path.basename(script_path or ""))[0]
    base = re.sub(r"[._-]?v\d+$", "", base, flags=re.IGNORECASE) or "untitled"
    return shot_id_from(f"{base}_{node_name}", fallback="untitled")


def check_shot_id(shot_id: str) -> str:
    """The shot id, or PlanError saying what a valid one looks like (the wire's rule)."""
    try:
        return _check_shot_id(shot_id or "")
    except ShotIdError as exc:
        raise PlanError(f"{str(exc)[:1].upper()}{str(exc)[1:]}. Fix the 'shot id' knob.") from None


# ----------------------------------------------------------------------------- frames
def runs(frames: Iterable[int]) -> List[Tuple[int, int]]:
    """Sorted frames -> contiguous (first, last) runs, e.g. [1,2,3,7] -> [(1,3),(7,7)]."""
    out: List[Tuple[int, int]] = []
    for f in sorted(set(frames)):
        if out and f == out[-1][1] + 1:
            out[-1] = (out[-1][0], f)
        else:
            out.append((f, f))
    return out


# ----------------------------------------------------------------------------- paths
def frame_path(pattern: str, frame: int) -> str:
    """Expand a ``####`` (or ``%04d``, ``@@@@``) pattern for one frame."""
    return expand(pattern, frame)


@dataclass(frozen=True)
class CachePaths:
    """Where one shot's files live: ``<root>/<shot_id>/<kind>/<kind>.####.exr`` and ``manifest.json``."""

    root: str
    shot_id: str

    @property
    def shot_dir(self) -> str:
        return os.path.join(self.root, self.shot_id)

    def pattern(self, kind: str) -> str:
        """Sequence pattern of a kind: 'source', 'guide' or a pass name."""
        return os.path.join(self.shot_dir, kind, f"{kind}.####.exr").replace("\\", "/")

    def path(self, kind: str, frame: int) -> str:
        return frame_path(self.pattern(kind), frame)

    @property
    def manifest(self) -> str:
        return os.path.join(self.shot_dir, "manifest.json")


def default_cache_root(script_path: str, fallback: str) -> str:
    """``<script folder>/ftpvm_cache`` for a saved script, else ``fallback``."""
    if script_path:
        return os.path.join(os.path.dirname(os.path.abspath(script_path)), "ftpvm_cache")
    return fallback


def is_under(path: str, roots: Sequence[str]) -> bool:
    """True when ``path`` lies inside one of ``roots`` (after resolving '..' and links)."""
    real = os.path.realpath(path)
    for root in roots:
        r = os.path.realpath(root)
        if real == r or real.startswith(r.rstrip(os.sep) + os.sep):
            return True
    return False


def choose_transfer(requested: str, cache_root: str, path_mode: bool, allowed_roots: Sequence[str]) -> str:
    """'path' when the server may read and write our cache folder, else 'inline'.

    ``requested`` 'path' insists (PlanError if the server cannot), 'inline' always sends pixels.
    """
    if requested not in TRANSFERS:
        raise PlanError(f"Unknown transfer {requested!r}; choose one of {', '.join(TRANSFERS)}.")
    can = bool(path_mode) and is_under(cache_root, allowed_roots)
    if requested == "path" and not can:
        raise PlanError(f"The server cannot use files in {cache_root}: start it with "
                        f"'--allow-root {cache_root}' (or a folder above it), or set transfer to 'inline'.")
    if requested == "inline":
        return "inline"
    return "path" if can else "inline"


# ----------------------------------------------------------------------------- keyframes
@dataclass(frozen=True)
class KeyframeRecord:
    """A keyframe as the node stores it: its frame, how its guide is read, and a digest of its inputs."""

    frame: int
    mode: str      # the artist's trimap mode: roto | inner_outer | trimap
    band: float    # unknown band of a roto sent alone (0 for the other modes)
    digest: str

    def to_json(self) -> dict:
        return {"frame": self.frame, "mode": self.mode, "band": self.band, "digest": self.digest}


#: Prefix of the hidden knob's text: base64 of the records' JSON.
KEYFRAMES_PREFIX = "ftpvm-kf1:"


def keyframes_to_text(records: Dict[int, KeyframeRecord]) -> str:
    """The hidden knob's text for a set of keyframes: stable JSON, base64-encoded.

    Since Nuke 12.2 a string knob's ``value()`` returns TCL-evaluated text (Foundry, Nuke 12.2 Python API
    reference, ``String_Knob.value``: "the evaluated value"; ``getText``: "the non-evaluated value"), and TCL substitutes ``[...]`` (command),
    ``$name`` (variable) and backslashes (Tcl manual, Tcl(n), rules 6-9). JSON starts with ``[``; base64 uses
    none of the three, so ``value()`` returns it unchanged in every Nuke version.
    """
    data = json.dumps([records[f].to_json() for f in sorted(records)], sort_keys=True)
    return KEYFRAMES_PREFIX + base64.b64encode(data.encode()).decode("ascii")


def keyframes_from_text(text: str) -> Dict[int, KeyframeRecord]:
    """Parse the hidden knob's text; '' or garbage -> no keyframes."""
    try:
        text = text.strip() if text else ""
        if not text.startswith(KEYFRAMES_PREFIX):
            return {}
        items = json.loads(base64.b64decode(text[len(KEYFRAMES_PREFIX):], validate=True).decode())
        return {int(d["frame"]): KeyframeRecord(int(d["frame"]), str(d["mode"]), float(d["band"]), str(d["digest"]))
                for d in items}
    except (ValueError, KeyError, TypeError):
        return {}


def digest(parts: Iterable[str]) -> str:
    """A short stable digest of text parts (order matters)."""
    h = hashlib.sha1()
    for part in parts:
        h.update(part.encode("utf-8", "surrogateescape") + b"\0")
    return h.hexdigest()[:16]


def keyframe_digest(mode: str, band: float, *file_contents: bytes) -> str:
    """Digest of what a keyframe is made of: its rendered files, its mode and its band."""
    h = hashlib.sha1(f"{mode}|{band:g}".encode())
    for content in file_contents:
        h.update(hashlib.sha1(content).digest())
    return h.hexdigest()[:16]


def format_keyframe_list(records: Dict[int, KeyframeRecord]) -> str:
    """What the keyframe list knob shows, e.g. ``1001 (roto, 10 px), 1040 (ready trimap)``."""
    if not records:
        return "no keyframes: go to a frame with a good roto and press 'set keyframe'"
    parts = []
    for f in sorted(records):
        r = records[f]
        label = TRIMAP_MODE_LABELS.get(r.mode, r.mode)
        parts.append(f"{f} ({label}, {r.band:g} px)" if r.mode == "roto" else f"{f} ({label})")
    return ", ".join(parts)


# ----------------------------------------------------------------------------- settings
def shot_settings(schema: Schema, values: Dict[str, Any]) -> Dict[str, Any]:
    """The knobs' shot settings checked against the server's schema; PlanError naming the knob to fix."""
    try:
        return schema.validate_all(values)
    except SchemaError as exc:
        raise PlanError(f"Knob {exc.setting!r}: {exc}.") from None


def downsample_setting(mode: str, ratio: float) -> object:
    """The server's downsample_ratio from the quality knobs: 'auto' or the ratio (checked by the schema)."""
    return "auto" if mode == "auto" else round(float(ratio), 4)


def passes_for(want_foreground: bool, want_trimap: bool, want_boundary: bool) -> Tuple[str, ...]:
    """Passes to ask the server for (alpha always)."""
    chosen = {"alpha": True, "foreground": want_foreground, "trimap": want_trimap, "boundary": want_boundary}
    return tuple(p for p in PASS_ORDER if chosen[p])


@dataclass(frozen=True)
class NodeState:
    """Everything the process step needs from the node's knobs (read once, then pure)."""

    address: str
    shot_id: str
    colorspace: str
    width: int
    height: int
    first: int
    last: int
    keyframes: Dict[int, KeyframeRecord]
    settings: Dict[str, object]
    passes: Tuple[str, ...]
    cache_root: str
    transfer: str = "auto"
    source_fingerprint: str = ""   # what the Source input is made of (the adapter's source_fingerprint)

    @property
    def paths(self) -> CachePaths:
        return CachePaths(self.cache_root, self.shot_id)

    def settings_digest(self) -> str:
        payload = json.dumps({"settings": self.settings, "colorspace": self.colorspace,
                              "size": [self.width, self.height]}, sort_keys=True)
        return hashlib.sha1(payload.encode()).hexdigest()[:16]

    def frame_signature(self, frame: int) -> str:
        """What a processed frame's files were made from; a different signature means 'reprocess'.

        Every keyframe counts: which keyframes a frame reads is the engine's rule, not the node's. After a
        keyframe edit the node sends the whole range again, and the server answers the frames the edit does
        not reach from its cache. The Source's fingerprint counts for every frame too: the matte is recurrent,
        so a changed plate frame changes the frames after it, and the server's cache keeps the ones before.
        """
        parts = [self.settings_digest(), self.source_fingerprint] + [
            f"{k}:{self.keyframes[k].digest}" for k in sorted(self.keyframes)]
        return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------- manifest
@dataclass
class Manifest:
    """The node's record of its cache: keyframes the server has, and what each frame was made from."""

    shot_id: str
    sent_keyframes: Dict[int, str] = field(default_factory=dict)   # frame -> digest sent to the server
    frames: Dict[int, str] = field(default_factory=dict)           # frame -> signature of its result files
    passes: Dict[int, List[str]] = field(default_factory=dict)     # frame -> passes written

    VERSION = 1

    def to_text(self) -> str:
        return json.dumps({"version": self.VERSION, "shot_id": self.shot_id,
                           "sent_keyframes": {str(k): v for k, v in sorted(self.sent_keyframes.items())},
                           "frames": {str(k): v for k, v in sorted(self.frames.items())},
                           "passes": {str(k): v for k, v in sorted(self.passes.items())}}, indent=1)

    @classmethod
    def from_text(cls, text: str, shot_id: str) -> "Manifest":
        """Parse a manifest; a missing, damaged, old or other shot's manifest gives an empty one."""
        try:
            d = json.loads(text)
            if d.get("version") != cls.VERSION or d.get("shot_id") != shot_id:
                return cls(shot_id)
            return cls(shot_id, {int(k): str(v) for k, v in d.get("sent_keyframes", {}).items()},
                       {int(k): str(v) for k, v in d.get("frames", {}).items()},
                       {int(k): list(v) for k, v in d.get("passes", {}).items()})
        except (ValueError, AttributeError, TypeError):
            return cls(shot_id)

    @classmethod
    def load(cls, path: str, shot_id: str) -> "Manifest":
        try:
            with open(path, encoding="utf-8") as f:
                return cls.from_text(f.read(), shot_id)
        except OSError:
            return cls(shot_id)

    def save(self, path: str) -> None:
        """Write atomically (a crash leaves the old or the new manifest, never half of one)."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(self.to_text())
        os.replace(tmp, path)


# ----------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class ProcessPlan:
    """What one press of Process does, in order."""

    send_keyframes: Tuple[int, ...]      # keyframes to (re)send to the server
    remove_keyframes: Tuple[int, ...]    # keyframes the server has that the node no longer has
    frames: Tuple[int, ...]              # frames to render and matte, in order
    up_to_date: Tuple[int, ...]          # frames whose files are already right

    @property
    def nothing_to_do(self) -> bool:
        return not (self.send_keyframes or self.remove_keyframes or self.frames)


def require_keyframes(state: NodeState) -> None:
    """PlanError unless the node has at least one keyframe."""
    if not state.keyframes:
        raise PlanError("No keyframe yet: go to a frame where the roto is right and press 'set keyframe'.")


def plan_process(state: NodeState, manifest: Manifest, server_keyframes: Optional[Sequence[int]],
                 exists=os.path.exists) -> ProcessPlan:
    """Decide which keyframes to send/remove and which frames need (re)processing.

    A frame is processed when its recorded signature differs from the current one (a keyframe it
    depends on, or a setting, changed), or when one of its requested pass files is missing.
    ``server_keyframes`` is what the server reports (None: unknown, trust the manifest).
    """
    require_keyframes(state)
    on_server = set(server_keyframes) if server_keyframes is not None else set(manifest.sent_keyframes)
    send = tuple(f for f in sorted(state.keyframes)
                 if f not in on_server or manifest.sent_keyframes.get(f) != state.keyframes[f].digest)
    remove = tuple(sorted(on_server - set(state.keyframes)))
    todo: List[int] = []
    fine: List[int] = []
    for f in range(state.first, state.last + 1):
        ok = manifest.frames.get(f) == state.frame_signature(f) and all(
            exists(state.paths.path(p, f)) for p in state.passes)
        (fine if ok else todo).append(f)
    return ProcessPlan(send, remove, tuple(todo), tuple(fine))


# ----------------------------------------------------------------------------- Viewer messages
#: The node's Viewer messages, in the order they are drawn. Each is a Text node inside the group, shown over the
#: image where it applies and only in the GUI; 'failed' is set by a failed Process, the others follow the cache.
VIEWER_MESSAGES = ("unprocessed", "stale", "missing", "failed")
TITLE = "FTPVMMatte"


@dataclass(frozen=True)
class Shown:
    """The frames a Viewer message is shown on: ``runs`` of frames, or (``outside``) every frame but those."""

    runs: Tuple[Tuple[int, int], ...] = ()
    outside: bool = False


NOWHERE, EVERYWHERE = Shown(), Shown(outside=True)


def tcl_literal(text: str) -> str:
    """``text`` as a TCL-evaluated knob (a Text node's message) shows it: ``\\``, ``[``, ``]`` and ``$`` escaped."""
    return re.sub(r"([\\\[\]$])", r"\\\1", text)


def format_runs(frames: Iterable[int]) -> str:
    """Frames as ranges, e.g. ``1001-1006, 1010``."""
    return ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in runs(frames))


def viewer_messages(frames: Dict[int, str], signature: Optional[str]) -> Dict[str, Tuple[str, Shown]]:
    """Text and frames of the cache-driven Viewer messages, from the manifest's ``frames`` (frame -> signature)
    and the node's current ``signature`` (None: unknown, no frame counts as out of date).

    Nothing processed: 'unprocessed' everywhere (the plate passes through). Otherwise 'missing' on every frame
    without a result (outside the processed frames the matte is black) and 'stale' on the processed frames made
    from other settings, keyframes or Source. ``[frame]`` is TCL: the Viewer shows the frame number.
    """
    if not frames:
        return {"unprocessed": (f"{TITLE}: not processed - the plate passes through.\n"
                                f"Set keyframes, then press Process.", EVERYWHERE),
                "stale": ("", NOWHERE), "missing": ("", NOWHERE)}
    stale = [f for f, sig in frames.items() if signature is not None and sig != signature]
    return {"unprocessed": ("", NOWHERE),
            "stale": (f"{TITLE}: frame [frame] is out of date (settings, keyframes or the Source changed).\n"
                      f"Press Process to update it.", Shown(tuple(runs(stale)))),
            "missing": (f"{TITLE}: frame [frame] is not processed (processed: {format_runs(frames)}).\n"
                        f"No matte here: set the frame range, then press Process.",
                        Shown(tuple(runs(frames)), outside=True))}


def failed_message(explanation: str) -> str:
    """The 'failed' Viewer message for a Process that failed with ``explanation`` (shown as typed)."""
    return tcl_literal(f"{TITLE}: Process failed.\n{explanation.removeprefix(TITLE + ': ')}")


def disable_expression(shown: Shown) -> Optional[str]:
    """A Nuke expression for a message node's ``disable`` knob: hidden where it is not shown and whenever Nuke
    renders without its GUI (``$gui`` is 0 then: renders keep the plain image). None: hidden everywhere."""
    if shown == NOWHERE:
        return None
    inside = " || ".join(f"[frame] == {a}" if a == b else f"([frame] >= {a} && [frame] <= {b})"
                         for a, b in shown.runs)
    if not inside:
        return "!$gui"
    return f"!$gui || ({inside})" if shown.outside else f"!$gui || !({inside})"


# ----------------------------------------------------------------------------- colour spaces
#: Nuke's built-in ("nuke-default") working-space names -> OCIO names the server knows.
NUKE_DEFAULT_COLORSPACES = {
    "linear": "Linear Rec.709 (sRGB)",
    "sRGB": "sRGB Encoded Rec.709 (sRGB)",
    "rec709": "Gamma 2.4 Rec.709 - Display",
    "ACES - ACEScg": "ACEScg",
    "ACES - ACES2065-1": "ACES2065-1",
}


def server_colorspace(nuke_name: str, server_names: Sequence[str]) -> str:
    """The server's name for a Nuke working space (the name itself when the server knows it)."""
    if nuke_name in server_names:
        return nuke_name
    mapped = NUKE_DEFAULT_COLORSPACES.get(nuke_name)
    if mapped and (mapped in server_names or not server_names):
        return mapped
    if nuke_name.startswith("ACES - ") and nuke_name[7:] in server_names:
        return nuke_name[7:]
    return nuke_name
