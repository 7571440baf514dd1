"""The shot-settings schema a server advertises in GetInfo, as plain objects for host UIs and the engine.

The engine defines its settings with :class:`Field` (``ftpvm_core/engine/settings.py``) and validates values with
:meth:`Field.validate`; the server advertises them as JSON; hosts read that JSON back with :meth:`Schema.from_json`
and build their controls from it: default, choices, range and help of each setting. When no server is reachable
(building a UI offline), :func:`snapshot` gives the schema shipped with this package, which
``tools/gen_settings_schema.py`` writes from the engine (a test checks it equals the engine's schema).
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Sequence, Tuple, Union

#: The schema shipped with the package: the engine's schema when this release was built.
SNAPSHOT = Path(__file__).with_name("settings_schema.json")

TYPES = ("int", "float", "str", "bool", "float_or_auto", "list[str]")


class SchemaError(ValueError):
    """A value (or an advertised schema) that does not fit; the message says what to use instead.

    ``setting`` names the setting at fault when one does (set by :meth:`Schema.validate_all`)."""

    setting: Optional[str] = None


@dataclass(frozen=True)
class Field:
    """One setting: name, type, default, allowed values, range, help, and where it applies."""

    name: str
    type: str  # one of TYPES
    default: Any
    help: str
    choices: Optional[Tuple[Any, ...]] = None
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    affects_model: bool = True  # a change invalidates cached results
    scope: str = "shot"  # "shot" (stored with the shot) | "request" (per matte call)
    aliases: Optional[Dict[str, str]] = None  # other accepted spellings -> the choice they stand for

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["choices"] = list(self.choices) if self.choices is not None else None
        d["default"] = list(self.default) if isinstance(self.default, tuple) else self.default
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Field":
        try:
            choices = d.get("choices")
            default = d["default"]
            field = cls(str(d["name"]), str(d["type"]), tuple(default) if isinstance(default, list) else default,
                        str(d.get("help", "")), tuple(choices) if choices is not None else None,
                        d.get("minimum"), d.get("maximum"), bool(d.get("affects_model", True)),
                        str(d.get("scope", "shot")), dict(d["aliases"]) if d.get("aliases") else None)
        except (KeyError, TypeError) as exc:
            raise SchemaError(f"advertised setting {d!r} lacks {exc}; the server and this plugin disagree on the "
                              f"schema format: update the plugin") from None
        if field.type not in TYPES:
            raise SchemaError(f"advertised setting {field.name} has unknown type {field.type!r}; update the plugin")
        return field

    def validate(self, value: Any) -> Any:
        """``value`` coerced to this field's type; SchemaError when it is the wrong type, not a choice or out of range."""
        name = self.name
        if self.type == "float_or_auto" and isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        if self.type in ("int", "float", "float_or_auto"):
            value = _number(name, value, int if self.type == "int" else float)
        elif self.type == "str":
            if not isinstance(value, str):
                raise SchemaError(f"setting {name} must be a string, got {value!r}")
            value = (self.aliases or {}).get(value, value)
        elif self.type == "bool":
            if not isinstance(value, bool):
                raise SchemaError(f"setting {name} must be true or false, got {value!r}")
        elif self.type == "list[str]":
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise SchemaError(f"setting {name} must be a list of names, got {value!r}")
            bad = [v for v in value if self.choices is not None and v not in self.choices]
            if bad:
                raise SchemaError(f"setting {name}: {', '.join(bad)} not allowed; choose from "
                                  f"{', '.join(map(str, self.choices or ()))}")
            return tuple(value)
        if self.choices is not None and value not in self.choices:
            also = f" (or {', '.join(self.aliases)})" if self.aliases else ""
            raise SchemaError(f"setting {name}={value!r} is not allowed; choose one of "
                              f"{', '.join(map(str, self.choices))}{also}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            lo = self.minimum if self.minimum is not None else -math.inf
            hi = self.maximum if self.maximum is not None else math.inf
            if not lo <= value <= hi:
                raise SchemaError(f"setting {name}={value!r} is out of range; use a value in [{lo:g}, {hi:g}]")
        return value


def _number(name: str, value: Any, kind: type) -> Any:
    if isinstance(value, bool):
        raise SchemaError(f"setting {name} must be a number, got {value!r}")
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise SchemaError(f"setting {name} must be {'an integer' if kind is int else 'a number'}, got {value!r}") \
            from None
    if kind is int and isinstance(value, float) and value != number:
        raise SchemaError(f"setting {name} must be an integer, got {value!r}")
    if kind is float and not math.isfinite(number):
        raise SchemaError(f"setting {name} must be finite, got {value!r}")
    return number


@dataclass(frozen=True)
class Schema:
    """An advertised schema: its fields in order, and where it came from ("server" or "snapshot")."""

    fields: Tuple[Field, ...]
    source: str = "server"

    @classmethod
    def from_json(cls, data: Union[str, bytes, Sequence[Dict[str, Any]]], source: str = "server") -> "Schema":
        """From the JSON text of ``ServerInfo.settings_schema_json`` or its parsed list."""
        items = json.loads(data) if isinstance(data, (str, bytes)) else data
        if not isinstance(items, (list, tuple)):
            raise SchemaError("the advertised settings schema is not a list of settings; update the plugin")
        return cls(tuple(Field.from_dict(d) for d in items), source)

    def to_json(self) -> str:
        return json.dumps([f.to_dict() for f in self.fields], indent=1) + "\n"

    def names(self, scope: Optional[str] = None) -> Tuple[str, ...]:
        return tuple(f.name for f in self.fields if scope is None or f.scope == scope)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise SchemaError(f"the server advertises no setting {name!r} (it has {', '.join(self.names())}); "
                          f"update the plugin or the server")

    def default_of(self, name: str) -> Any:
        return self.field(name).default

    def choices_of(self, name: str) -> Tuple[Any, ...]:
        """The allowed values of a setting; SchemaError for a setting without a list of choices."""
        choices = self.field(name).choices
        if choices is None:
            raise SchemaError(f"setting {name} takes any value in its range, not a choice")
        return choices

    def range_of(self, name: str) -> Tuple[Optional[float], Optional[float]]:
        f = self.field(name)
        return f.minimum, f.maximum

    def help_of(self, name: str) -> str:
        return self.field(name).help

    def validate(self, name: str, value: Any) -> Any:
        return self.field(name).validate(value)

    def validate_all(self, values: Dict[str, Any]) -> Dict[str, Any]:
        """Each of ``values`` checked and coerced; the SchemaError of the first bad one carries its ``setting``."""
        out = {}
        for name, value in values.items():
            try:
                out[name] = self.validate(name, value)
            except SchemaError as exc:
                exc.setting = name
                raise
        return out

    def defaults(self, names: Optional[Iterable[str]] = None) -> Dict[str, Any]:
        """Default of each named setting (every shot setting when ``names`` is None)."""
        return {n: self.default_of(n) for n in (self.names("shot") if names is None else names)}


def snapshot() -> Schema:
    """The schema shipped with this package (use when the server cannot be asked)."""
    return Schema.from_json(SNAPSHOT.read_text(encoding="utf-8"), source="snapshot")


def advertised(settings_schema: Optional[Any]) -> Schema:
    """The schema a server advertised (a client ``ServerInfo.settings_schema``), or the snapshot when there is none.

    ``settings_schema`` is the parsed list (or the JSON text); None or an empty value gives :func:`snapshot`.
    """
    if not settings_schema:
        return snapshot()
    return Schema.from_json(settings_schema)
