"""The one settings schema: per-shot settings and per-request options, introspectable.

The CLI builds its flags from it, the server advertises :func:`settings_schema` in its info call and plugin UIs
build their knobs from that list. ``affects_model`` marks the fields whose change invalidates cached results.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from ftpvm_core.errors import InvalidInput
from ftpvm_core.model.precision import ALIASES, DTYPES
from ftpvm_core.model.working_size import AUTO_LONG_SIDE, ratio_for

PASSES = ("alpha", "foreground", "trimap", "boundary")
MEMORY_POLICIES = ("first_last", "nearest")
PRECISIONS = ("auto", *DTYPES)  # long names (float16, ...) are accepted and stored as the short ones
HIGHLIGHTS = ("clip", "rolloff")


@dataclass(frozen=True)
class SettingField:
    """One setting as advertised to UIs: name, type, default, allowed values, range and help."""

    name: str
    type: str  # "int" | "float" | "str" | "bool" | "float_or_auto" | "list[str]"
    default: Any
    help: str
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    affects_model: bool = True
    scope: str = "shot"  # "shot" (stored with the shot) | "request" (per matte call)
    aliases: dict | None = None  # other accepted spellings -> the choice they stand for (stored as the choice)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["choices"] = list(self.choices) if self.choices is not None else None
        d["default"] = list(self.default) if isinstance(self.default, tuple) else self.default
        return d


SETTINGS_SCHEMA: tuple[SettingField, ...] = (
    SettingField("downsample_ratio", "float_or_auto", "auto",
                 f"Scale at which the network works, in (0, 1]; 'auto' = min(1, {AUTO_LONG_SIDE} / long side). "
                 "The full-resolution matte is recovered by the guided upsampler.", minimum=0.05, maximum=1.0),
    SettingField("memory_size", "int", 5,
                 "How many keyframes the memory bank uses at once for a frame.", minimum=1, maximum=16),
    SettingField("memory_policy", "str", "first_last",
                 "Which keyframes fill the bank when there are more than memory_size: 'first_last' = the first "
                 "keyframe plus the latest ones at or before the frame (the original's online policy); 'nearest' = "
                 "the keyframes nearest in time, before or after.", choices=MEMORY_POLICIES),
    SettingField("self_memory_every", "int", 0,
                 "Add the engine's own predicted trimap to memory every N frames (0 = off), as the original "
                 "inference can.", minimum=0, maximum=10000),
    SettingField("precision", "str", "auto",
                 "Arithmetic of the network: 'auto' = fp16 on CUDA, fp32 elsewhere.", choices=PRECISIONS,
                 aliases=ALIASES),
    SettingField("highlights", "str", "clip",
                 "Plate values above display white after encoding to the model's sRGB space: 'clip' to 1 or "
                 "'rolloff' smoothly from 0.8 (alpha is never affected).", choices=HIGHLIGHTS),
    SettingField("roto_band", "float", 10.0,
                 "Unknown band around a roto shape's edge when a keyframe comes as a roto mask: pixels (>= 1) or "
                 "a fraction of the frame diagonal (< 1).", minimum=0.0, maximum=10000.0, affects_model=False),
)

REQUEST_SCHEMA: tuple[SettingField, ...] = (
    SettingField("passes", "list[str]", PASSES, "Outputs to return.", choices=PASSES, affects_model=False,
                 scope="request"),
    SettingField("premultiply", "bool", False, "Return the foreground premultiplied by alpha.",
                 affects_model=False, scope="request"),
)

_FIELDS = {f.name: f for f in SETTINGS_SCHEMA}


def settings_schema() -> list[dict]:
    """Every shot setting and request option as JSON-ready dicts (for the server's info call and plugin UIs)."""
    return [f.to_dict() for f in SETTINGS_SCHEMA + REQUEST_SCHEMA]


def _coerce(field: SettingField, value: Any) -> Any:
    name = field.name
    if field.type == "float_or_auto":
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        value = _number(name, value, float)
    elif field.type == "int":
        value = _number(name, value, int)
    elif field.type == "float":
        value = _number(name, value, float)
    elif field.type == "str":
        if not isinstance(value, str):
            raise InvalidInput(f"setting {name} must be a string, got {value!r}")
        value = (field.aliases or {}).get(value, value)
    if field.choices is not None and value not in field.choices:
        also = f" (or {', '.join(field.aliases)})" if field.aliases else ""
        raise InvalidInput(f"setting {name}={value!r} is not allowed; choose one of {', '.join(field.choices)}{also}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        lo = field.minimum if field.minimum is not None else -math.inf
        hi = field.maximum if field.maximum is not None else math.inf
        if not lo <= value <= hi:
            raise InvalidInput(f"setting {name}={value!r} is out of range; use a value in [{lo:g}, {hi:g}]")
    return value


def _number(name: str, value: Any, kind: type) -> Any:
    if isinstance(value, bool):
        raise InvalidInput(f"setting {name} must be a number, got {value!r}")
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"setting {name} must be {'an integer' if kind is int else 'a number'}, got {value!r}") \
            from None
    if kind is int and isinstance(value, float) and value != number:
        raise InvalidInput(f"setting {name} must be an integer, got {value!r}")
    if kind is float and not math.isfinite(number):
        raise InvalidInput(f"setting {name} must be finite, got {value!r}")
    return number


@dataclass(frozen=True)
class ShotSettings:
    """Per-shot settings (see :data:`SETTINGS_SCHEMA` for meaning, defaults and ranges)."""

    downsample_ratio: float | str = "auto"
    memory_size: int = 5
    memory_policy: str = "first_last"
    self_memory_every: int = 0
    precision: str = "auto"
    highlights: str = "clip"
    roto_band: float = 10.0

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
