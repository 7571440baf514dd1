"""The model-input colour conversion in torch, on the engine's device: an OCIO transform baked to curve + matrix + curve.

Every input space of the usual configs reaches the model's sRGB-encoded Rec.709 as a per-channel decoding curve (the
identity for scene-linear spaces; a log, gamma or sRGB curve otherwise), a 3x3 matrix to linear Rec.709, and the
sRGB curve. :func:`bake` reads all three from OCIO and proves them: the decoding curve is sampled along the grey axis
into a 1D table (``SHAPER_SIZE`` points over ``SHAPER_DOMAIN``, linear interpolation), the matrix from the images of
the axes, the whole checked against OCIO on random colours across the domain, and the sRGB curve on a ramp through
and beyond [0, 1]. A transform that is not of this form (cross-channel non-linearity, a config whose model space is
not that curve) bakes to None and the engine keeps OCIO on the CPU. The out-of-range rules are
:class:`~ftpvm_core.imaging.colour.ColourConverter`'s: NaN/inf -> 0 first, then clip to [0, 1] or the same roll-off;
code values of a non-linear space outside ``SHAPER_DOMAIN`` are clamped to it (beyond every code value real plates
use: ACEScct 1.47 is half-float max).

Tolerance against OCIO's CPU processor after encoding (tested in tests/imaging/test_colour_torch.py):
- scene-linear spaces (``TOLERANCE``): measured 7e-6 max abs (OCIO's optimised CPU path approximates the power
  function), HDR values and negatives included;
- non-linear spaces (``SHAPER_TOLERANCE``, against OCIO's exact processor): measured max abs over the whole domain
  2e-6 (sRGB Encoded Rec.709), 1.1e-5 to 2.1e-5 (Gamma 1.8/2.2/2.4 Encoded Rec.709, sRGB Encoded AP1 and P3-D65,
  Gamma 2.2 Encoded AdobeRGB, the sRGB / Rec.1886 / P3 displays), 1.3e-4 to 1.8e-4 (ACEScct: float32 cancellation where a saturated channel is
  mixed into a dark one). The engine's CPU path uses OCIO's default optimisation, itself up to 1.4e-3 from the exact
  processor (sRGB Encoded AP1; 5e-4 for Gamma 2.6 P3-D65): against it the torch path is as far as OCIO is from itself.
  ACEScc, the PQ displays, Gamma 2.2 Encoded AP1 and Raw do not bake in the default config and keep OCIO.
The engine rounds the result to float16 (a step of 2.4e-4 to 4.9e-4 near 1), so both paths give the same model input
but for one or two half-float steps where a value lies within that distance of a rounding boundary.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import PyOpenColorIO as ocio
import torch

from .colour import ROLLOFF_KNEE, ColourConverter, rolloff

#: Max abs difference from OCIO's CPU processor that bake() accepts and the tests hold (scene-linear input).
TOLERANCE = 2e-5
#: The same for a non-linear input space, against OCIO's exact (unoptimised) processor: the decoding table's
#: interpolation, and float32 cancellation where a saturated channel is mixed into a dark one (ACEScct, 1.3e-4).
SHAPER_TOLERANCE = 2.5e-4
#: Code values of a non-linear input space the decoding table covers, and its number of points.
SHAPER_DOMAIN = (-0.25, 2.0)
SHAPER_SIZE = 16384
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


def interpolate(table: torch.Tensor, x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """``table`` (N,) samples a curve at N even steps over [lo, hi]; its linear interpolation at ``x`` (clamped)."""
    n = table.shape[0]
    t = (x.clamp(lo, hi) - lo) * ((n - 1) / (hi - lo))
    i = t.floor().clamp(max=n - 2)
    f = t - i
    i = i.long()
    return torch.lerp(table[i], table[i + 1], f)


@dataclass
class TorchColour:
    """Input space -> model input on any device: ``shaper`` decodes each channel (None: already linear), then
    ``matrix`` maps to linear Rec.709, then the sRGB curve."""

    matrix: torch.Tensor      # (3, 3) float64, rows = output channels
    highlights: str
    shaper: torch.Tensor | None = None  # (SHAPER_SIZE,) float32 over SHAPER_DOMAIN

    def to_model(self, rgb: torch.Tensor) -> torch.Tensor:
        """(H, W, 3) float tensor (any device) -> sRGB-encoded Rec.709 in [0, 1], float32, same device."""
        x = torch.nan_to_num(rgb.float(), nan=0.0, posinf=0.0, neginf=0.0)
        if self.shaper is not None:
            x = interpolate(self.shaper.to(x.device), x, *SHAPER_DOMAIN)
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


def _decoding(to_lin: ocio.CPUProcessor) -> tuple[np.ndarray, np.ndarray]:
    """(shaper table, matrix) with ``to_lin(x) = matrix @ shaper(x)`` per channel, if the transform has that form.

    Along the grey axis ``to_lin(v, v, v) = g(v) * (M @ 1)``; the images of one channel stepped from v0 to v1 give
    M's columns scaled by ``g(v1) - g(v0)``, so ``g`` is read in the same scale from the grey ramp."""
    v0, v1 = 0.25, 0.75
    steps = np.full((4, 3), v0, np.float32)
    for j in range(3):
        steps[j + 1, j] = v1
    images = _apply(to_lin, steps).astype(np.float64)
    matrix = (images[1:] - images[0]).T  # columns
    grey = np.linspace(*SHAPER_DOMAIN, SHAPER_SIZE, dtype=np.float32)
    along = _apply(to_lin, np.repeat(grey[:, None], 3, axis=1)).astype(np.float64)
    white = matrix.sum(axis=1)
    k = int(np.argmax(np.abs(white)))
    return (along[:, k] / white[k]).astype(np.float32), matrix


