"""Colour through OpenColorIO: the host's working space <-> the model's sRGB-encoded Rec.709 in [0, 1].

The config is ``$OCIO`` when set, else OCIO's built-in ``ocio://default`` (the CG config). Treatment of values the
model cannot take (documented in docs/engine.md):

- NaN and infinities in the plate become 0 before any transform;
- after encoding to sRGB, values below 0 are clipped to 0;
- values above 1 (highlights brighter than display white) are clipped to 1 (``highlights="clip"``) or rolled off
  smoothly from 0.8 towards 1 (``highlights="rolloff"``), which keeps some texture in bright areas.

Alpha is data and never goes through here. Foreground estimation happens in scene-linear light: in the input space
itself when it is linear, else in the config's ``scene_linear`` role, and is converted back to the input space.
"""
from __future__ import annotations

import difflib
import os
import threading
from functools import lru_cache

import numpy as np
import PyOpenColorIO as ocio

from ftpvm_core.errors import InvalidInput

MODEL_COLORSPACE_CANDIDATES = (
    "sRGB Encoded Rec.709 (sRGB)",
    "sRGB - Texture",
    "srgb_tx",
    "Utility - sRGB - Texture",
    "sRGB",
)
HIGHLIGHT_MODES = ("clip", "rolloff")
ROLLOFF_KNEE = 0.8
_LOCK = threading.Lock()


@lru_cache(maxsize=8)
def _load_config(source: str) -> ocio.Config:
    try:
        return ocio.Config.CreateFromFile(source)
    except Exception as exc:  # OCIO raises its own Exception type
        raise InvalidInput(f"cannot load OCIO config {source!r}: {exc}") from None


def config_source() -> str:
    """Where the config comes from: ``$OCIO`` if set, else ``ocio://default``."""
    return os.environ.get("OCIO") or "ocio://default"


def get_config() -> ocio.Config:
    """The OCIO config in use (cached per source)."""
    with _LOCK:
        return _load_config(config_source())


def list_colorspaces(config: ocio.Config | None = None) -> list[str]:
    """Every colour-space name (aliases included) of the config."""
    config = config or get_config()
    names: list[str] = []
    for cs in config.getColorSpaces():
        names.append(cs.getName())
        names.extend(cs.getAliases())
    return names


def resolve_colorspace(name: str, config: ocio.Config | None = None) -> str:
    """The canonical name of ``name`` (aliases and roles accepted); InvalidInput with close matches otherwise."""
    config = config or get_config()
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a colour space name is required (e.g. 'ACEScg' or 'Linear Rec.709 (sRGB)')")
    cs = config.getColorSpace(name)
    if cs is None:
        candidates = list_colorspaces(config)
        lower = {c.lower(): c for c in candidates}
        close = difflib.get_close_matches(name.lower(), list(lower), n=4, cutoff=0.4)
        close += [c.lower() for c in candidates if name.lower() in c.lower() and c.lower() not in close][:3]
        hint = ", ".join(repr(lower[c]) for c in close) if close else ", ".join(repr(c) for c in candidates[:8]) + ", ..."
        raise InvalidInput(f"unknown colour space {name!r} in OCIO config {config_source()!r}; did you mean {hint}?")
    return cs.getName()


def model_colorspace(config: ocio.Config | None = None) -> str:
    """The config's name for sRGB-encoded Rec.709 (the model's space)."""
    config = config or get_config()
    for cand in MODEL_COLORSPACE_CANDIDATES:
        cs = config.getColorSpace(cand)
        if cs is not None:
            return cs.getName()
    raise InvalidInput(
        f"OCIO config {config_source()!r} has no sRGB-encoded Rec.709 colour space "
        f"(looked for {', '.join(MODEL_COLORSPACE_CANDIDATES)}); use a config that defines one"
    )


