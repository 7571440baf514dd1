"""What the user chose in the dialog, checked and remembered between runs (never the token)."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Dict, List, Optional, Tuple

from ftpvm_wire.schema import SchemaError, snapshot

GUIDE_KINDS = ("trimap", "roto")
PLACEMENTS = ("bin", "track", "fusion")
SOURCES = ("auto", "render", "media")
TRANSPORTS = ("auto", "paths", "pixels")
OUTPUT_PASSES = ("alpha", "foreground")
MEDIA_POOL_PREFIX = "mediapool:"
FUSION_PREFIX = "fusion:"           # a mask tool in the clip's Fusion comp, rendered at the keyframe
TRACK_PREFIX = "track:"             # the matte clip on another video track (e.g. a rendered Magic Mask)


class SettingsError(ValueError):
    """A value in the dialog is wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class KeyframeSpec:
    """A keyframe: timeline ``frame``, its guide and the guide's kind.

    The guide is a file (EXR/PNG...), ``mediapool:<clip>`` (a matte clip in the media pool),
    ``fusion:[<tool>]`` (a mask drawn in the clip's Fusion comp) or ``track:<n>`` (the matte clip on video
    track ``n`` at the keyframe, e.g. a rendered Magic Mask).
    """

    frame: int
    source: str
    kind: str = "trimap"

    @property
    def media_pool_clip(self) -> Optional[str]:
        """The media-pool clip name when the guide is a matte clip, else None."""
        if self.source.lower().startswith(MEDIA_POOL_PREFIX):
            return self.source[len(MEDIA_POOL_PREFIX):].strip()
        return None

    @property
    def fusion_mask(self) -> Optional[str]:
        """The Fusion mask tool's name ("" = the clip comp's only mask tool) when the guide is one, else None."""
        if self.source.lower().startswith(FUSION_PREFIX):
            return self.source[len(FUSION_PREFIX):].strip()
        return None

    @property
    def matte_track(self) -> Optional[int]:
        """The video track holding the matte clip when the guide is ``track:N`` (or ``track:VN``), else None."""
        if not self.source.lower().startswith(TRACK_PREFIX):
            return None
        text = self.source[len(TRACK_PREFIX):].strip().upper().lstrip("V")
        try:
            track = int(text)
        except ValueError:
            raise SettingsError(f"Keyframe {self.frame}: {self.source!r} needs a video track number, "
                                f"e.g. 'track:3' or 'track:V3'.") from None
        if track < 1:
            raise SettingsError(f"Keyframe {self.frame}: video tracks are numbered from 1 ({self.source!r}).")
        return track


@dataclass(frozen=True)
class Settings:
    """Every choice the dialog offers."""

    server: str = "127.0.0.1:50051"
    token: str = ""
    shot_id: str = ""                    # empty: derived from the clip
    colorspace: str = ""                 # OCIO name; empty: detected from the project
    keyframes: Tuple[KeyframeSpec, ...] = ()
    band: Optional[int] = None           # roto guides: unknown band in pixels; None: the server's roto_band
    first: Optional[int] = None          # timeline frames; None: the clip's own range
    last: Optional[int] = None
    passes: Tuple[str, ...] = OUTPUT_PASSES
    output_root: str = ""                # empty: default_output_root()
    place: str = "bin"
    source: str = "auto"
    transport: str = "auto"

    def checked(self) -> "Settings":
        """Self, or SettingsError naming the first bad value."""
        if not self.server.strip() or ":" not in self.server:
            raise SettingsError(f"Server address {self.server!r} needs host:port, e.g. 127.0.0.1:50051.")
        if not self.keyframes:
            raise SettingsError("Add at least one keyframe: a line 'FRAME PATH' with a trimap or roto matte.")
        frames = [k.frame for k in self.keyframes]
        if len(set(frames)) != len(frames):
            raise SettingsError("Two keyframe lines have the same frame; keep one per frame.")
        for k in self.keyframes:
            if k.kind not in GUIDE_KINDS:
                raise SettingsError(f"Keyframe {k.frame}: kind {k.kind!r} is not one of {', '.join(GUIDE_KINDS)}.")
        if self.band is not None:
            try:
                snapshot().validate("roto_band", self.band)
            except SchemaError as exc:
                raise SettingsError(f"Roto band: {exc}.") from None
        if (self.first is None) != (self.last is None):
            raise SettingsError("Give both ends of the frame range, or neither (the whole clip).")
        if self.first is not None and self.last is not None and self.first > self.last:
            raise SettingsError(f"Frame range {self.first}-{self.last} is backwards.")
        if not self.passes or any(p not in OUTPUT_PASSES for p in self.passes):
            raise SettingsError(f"Outputs must be among {', '.join(OUTPUT_PASSES)}.")
        for name, value, allowed in (("placement", self.place, PLACEMENTS), ("source", self.source, SOURCES),
                                     ("transport", self.transport, TRANSPORTS)):
            if value not in allowed:
                raise SettingsError(f"The {name} {value!r} is not one of {', '.join(allowed)}.")
        return self


