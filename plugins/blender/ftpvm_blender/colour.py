"""Colour-space names: Blender's OCIO config -> a name the server's OCIO config knows.

Frames leave Blender in its scene-linear space (the ``scene_linear`` role: Linear Rec.709 in the stock
config). The server may name that space differently ("Linear Rec.709 (sRGB)"), so a name is matched
through its aliases. Pure text parsing: no ``bpy``, no PyOpenColorIO needed.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional, Sequence

#: ``parse_config``'s answer: {"roles": {role: space}, "aliases": {space: [alias, ...]}}.
OcioConfig = Dict[str, Dict[str, Any]]

#: Last-resort equivalents when neither config lists an alias that links the two names.
FALLBACKS: Dict[str, Sequence[str]] = {
    "linear rec.709": ("Linear Rec.709 (sRGB)", "lin_rec709", "Utility - Linear - sRGB"),
    "linear": ("Linear Rec.709 (sRGB)", "lin_rec709"),
    "srgb": ("sRGB Encoded Rec.709 (sRGB)", "sRGB - Texture", "srgb_tx"),
    "acescg": ("ACEScg", "lin_ap1"),
    "aces2065-1": ("ACES2065-1", "lin_ap0"),
    "linear rec.2020": ("Linear Rec.2020", "lin_rec2020"),
    "linear dci-p3 d65": ("Linear P3-D65", "lin_p3d65"),
    "display p3": ("sRGB Encoded P3-D65", "srgb_p3d65"),
    "non-color": ("Raw",),
}


def parse_config(text: str) -> OcioConfig:
    """Roles and colour spaces (with aliases) of an OCIO config file's text.

    Returns ``{"roles": {role: name}, "aliases": {name: [alias, ...]}}``.
    """
    roles: Dict[str, str] = {}
    aliases: Dict[str, List[str]] = {}
    section = ""
    current: Optional[str] = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith((" ", "\t", "-")):
            section = line.split(":", 1)[0].strip()
            continue
        stripped = line.strip().lstrip("- ").strip()
        if section == "roles" and ":" in stripped:
            role, name = stripped.split(":", 1)
            roles[role.strip()] = _unquote(name)
        elif section == "colorspaces":
            if stripped.startswith("name:"):
                current = _unquote(stripped[len("name:"):])
                aliases.setdefault(current, [])
            elif stripped.startswith("aliases:") and current is not None:
                inner = stripped[len("aliases:"):].strip().strip("[]")
                aliases[current] = [_unquote(a) for a in _split_list(inner) if _unquote(a)]
    return {"roles": roles, "aliases": aliases}


def _unquote(value: str) -> str:
    return value.strip().strip('"').strip("'").strip()


def _split_list(inner: str) -> List[str]:
    return [part for part in re.findall(r'"[^"]*"|[^,]+', inner)]


def scene_linear(config: OcioConfig, default: str = "Linear Rec.709") -> str:
    """The config's scene-linear space name (role ``scene_linear``)."""
    return config.get("roles", {}).get("scene_linear") or default


def names_for(name: str, config: Optional[OcioConfig] = None) -> List[str]:
    """``name``, then its aliases in Blender's config, then the fallbacks, without repeats."""
    out: List[str] = [name]
    if config is not None:
        role = config.get("roles", {}).get(name)
        if role:
            out.append(role)
        for n in list(out):
            out.extend(config.get("aliases", {}).get(n, []))
    for n in list(out):
        out.extend(FALLBACKS.get(n.lower(), ()))
    seen: List[str] = []
    for n in out:
        if n not in seen:
            seen.append(n)
    return seen


def match_server_colorspace(name: str, server_names: Iterable[str],
                            config: Optional[OcioConfig] = None) -> Optional[str]:
    """The server's name for Blender's colour space ``name`` (case-insensitive), or None."""
    server = list(server_names)
    if not server:  # a server that lists nothing: send our best-known name and let it judge
        return FALLBACKS[name.lower()][0] if name.lower() in FALLBACKS else name
    lower = {s.lower(): s for s in server}
    for candidate in names_for(name, config):
        if candidate.lower() in lower:
            return lower[candidate.lower()]
    return None