def _is_linear(config: ocio.Config, name: str) -> bool:
    cs = config.getColorSpace(name)
    encoding = cs.getEncoding() if hasattr(cs, "getEncoding") else ""
    if encoding:
        return encoding == "scene-linear"
    return "linear" in name.lower() or name.lower() in ("acescg", "aces2065-1")


def _apply(processor: ocio.CPUProcessor, rgb: np.ndarray) -> np.ndarray:
    out = np.array(rgb, dtype=np.float32, order="C", copy=True)
    h, w = out.shape[:2]
    processor.apply(ocio.PackedImageDesc(out, w, h, 3))
    return out


def rolloff(x: np.ndarray, knee: float = ROLLOFF_KNEE) -> np.ndarray:
    """Identity below ``knee``, then a smooth tanh shoulder that approaches 1; result in [0, 1)."""
    span = 1.0 - knee
    y = np.where(x > knee, knee + span * np.tanh((x - knee) / span), x)
    return np.clip(y, 0.0, 1.0).astype(np.float32)


class ColourConverter:
    """Converts one shot's frames between its colour space and the model's (and scene-linear for foreground)."""

    def __init__(self, colorspace: str, highlights: str = "clip", config: ocio.Config | None = None):
        if highlights not in HIGHLIGHT_MODES:
            raise InvalidInput(f"highlights must be one of {', '.join(HIGHLIGHT_MODES)}, not {highlights!r}")
        self.config = config or get_config()
        self.colorspace = resolve_colorspace(colorspace, self.config)
        self.model_space = model_colorspace(self.config)
        self.highlights = highlights
        cfg = self.config
        self._to_model = cfg.getProcessor(self.colorspace, self.model_space).getOptimizedCPUProcessor(
            ocio.OPTIMIZATION_DEFAULT)
        self._from_model = cfg.getProcessor(self.model_space, self.colorspace).getOptimizedCPUProcessor(
            ocio.OPTIMIZATION_DEFAULT)
        self.input_is_linear = _is_linear(cfg, self.colorspace)
        if self.input_is_linear:
            self.linear_space = self.colorspace
            self._to_linear = self._from_linear = None
        else:
            self.linear_space = cfg.getColorSpace("scene_linear").getName() if cfg.getColorSpace("scene_linear") \
                else "Linear Rec.709 (sRGB)"
            self._to_linear = cfg.getProcessor(self.colorspace, self.linear_space).getOptimizedCPUProcessor(
                ocio.OPTIMIZATION_DEFAULT)
            self._from_linear = cfg.getProcessor(self.linear_space, self.colorspace).getOptimizedCPUProcessor(
                ocio.OPTIMIZATION_DEFAULT)

    @staticmethod
    def sanitize(rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) float32 with NaN/inf replaced by 0."""
        rgb = np.asarray(rgb, dtype=np.float32)
        if not np.isfinite(rgb).all():
            rgb = np.nan_to_num(rgb, nan=0.0, posinf=0.0, neginf=0.0)
        return rgb

    def to_model(self, rgb: np.ndarray) -> np.ndarray:
        """Input space -> sRGB-encoded Rec.709 in [0, 1] (see the module docstring for out-of-range values)."""
        encoded = _apply(self._to_model, self.sanitize(rgb))
        if self.highlights == "rolloff":
            return rolloff(encoded)
        np.clip(encoded, 0.0, 1.0, out=encoded)
        return encoded

    def from_model(self, rgb: np.ndarray) -> np.ndarray:
        """sRGB-encoded Rec.709 -> input space (no clipping)."""
        return _apply(self._from_model, rgb)

    def to_linear(self, rgb: np.ndarray) -> np.ndarray:
        """Input space -> the scene-linear space foreground is estimated in (a no-op copy for linear input)."""
        rgb = self.sanitize(rgb)
        return np.array(rgb, dtype=np.float32, copy=True) if self._to_linear is None else _apply(self._to_linear, rgb)

    def from_linear(self, rgb: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_linear`."""
        return np.asarray(rgb, dtype=np.float32) if self._from_linear is None else _apply(self._from_linear, rgb)