def parse_keyframes(text: str, kind: str = "trimap") -> Tuple[KeyframeSpec, ...]:
    """Lines ``FRAME PATH`` (or ``FRAME mediapool:CLIP|fusion:[TOOL]|track:N``; ``#`` starts a comment) -> keyframes.

    A line may end in ``trimap`` or ``roto`` after a ``|`` to override ``kind`` for that line. A drawn mask
    (``fusion:``) or a matte clip on a track (``track:``) is a roto matte unless its line says otherwise.
    """
    specs: List[KeyframeSpec] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line_kind = None
        if "|" in line:
            line, _, tail = line.rpartition("|")
            line_kind = tail.strip().lower()
            line = line.strip()
        head, _, rest = line.partition(" ")
        try:
            frame = int(head)
        except ValueError:
            raise SettingsError(f"Keyframe line {number} ({raw.strip()!r}) must start with a frame number, "
                                f"then the matte's path.") from None
        source = rest.strip().strip('"')
        if not source:
            raise SettingsError(f"Keyframe line {number}: frame {frame} has no matte path after it.")
        if line_kind is None:
            line_kind = _default_kind(source, kind)
        if line_kind not in GUIDE_KINDS:
            raise SettingsError(f"Keyframe line {number}: {line_kind!r} is not one of {', '.join(GUIDE_KINDS)}.")
        spec = KeyframeSpec(frame, source, line_kind)
        _ = spec.matte_track  # a bad 'track:' is reported here, with the other line errors
        specs.append(spec)
    return tuple(specs)


def _default_kind(source: str, kind: str) -> str:
    """The kind of a line that names none: roto for a drawn mask or a matte track, else ``kind``."""
    return "roto" if source.lower().startswith((FUSION_PREFIX, TRACK_PREFIX)) else kind


def format_keyframes(specs: Tuple[KeyframeSpec, ...], kind: str = "trimap") -> str:
    """The inverse of :func:`parse_keyframes`."""
    return "\n".join(f"{k.frame} {k.source}" + (f" | {k.kind}" if k.kind != _default_kind(k.source, kind) else "")
                     for k in specs)


def config_dir() -> str:
    """Where the remembered settings live (per user, per OS)."""
    if sys.platform.startswith("win"):
        base = os.environ.get("APPDATA") or os.path.expanduser("~\\AppData\\Roaming")
        return os.path.join(base, "ftpvm")
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Application Support/ftpvm")
    return os.path.join(os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "ftpvm")


def default_output_root() -> str:
    """Where work folders go when the dialog leaves it empty: ``~/FTPVM/resolve``."""
    return os.path.join(os.path.expanduser("~"), "FTPVM", "resolve")


def _from_dict(data: Dict[str, Any]) -> Settings:
    known = {f.name for f in fields(Settings)}
    values = {k: v for k, v in data.items() if k in known and k != "token"}
    if "keyframes" in values:
        values["keyframes"] = tuple(KeyframeSpec(int(k["frame"]), str(k["source"]), str(k.get("kind", "trimap")))
                                    for k in values["keyframes"])
    if "passes" in values:
        values["passes"] = tuple(values["passes"])
    return replace(Settings(), **values)


def load(path: Optional[str] = None) -> Settings:
    """The last settings saved (defaults when there are none or the file is unreadable)."""
    path = path or os.path.join(config_dir(), "resolve.json")
    try:
        with open(path, encoding="utf-8") as f:
            return _from_dict(json.load(f))
    except (OSError, ValueError, TypeError, KeyError):
        return Settings()


def save(settings: Settings, path: Optional[str] = None) -> str:
    """Remember ``settings`` (without the token, shot id or range, which belong to one clip)."""
    path = path or os.path.join(config_dir(), "resolve.json")
    data = asdict(settings)
    for key in ("token", "shot_id", "first", "last", "keyframes"):
        data.pop(key, None)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)
    return path


__all__ = ["Settings", "KeyframeSpec", "SettingsError", "parse_keyframes", "format_keyframes", "load", "save",
           "default_output_root", "config_dir"]
