"""Resolve colour management -> the OCIO colour-space name the server opens the shot in.

Resolve reports its colour science through ``Project.GetSetting`` (``colorScienceMode``,
``colorSpaceTimeline``, ``colorSpaceOutput``...). An EXR rendered by a colour-managed project is
written in the *output* colour space; the shot is opened in that space and the server's OCIO
config turns it into linear light (and into the model's space). Log encodings such as DaVinci
Intermediate are therefore never fed to the model as if they were linear.

DaVinci Wide Gamut / Intermediate exists in OCIO's built-in *studio* config
(``ocio://studio-config-latest``) but not in the default CG config: a server that should accept
it must run with ``OCIO=ocio://studio-config-latest``. :func:`check_available` says so.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterable, Mapping, Optional, Sequence, Tuple

#: The source colour spaces the dialog offers, as (label, OCIO name).
CHOICES: Tuple[Tuple[str, str], ...] = (
    ("DaVinci Wide Gamut / Intermediate", "DaVinci Intermediate WideGamut"),
    ("DaVinci Wide Gamut linear", "Linear DaVinci WideGamut"),
    ("ACEScct", "ACEScct"),
    ("ACEScc", "ACEScc"),
    ("ACEScg (linear AP1)", "ACEScg"),
    ("ACES2065-1 (linear AP0)", "ACES2065-1"),
    ("Rec.709 Gamma 2.4", "Gamma 2.4 Encoded Rec.709"),
    ("Rec.709 Gamma 2.2", "Gamma 2.2 Encoded Rec.709"),
    ("sRGB", "sRGB Encoded Rec.709 (sRGB)"),
    ("Linear Rec.709", "Linear Rec.709 (sRGB)"),
)

#: Where a config lacking a space can get it (said in the error message).
STUDIO_CONFIG = "ocio://studio-config-latest"

# (pattern over the normalised Resolve name, OCIO name); the first match wins, so order matters.
_RULES: Tuple[Tuple[str, str], ...] = (
    (r"davinci.*(wg|wide ?gamut).*intermediate|davinci intermediate", "DaVinci Intermediate WideGamut"),
    (r"davinci.*(wg|wide ?gamut).*linear|linear.*davinci.*(wg|wide ?gamut)", "Linear DaVinci WideGamut"),
    (r"acescct", "ACEScct"),
    (r"acescc\b", "ACEScc"),
    (r"acescg|aces ?ap1 ?linear|linear ?ap1", "ACEScg"),
    (r"aces ?2065|aces ?ap0|^aces$", "ACES2065-1"),
    (r"linear.*(709|srgb)|(709|srgb).*linear", "Linear Rec.709 (sRGB)"),
    (r"srgb", "sRGB Encoded Rec.709 (sRGB)"),
    (r"709.*(gamma )?2\.2", "Gamma 2.2 Encoded Rec.709"),
    (r"709.*(gamma )?2\.4|rec ?\.?709$|bt ?\.?1886|rec ?\.?709 ?\(scene\)", "Gamma 2.4 Encoded Rec.709"),
)


def normalise(name: str) -> str:
    """Lower case, ``_``/``-``/``/`` as spaces, single spaces."""
    return re.sub(r"\s+", " ", re.sub(r"[_/\-]+", " ", str(name).lower())).strip()


def ocio_name(resolve_name: str) -> Optional[str]:
    """The OCIO name for a Resolve colour-space (or gamma) name; None when unknown."""
    text = normalise(resolve_name)
    if not text:
        return None
    for label, ocio in CHOICES:  # the dialog's own labels and OCIO names map to themselves
        if text in (normalise(label), normalise(ocio)):
            return ocio
    for pattern, ocio in _RULES:
        if re.search(pattern, text):
            return ocio
    return None


@dataclass(frozen=True)
class Detection:
    """The colour space the rendered frames are in, and why we think so."""

    ocio: Optional[str]
    resolve_name: str
    reason: str


def detect(settings: Mapping[str, str], source: str = "render") -> Detection:
    """What the frames fed to the server are encoded in, from the project's colour settings.

    ``source`` is ``"render"`` (a render job writes the output colour space in colour-managed
    projects, the timeline as graded otherwise) or ``"media"`` (the clip's own files: its input
    colour space). Unknown names give ``ocio=None``: the dialog then asks the user to choose.
    """
    mode = normalise(settings.get("colorScienceMode", ""))
    if source == "media":
        name, why = settings.get("clipInputColorSpace", ""), "the clip's input colour space"
        if not name or "project" in normalise(name):
            name, why = settings.get("colorSpaceInput", ""), "the project's input colour space"
    elif mode.startswith("aces"):
        odt = settings.get("colorAcesODT", "")
        if not odt or "no output transform" in normalise(odt):
            name = "ACEScct" if "cct" in mode else "ACEScc"
            why = "ACES project with no output transform: renders stay in the ACES working space"
        else:
            name, why = odt, "the ACES output transform"
    elif "managed" in mode:
        name = _join(settings.get("colorSpaceOutput", ""), settings.get("colorSpaceOutputGamma", ""))
        why = "the project's output colour space (Resolve colour management)"
    else:
        name = _join(settings.get("colorSpaceTimeline", ""), settings.get("colorSpaceTimelineGamma", "")) \
            or "Rec.709 Gamma 2.4"
        why = "the timeline colour space (DaVinci YRGB, not colour managed)"
    return Detection(ocio_name(name), name, why)


def _join(space: str, gamma: str) -> str:
    if gamma and normalise(gamma) not in normalise(space):
        return f"{space} {gamma}".strip()
    return space


def check_available(ocio: str, server_colorspaces: Iterable[str]) -> Optional[str]:
    """None when the server knows ``ocio``; else the message saying how to fix it."""
    known = {normalise(c) for c in server_colorspaces}
    if not known or normalise(ocio) in known:
        return None
    hint = (f" Start ftpvm-server with OCIO={STUDIO_CONFIG} (OCIO's built-in studio config has it)."
            if ocio in _STUDIO_ONLY else " Choose another source colour space, or give the server an OCIO config "
                                         "that has it.")
    return f"The server's OCIO config has no colour space {ocio!r}.{hint}"


_STUDIO_ONLY = frozenset({"DaVinci Intermediate WideGamut", "Linear DaVinci WideGamut"})


def labels() -> Sequence[str]:
    """The dialog's combo-box labels, in order."""
    return [label for label, _ in CHOICES]


def by_label() -> Dict[str, str]:
    """Label -> OCIO name."""
    return dict(CHOICES)