def bake(colour: ColourConverter) -> TorchColour | None:
    """The converter's input -> model transform as [decoding curve +] matrix + sRGB curve, or None when it is not
    one (see module)."""
    config = colour.config
    linear = _linear_rec709(config)
    if linear is None:
        return None
    plain = ocio.OPTIMIZATION_NONE
    to_lin = config.getProcessor(colour.colorspace, linear).getOptimizedCPUProcessor(plain)
    to_model = config.getProcessor(linear, colour.model_space).getOptimizedCPUProcessor(plain)
    rng = np.random.default_rng(0)
    shaper = None
    if colour.input_is_linear:
        matrix = _apply(to_lin, np.eye(3, dtype=np.float32)).astype(np.float64).T  # columns = images of the basis
        probe = (rng.random((256, 3)) * 16 - 2).astype(np.float32)
        if np.abs(_apply(to_lin, probe) - probe @ matrix.T).max() > 1e-4 * max(1.0, np.abs(probe).max()):
            return None  # not a matrix
    else:
        table, matrix = _decoding(to_lin)
        if not np.all(np.isfinite(table)) or not np.all(np.isfinite(matrix)):
            return None
        shaper = torch.from_numpy(table)
    transform = TorchColour(torch.from_numpy(matrix), colour.highlights, shaper)
    ramp = np.repeat(np.linspace(-0.5, 4.0, 1024, dtype=np.float32)[:, None], 3, axis=1)
    expected = _apply(to_model, ramp)
    if np.abs(srgb_encode(torch.from_numpy(ramp)).numpy() - expected).max() > TOLERANCE:
        return None  # the model space is not the sRGB curve over linear Rec.709
    if shaper is not None:  # the whole bake against OCIO's exact processor, over the domain and at its ends
        lo, hi = SHAPER_DOMAIN
        probe = (rng.random((128, 128, 3)) * (hi - lo) + lo).astype(np.float32)
        probe[0, :, :] = rng.choice(np.array([lo, hi, 0.0, 1.0], np.float32), (128, 3))
        ours = transform.to_model(torch.from_numpy(probe)).numpy()
        if not np.abs(ours - exact_to_model(colour, probe)).max() <= SHAPER_TOLERANCE:
            return None  # not a per-channel curve and a matrix
    return transform


def exact_to_model(colour: ColourConverter, rgb: np.ndarray) -> np.ndarray:
    """``colour.to_model`` through OCIO's unoptimised processor (the engine's CPU path uses the default optimisation,
    which approximates power functions: up to 4e-4 from this for AP1 and P3 texture spaces)."""
    processor = colour.config.getProcessor(colour.colorspace, colour.model_space).getOptimizedCPUProcessor(
        ocio.OPTIMIZATION_NONE)
    encoded = _apply(processor, np.nan_to_num(np.asarray(rgb, np.float32), nan=0.0, posinf=0.0, neginf=0.0))
    return rolloff(encoded) if colour.highlights == "rolloff" else np.clip(encoded, 0.0, 1.0)


_BAKED: "weakref.WeakKeyDictionary[ColourConverter, TorchColour | None]" = weakref.WeakKeyDictionary()


def baked(colour: ColourConverter) -> TorchColour | None:
    """:func:`bake`, once per converter."""
    if colour not in _BAKED:
        _BAKED[colour] = bake(colour)
    return _BAKED[colour]


__all__ = ["SHAPER_DOMAIN", "SHAPER_SIZE", "SHAPER_TOLERANCE", "TOLERANCE", "TorchColour", "bake", "baked",
           "exact_to_model", "interpolate", "rolloff_torch", "srgb_encode"]
