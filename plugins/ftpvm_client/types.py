"""Plain result objects the client returns (no protobuf in a plugin's hands)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ftpvm_wire.protocol import pb

from .errors import FTPVMError


def _json(text: str) -> Any:
    return json.loads(text) if text else {}


@dataclass(frozen=True)
class ServerInfo:
    """What the server runs: versions, device, model, limits and the settings schema."""

    server_version: str
    protocol: str
    engine_version: str
    model_fingerprint: str
    weights_source: str
    device: str
    precision: str
    limits: Dict[str, int]
    passes: Tuple[str, ...]
    settings_schema: Any
    auth_required: bool
    path_mode: bool
    allowed_roots: Tuple[str, ...]
    colorspaces: Tuple[str, ...]

    @classmethod
    def from_proto(cls, msg: pb.ServerInfo) -> "ServerInfo":
        limits = {f.name: int(getattr(msg.limits, f.name)) for f in msg.limits.DESCRIPTOR.fields}
        return cls(msg.server_version, msg.protocol, msg.engine_version, msg.model_fingerprint,
                   msg.weights_source, msg.device, msg.precision, limits, tuple(msg.passes),
                   _json(msg.settings_schema_json), msg.auth_required, msg.path_mode,
                   tuple(msg.allowed_roots), tuple(msg.colorspaces))


@dataclass(frozen=True)
class ShotInfo:
    """A shot as the server holds it, with this server process's counters."""

    shot_id: str
    width: int
    height: int
    colorspace: str
    settings: Dict[str, Any]
    keyframes: Tuple[int, ...]
    cached_frames: int
    frames: int = 0
    cache_hits: int = 0
    errors: int = 0
    frames_per_second: float = 0.0
    #: why the server cannot use this shot ("" when it can): delete it and open it again
    damaged: str = ""

    @classmethod
    def from_proto(cls, msg: pb.Shot) -> "ShotInfo":
        c = msg.counters
        return cls(msg.shot_id, msg.width, msg.height, msg.colorspace, _json(msg.settings_json),
                   tuple(msg.keyframes), msg.cached_frames, c.frames, c.cache_hits, c.errors,
                   c.frames_per_second, msg.damaged)


@dataclass(frozen=True)
class ShotUsage:
    """A shot's footprint in the server's state directory: size on disk, keyframes (frame -> source), last change."""

    shot_id: str
    width: int
    height: int
    colorspace: str
    size_bytes: int
    modified_unix: float
    keyframes: Dict[int, str]

    @classmethod
    def from_proto(cls, msg: pb.ShotUsage) -> "ShotUsage":
        return cls(msg.shot_id, msg.width, msg.height, msg.colorspace, msg.size_bytes, msg.modified_unix,
                   dict(zip(msg.keyframes, msg.keyframe_sources)))


@dataclass(frozen=True)
class Keyframe:
    """A keyframe of a shot and what it was made from: "trimap", "mask" (an outer roto alone) or "inner_outer"."""

    frame: int
    source: str
    band: int


@dataclass
class MatteResult:
    """One matted frame. Passes not asked for are None; ``error`` is set when the frame failed."""

    frame: int
    alpha: Optional[np.ndarray] = None        # (H, W) float32
    foreground: Optional[np.ndarray] = None   # (H, W, 3) float32, linear, unpremultiplied
    trimap: Optional[np.ndarray] = None       # (H, W) float32 in {0, .5, 1}
    boundary: Optional[np.ndarray] = None     # (H, W) float32
    from_cache: bool = False
    nonfinite_pixels: int = 0
    written: Dict[str, str] = field(default_factory=dict)
    error: Optional[FTPVMError] = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Progress:
    """Progress of a matte call, passed to the ``progress`` callback after every frame."""

    done: int
    total: Optional[int]
    frames_per_second: float
    frame: int

    @property
    def fraction(self) -> Optional[float]:
        return self.done / self.total if self.total else None


KeyframeList = List[Keyframe]
