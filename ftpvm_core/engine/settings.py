"""The one settings schema: per-shot settings and per-request options, introspectable.

The CLI builds its flags from it, the server advertises :func:`settings_schema` in its info call and plugin UIs
build their knobs from that list (read back with :mod:`ftpvm_wire.schema`, whose :class:`~ftpvm_wire.schema.Field`
also validates values, so the engine and the hosts check settings by one rule). ``affects_model`` marks the
fields whose change invalidates cached results. ``ftpvm_wire/settings_schema.json`` is a snapshot of
:func:`settings_schema` for hosts that cannot reach a server; ``tools/gen_settings_schema.py`` rewrites it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ftpvm_core.errors import InvalidInput
from ftpvm_core.imaging.trimap import COMBINES
from ftpvm_core.model.precision import ALIASES, DTYPES
from ftpvm_core.model.working_size import AUTO_LONG_SIDE, ratio_for
from ftpvm_wire.passes import PASS_ORDER as PASSES
from ftpvm_wire.schema import Field, SchemaError

MEMORY_POLICIES = ("first_last", "nearest")
PRECISIONS = ("auto", *DTYPES)  # long names (float16, ...) are accepted and stored as the short ones
HIGHLIGHTS = ("clip", "rolloff")


SETTINGS_SCHEMA: tuple[Field, ...] = (
    Field("downsample_ratio", "float_or_auto", "auto",
          f"Scale at which the network works, in (0, 1]; 'auto' = min(1, {AUTO_LONG_SIDE} / long side). The "
          "full-resolution matte is recovered by the guided upsampler.", minimum=0.05, maximum=1.0),
    Field("memory_size", "int", 5,
          "How many keyframes the memory bank uses at once for a frame.", minimum=1, maximum=16),
    Field("memory_policy", "str", "first_last",
          "Which keyframes fill the bank when there are more than memory_size: 'first_last' = the first "
          "keyframe plus the latest ones at or before the frame (the original's online policy); 'nearest' = "
          "the keyframes nearest in time, before or after.", choices=MEMORY_POLICIES),
    Field("self_memory_every", "int", 0,
          "Add the engine's own predicted trimap to memory every N frames (0 = off), as the original "
          "inference can.", minimum=0, maximum=10000),
    Field("precision", "str", "auto",
          "Arithmetic of the network: 'auto' = fp16 on CUDA, fp32 elsewhere.", choices=PRECISIONS,
          aliases=ALIASES),
    Field("highlights", "str", "clip",
          "Plate values above display white after encoding to the model's sRGB space: 'clip' to 1 or "
          "'rolloff' smoothly from 0.8 (alpha is never affected).", choices=HIGHLIGHTS),
    # how a keyframe's guide becomes a trimap (rules in ftpvm_core/imaging/trimap.py); applied when a keyframe is
    # set, and the keyframe's content hash covers the trimap, so they never invalidate results by themselves
    Field("roto_band", "float", 10.0,
          "Unknown band around the edge of an outer roto matte sent alone: pixels (>= 1) or a fraction of "
          "the frame diagonal (< 1).", minimum=0.0, maximum=10000.0, affects_model=False),
    Field("roto_combine", "str", "union",
          "Where an inner roto matte goes outside the outer one: 'union' = the inner core is foreground "
          "wherever it is drawn (the outer matte grows to hold it); 'clip' = the outer matte bounds the "
          "core (inner outside it is background).", choices=COMBINES, affects_model=False),
    Field("trimap_tolerance", "float", 0.1,
          "A ready trimap's values snap to 0, 0.5 or 1 when within this distance; others are refused "
          "(0.25 snaps every value in [0, 1] to the nearest).", minimum=0.0, maximum=0.25,
          affects_model=False),
)

REQUEST_SCHEMA: tuple[Field, ...] = (
    Field("passes", "list[str]", PASSES, "Outputs to return.", choices=PASSES, affects_model=False,
          scope="request"),
    Field("premultiply", "bool", False, "Return the foreground premultiplied by alpha.",
          affects_model=False, scope="request"),
)

_FIELDS = {f.name: f for f in SETTINGS_SCHEMA}


def settings_schema() -> list[dict]:
    """Every shot setting and request option as JSON-ready dicts (for the server's info call and plugin UIs)."""
    return [f.to_dict() for f in SETTINGS_SCHEMA + REQUEST_SCHEMA]


def _coerce(field: Field, value: Any) -> Any:
    try:
        return field.validate(value)
    except SchemaError as exc:
        raise InvalidInput(str(exc)) from None


@dataclass(frozen=True)
class ShotSettings:
    """Per-shot settings (defaults, meaning and ranges: :data:`SETTINGS_SCHEMA`)."""

    downsample_ratio: float | str = _FIELDS["downsample_ratio"].default
    memory_size: int = _FIELDS["memory_size"].default
    memory_policy: str = _FIELDS["memory_policy"].default
    self_memory_every: int = _FIELDS["self_memory_every"].default
    precision: str = _FIELDS["precision"].default
    highlights: str = _FIELDS["highlights"].default
    roto_band: float = _FIELDS["roto_band"].default
    roto_combine: str = _FIELDS["roto_combine"].default
    trimap_tolerance: float = _FIELDS["trimap_tolerance"].default

    def __post_init__(self) -> None:
        for f in SETTINGS_SCHEMA:
            object.__setattr__(self, f.name, _coerce(f, getattr(self, f.name)))

    @classmethod
    def from_dict(cls, data: dict | None) -> "ShotSettings":
        """Validated settings from a (partial) dict; unknown names are an error."""
        data = dict(data or {})
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise InvalidInput(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(_FIELDS)}")
        return cls(**data)

    @classmethod
    def coerce(cls, value: "ShotSettings | dict | None") -> "ShotSettings":
        return value if isinstance(value, ShotSettings) else cls.from_dict(value)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in SETTINGS_SCHEMA}

    def model_dict(self) -> dict:
        """The fields whose change invalidates results."""
        return {f.name: getattr(self, f.name) for f in SETTINGS_SCHEMA if f.affects_model}

    def ratio_for(self, height: int, width: int) -> float:
        """The downsample ratio for a frame size ('auto' resolved)."""
        return ratio_for(self.downsample_ratio, height, width)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)
