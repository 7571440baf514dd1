"""The model-input colour conversion in torch, on the engine's device: an OCIO transform baked to matrix + curve.

For a scene-linear input space the OCIO transform to the model's sRGB-encoded Rec.709 is a 3x3 matrix (to linear
Rec.709) followed by the sRGB curve. :func:`bake` reads both from OCIO and proves it: the matrix from the basis
vectors, checked on random HDR colours, and the curve checked on a ramp through and beyond [0, 1]. Anything else
(a log or display-referred input, a config whose model space is not that curve) bakes to None and the engine
keeps OCIO on the CPU. The out-of-range rules are :class:`~ftpvm_core.imaging.colour.ColourConverter`'s: NaN/inf
-> 0 first, then clip to [0, 1] or the same roll-off.

Tolerance against OCIO's CPU processor (``TOLERANCE``, tested in tests/imaging/test_colour_torch.py): measured
7e-6 max abs after encoding (OCIO's optimised CPU path approximates the power function) for the default config's
linear spaces, HDR values and negatives included; the engine rounds the result to float16 (a step of 2.4e-4 to
4.9e-4 near 1), so both paths give the same model input but for one half-float step where a value lies within
7e-6 of a rounding boundary.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import PyOpenColorIO as ocio
import torch

from .colour import ROLLOFF_KNEE, ColourConverter

#: Max abs difference from OCIO's CPU processor that bake() accepts and the tests hold.
TOLERANCE = 2e-5
LINEAR_REC709_CANDIDATES = ("Linear Rec.709 (sRGB)", "lin_rec709", "Utility - Linear - sRGB", "lin_srgb", "linear")
# The sRGB curve as OCIO builds it (a "moncurve": gamma 2.4, offset 0.055, the linear segment continuous in value
# and slope, so its break is 0.0030399 rather than the standard's rounded 0.0031308).
_SRGB_GAMMA, _SRGB_A = 2.4, 0.055
_SRGB_CUT = ((_SRGB_A / (_SRGB_GAMMA - 1) + _SRGB_A) / (1 + _SRGB_A)) ** _SRGB_GAMMA
_SRGB_SLOPE = _SRGB_A / (_SRGB_GAMMA - 1) / _SRGB_CUT


def srgb_encode(x: torch.Tensor) -> torch.Tensor:
    """Linear -> the sRGB curve (its power law above 1 too, its linear segment below 0, as OCIO)."""
    power = (1 + _SRGB_A) * x.clamp_min(_SRGB_CUT) ** (1 / _SRGB_GAMMA) - _SRGB_A
    return torch.where(x <= _SRGB_CUT, _SRGB_SLOPE * x, power)


def rolloff_torch(x: torch.Tensor, knee: float = ROLLOFF_KNEE) -> torch.Tensor:
    """:func:`ftpvm_core.imaging.colour.rolloff` in torch."""
    span = 1.0 - knee
    return torch.where(x > knee, knee + span * torch.tanh((x - knee) / span), x).clamp(0.0, 1.0)


@dataclass
class TorchColour:
    """Input space -> model input on any device; ``matrix`` maps input RGB to linear Rec.709."""

    matrix: torch.Tensor      # (3, 3) float64, rows = output channels
    highlights: str

    def to_model(self, rgb: torch.Tensor) -> torch.Tensor:
        """(H, W, 3) float tensor (any device) -> sRGB-encoded Rec.709 in [0, 1], float32, same device."""
        x = torch.nan_to_num(rgb.float(), nan=0.0, posinf=0.0, neginf=0.0)
        x = x @ self.matrix.to(x.device, torch.float32).T
        encoded = srgb_encode(x)
        return rolloff_torch(encoded) if self.highlights == "rolloff" else encoded.clamp(0.0, 1.0)


def _apply(processor: ocio.CPUProcessor, rgb: np.ndarray) -> np.ndarray:
    out = np.array(rgb, dtype=np.float32, order="C", copy=True).reshape(1, -1, 3)
    processor.apply(ocio.PackedImageDesc(out, out.shape[1], 1, 3))
    return out.reshape(rgb.shape)


def _linear_rec709(config: ocio.Config) -> str | None:
    for name in LINEAR_REC709_CANDIDATES:
        cs = config.getColorSpace(name)
        if cs is not None:
            return cs.getName()
    return None


def bake(colour: ColourConverter) -> TorchColour | None:
    """The converter's input -> model transform as matrix + sRGB curve, or None when it is not one (see module)."""
    if not colour.input_is_linear:
        return None
    config = colour.config
    linear = _linear_rec709(config)
    if linear is None:
        return None
    plain = ocio.OPTIMIZATION_NONE
    to_lin = config.getProcessor(colour.colorspace, linear).getOptimizedCPUProcessor(plain)
    to_model = config.getProcessor(linear, colour.model_space).getOptimizedCPUProcessor(plain)
    matrix = _apply(to_lin, np.eye(3, dtype=np.float32)).astype(np.float64).T  # columns = images of the basis
    rng = np.random.default_rng(0)
    probe = (rng.random((256, 3)) * 16 - 2).astype(np.float32)
    if np.abs(_apply(to_lin, probe) - probe @ matrix.T).max() > 1e-4 * max(1.0, np.abs(probe).max()):
        return None  # not a matrix
    ramp = np.repeat(np.linspace(-0.5, 4.0, 1024, dtype=np.float32)[:, None], 3, axis=1)
    expected = _apply(to_model, ramp)
    if np.abs(srgb_encode(torch.from_numpy(ramp)).numpy() - expected).max() > TOLERANCE:
        return None  # the model space is not the sRGB curve over linear Rec.709
    return TorchColour(torch.from_numpy(matrix), colour.highlights)


_BAKED: "weakref.WeakKeyDictionary[ColourConverter, TorchColour | None]" = weakref.WeakKeyDictionary()


def baked(colour: ColourConverter) -> TorchColour | None:
    """:func:`bake`, once per converter."""
    if colour not in _BAKED:
        _BAKED[colour] = bake(colour)
    return _BAKED[colour]


__all__ = ["TOLERANCE", "TorchColour", "bake", "baked", "rolloff_torch", "srgb_encode"]
