"""Colour at full resolution in torch, on the engine's device: OCIO's transforms compiled to tables and matrices.

Three conversions touch every pixel: the model input (input space -> sRGB-encoded Rec.709, :func:`bake`) and the
foreground's conversions to the config's scene-linear space and back (:func:`bake_linear`). Each is OCIO's own
processor compiled op by op (:func:`_compile`):
- every MatrixTransform is read exactly; consecutive ones are composed in float64 (applied in float32);
- every run of other ops (sRGB, gamma, log and PQ curves, OCIO's 1D LUTs, clamps) becomes one per-channel table,
  sampled along the grey axis, interpolated linearly with its index computed in float64. A run that reads code
  values (the first of a non-linear space) samples ``SHAPER_SIZE`` points over ``SHAPER_DOMAIN``: a step of 2**-13,
  so 0 (where the pass-through gamma curves kink) and 1 are points. A run that reads scene-linear values samples
  ``LINEAR_SIZE`` points evenly in asinh(x / LINEAR_KNEE) up to +-LINEAR_LIMIT: one relative step (1.3e-3) from
  1e-9 up, 0 a point. OCIO's own 1D LUTs are sampled on their grid or up to where OCIO clamps (:func:`_grid`:
  ACEScc's 4096-point LUT exactly, PQ's half-float LUT and its inverse);
- a conversion OCIO makes with no op (Raw and other data spaces, the model's own space) is no conversion.
The model input ends with the sRGB curve, in closed form (checked against OCIO on a ramp through and beyond
[0, 1]), and the converter's rules.

Proof, at bake time: each pipeline against OCIO's ops themselves, run on every probe colour (random code values
across ``SHAPER_DOMAIN`` and its ends; scene-linear values of every sign and magnitude, 1e-8 to 1e6), with the
matrices applied in float64: max abs difference / max(1, the pixel's largest value) in scene-linear light
<= ``LINEAR_TOLERANCE``. The conversion back is compared after decoding both results to scene-linear, because in
code values a pure power curve's infinite slope at 0 magnifies float32 rounding. The reference applies matrices in
float64 because OCIO's exact processor applies each matrix of its chain in float32: where a channel is 1e5x another
(ACEScc's ceiling, PQ above 10,000 nits) its rounding is larger than the bake's error. A run that is not per channel,
a table that is not finite, a matrix that mixes in alpha, or a model space that is not the sRGB curve over linear
Rec.709 bakes to None, and the engine keeps OCIO on the CPU. Every space of the default config bakes, both ways.

Out-of-range rules are :class:`~ftpvm_core.imaging.colour.ColourConverter`'s: NaN/inf -> 0 first, then clip to
[0, 1] or the same roll-off. Code values outside a table's domain clamp to it (``SHAPER_DOMAIN`` is beyond every code
value real plates use, ACEScct 1.47 being half-float max; OCIO itself clamps ACEScc to [-0.36, 1.5] and PQ to
+-1.547); scene-linear values beyond +-LINEAR_LIMIT clamp; NaN in the conversion back (the estimate gives none)
reads as a table's lower end.

Measured max abs difference (``python bench/bench_colour.py --accuracy``; tests in tests/imaging/test_colour_torch.py
and tests/engine/test_engine_colour_device.py):
- model input against OCIO's exact processor on code values in [-0.05, 1.05]: 0 (sRGB Encoded Rec.709, Raw),
  1.2e-7 to 4.5e-6 (every scene-linear space, the gamma / sRGB-encoded texture spaces and the SDR displays),
  1.9e-5 (ACEScct), 5.4e-5 (ACEScc), 8.5e-5 / 1.5e-4 (Rec.2100-PQ / ST2084-P3-D65). Over the whole domain
  ``SHAPER_TOLERANCE`` holds but for ACEScc (4.7e-3) and PQ (2.3e-3, 6.9e-2): at pixels where one channel is ~1e5x
  another (ACEScc's ceiling, PQ above 10,000 nits), float32 rounding of the matrices, OCIO's and the bake's alike,
  moves a dark channel (the bake is 2e-3 to 3.7e-3 from the float64-matrix reference there, and within 1.5e-5 of
  it everywhere else). The engine's CPU path (OCIO's default optimisation) is itself up to 9e-4 from the exact
  processor (PQ; 2.9e-4 sRGB Encoded AP1), so against it the bake is as far as OCIO is from itself;
- the foreground's conversion back, in code values, against the CPU path, on colours 0.8-1.2x the plate's: 1.2e-7
  to 7.6e-6 for every non-linear space but ACEScc, 2.8e-3 (a channel at 6e-4 beside one at 480: ACEScc's slope
  near 0 is ~2700, and float32 rounding of its matrices shows). Its conversion to scene-linear: 3e-6 relative.
The engine rounds the model input to float16 (a step of 2.4e-4 to 4.9e-4 near 1), so both paths give the same model
input but for one or two half-float steps where a value lies within that distance of a rounding boundary.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Union

import numpy as np
import PyOpenColorIO as ocio
import torch

from .colour import ROLLOFF_KNEE, ColourConverter, rolloff

#: Max abs difference of the model input from OCIO that the tests hold: scene-linear spaces, against the CPU path.
TOLERANCE = 2e-5
#: The same for a non-linear space against OCIO's exact processor over ``SHAPER_DOMAIN`` (ACEScc and PQ: see module).
SHAPER_TOLERANCE = 2.5e-4
#: What bake() and bake_linear() accept, in scene-linear light: max abs difference from OCIO's ops divided by
#: max(1, the pixel's largest magnitude) (see module).
LINEAR_TOLERANCE = 2e-5
#: Code values a decoding table covers (clamped to it): a step of 2**-13, so 0 and 1 are points of the table.
SHAPER_DOMAIN = (-0.5, 2.0)
SHAPER_SIZE = 20481
#: Scene-linear values an encoding table covers (clamped to +-LINEAR_LIMIT), sampled evenly in asinh(x / LINEAR_KNEE):
#: dense near 0, the same relative step (1.3e-3) from 1e-9 to the limit; x = 0 is a point of the table.
LINEAR_LIMIT = 1e8
LINEAR_KNEE = 1e-10
LINEAR_SIZE = 65537
HALF_MAX = 65504.0  # where a 1D LUT on the half-float domain ends
LINEAR_REC709_CANDIDATES = ("Linear Rec.709 (sRGB)", "lin_rec709", "Utility - Linear - sRGB", "lin_srgb", "linear")
# The sRGB curve as OCIO builds it (a "moncurve": gamma 2.4, offset 0.055, the linear segment continuous in value
# and slope, so its break is 0.0030399 rather than the standard's rounded 0.0031308).
_SRGB_GAMMA, _SRGB_A = 2.4, 0.055
_SRGB_CUT = ((_SRGB_A / (_SRGB_GAMMA - 1) + _SRGB_A) / (1 + _SRGB_A)) ** _SRGB_GAMMA
_SRGB_SLOPE = _SRGB_A / (_SRGB_GAMMA - 1) / _SRGB_CUT
_LINEAR_U = float(np.arcsinh(LINEAR_LIMIT / LINEAR_KNEE))


def srgb_encode(x: torch.Tensor) -> torch.Tensor:
    """Linear -> the sRGB curve (its power law above 1 too, its linear segment below 0, as OCIO)."""
    power = (1 + _SRGB_A) * x.clamp_min(_SRGB_CUT) ** (1 / _SRGB_GAMMA) - _SRGB_A
    return torch.where(x <= _SRGB_CUT, _SRGB_SLOPE * x, power)


def rolloff_torch(x: torch.Tensor, knee: float = ROLLOFF_KNEE) -> torch.Tensor:
    """:func:`ftpvm_core.imaging.colour.rolloff` in torch."""
    span = 1.0 - knee
    return torch.where(x > knee, knee + span * torch.tanh((x - knee) / span), x).clamp(0.0, 1.0)


def interpolate(table: torch.Tensor, x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """``table`` (N,) samples a curve at N even steps over [lo, hi]; its linear interpolation at ``x`` (clamped; NaN
    reads as ``lo``), the position computed in float64. A (C, N) table holds one curve per channel, for ``x`` of
    shape (..., C)."""
    n = table.shape[-1]
    t = (torch.nan_to_num(x.double(), nan=lo).clamp(lo, hi) - lo) * ((n - 1) / (hi - lo))
    i = t.floor().clamp(max=n - 2)
    f = (t - i).to(table.dtype)
    i = i.long()
    flat = table
    if table.dim() == 2:  # per channel: index the flattened (C * N) table
        i = i + torch.arange(table.shape[0], device=x.device) * n
        flat = table.reshape(-1)
    return torch.lerp(flat[i], flat[i + 1], f)


@dataclass
class Table:
    """A per-channel curve: (3, N) float32 samples ((N,): the same for every channel), evenly over [lo, hi] of
    the code value (``warped`` False) or of asinh(x / LINEAR_KNEE) for a scene-linear x (``warped`` True); linear
    interpolation, clamped to the ends."""

    values: torch.Tensor
    lo: float
    hi: float
    warped: bool
    _on: dict = field(default_factory=dict, repr=False, compare=False)  # device -> values there

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.device not in self._on:
            self._on[x.device] = self.values.to(x.device)
        if self.warped:
            x = torch.asinh(x.double() / LINEAR_KNEE)
        return interpolate(self._on[x.device], x, self.lo, self.hi)


@dataclass
class Affine:
    """x -> matrix @ x + offset per pixel (float64, applied in float32)."""

    matrix: torch.Tensor  # (3, 3), rows = output channels
    offset: torch.Tensor  # (3,)
    _on: dict = field(default_factory=dict, repr=False, compare=False)  # device -> (matrix.T, offset or None) there

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.device not in self._on:
            offset = self.offset.to(x.device, torch.float32) if bool(self.offset.any()) else None
            self._on[x.device] = (self.matrix.T.to(x.device, torch.float32), offset)
        matrix_t, offset = self._on[x.device]
        y = x @ matrix_t
        return y if offset is None else y + offset


Step = Union[Table, Affine]


@dataclass
class Pipeline:
    """OCIO's ops as tables and matrices, in order; no steps: no conversion (OCIO's no-op, a data space)."""

    steps: tuple[Step, ...]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for step in self.steps:
            x = step(x)
        return x


@dataclass
class TorchColour:
    """Input space -> model input on any device: ``pipeline`` to linear Rec.709 then the sRGB curve, or, for a
    transform OCIO makes a no-op (``encode`` False: Raw, data spaces, the model's own space), nothing; then the
    converter's NaN and highlight rules."""

    pipeline: Pipeline
    highlights: str
    encode: bool = True

    def to_model(self, rgb: torch.Tensor) -> torch.Tensor:
        """(H, W, 3) float tensor (any device) -> sRGB-encoded Rec.709 in [0, 1], float32, same device."""
        x = self.pipeline(torch.nan_to_num(rgb.float(), nan=0.0, posinf=0.0, neginf=0.0))
        encoded = srgb_encode(x) if self.encode else x
        return rolloff_torch(encoded) if self.highlights == "rolloff" else encoded.clamp(0.0, 1.0)


@dataclass
class TorchLinear:
    """The foreground's conversions on any device: input space <-> the converter's ``linear_space``."""

    forward: Pipeline
    inverse: Pipeline

    def to_linear(self, rgb: torch.Tensor) -> torch.Tensor:
        """:meth:`ColourConverter.to_linear` in torch (NaN/inf -> 0 first), float32, same device."""
        return self.forward(torch.nan_to_num(rgb.float(), nan=0.0, posinf=0.0, neginf=0.0))

    def from_linear(self, rgb: torch.Tensor) -> torch.Tensor:
        """:meth:`ColourConverter.from_linear` in torch, float32, same device."""
        return self.inverse(rgb.float())


def _apply(processor: ocio.CPUProcessor, rgb: np.ndarray) -> np.ndarray:
    out = np.array(rgb, dtype=np.float32, order="C", copy=True).reshape(1, -1, 3)
    processor.apply(ocio.PackedImageDesc(out, out.shape[1], 1, 3))
    return out.reshape(rgb.shape)


def _exact(config: ocio.Config, src: str, dst: str) -> ocio.CPUProcessor:
    return config.getProcessor(src, dst).getOptimizedCPUProcessor(ocio.OPTIMIZATION_NONE)


def _linear_rec709(config: ocio.Config) -> str | None:
    for name in LINEAR_REC709_CANDIDATES:
        cs = config.getColorSpace(name)
        if cs is not None:
            return cs.getName()
    return None


def _affine(transform: ocio.MatrixTransform) -> Affine | None:
    m = np.array(transform.getMatrix(), np.float64).reshape(4, 4)
    offset = np.array(transform.getOffset(), np.float64)
    if np.any(m[:3, 3]) or np.any(m[3, :3]):
        return None  # alpha mixed into colour or back
    matrix, offset = m[:3, :3], offset[:3]
    if transform.getDirection() == ocio.TRANSFORM_DIR_INVERSE:
        matrix = np.linalg.inv(matrix)
        offset = -matrix @ offset
    return Affine(torch.from_numpy(matrix), torch.from_numpy(offset))


def _run_processor(config: ocio.Config, run: list) -> ocio.CPUProcessor:
    group = ocio.GroupTransform()
    for transform in run:
        group.appendTransform(transform)
    return config.getProcessor(group).getOptimizedCPUProcessor(ocio.OPTIMIZATION_NONE)


def _grid(run: list, warped: bool) -> tuple[float, float, int, bool]:
    """Where a run's table samples (lo, hi, points, warped), so that OCIO's own breaks fall on its points or ends:
    - a 1D LUT (optionally behind the range that maps its input to [0, 1], as ACEScc): OCIO's own grid, refined to
      at least SHAPER_SIZE points, so interpolating it is exact;
    - the inverse of a 1D LUT (as PQ decoding; optionally before a range, as ACEScc encoding): up to the LUT's
      least and greatest value, where OCIO clamps;
    - a 1D LUT on the half-float domain (as PQ encoding): scene-linear values up to half-float max, where it ends;
    - else ``SHAPER_DOMAIN`` (code values) or +-LINEAR_LIMIT (``warped``)."""
    if (isinstance(run[0], ocio.Lut1DTransform) and run[0].getLength() > 1
            and run[0].getDirection() == ocio.TRANSFORM_DIR_INVERSE
            and (len(run) == 1 or (len(run) == 2 and isinstance(run[1], ocio.RangeTransform)))):
        values = np.asarray(run[0].getData(), np.float64)
        if warped:
            u = float(np.arcsinh(np.abs(values).max() / LINEAR_KNEE))
            return -u, u, LINEAR_SIZE, True
        return float(values.min()), float(values.max()), SHAPER_SIZE, False
    lut, head = run[-1], run[:-1]
    if not isinstance(lut, ocio.Lut1DTransform) or len(head) > 1 or lut.getLength() < 2:
        return _default_grid(warped)
    if lut.getInputHalfDomain():
        u = float(np.arcsinh(HALF_MAX / LINEAR_KNEE))
        return (-u, u, LINEAR_SIZE, True) if not head else _default_grid(warped)
    lo, hi = 0.0, 1.0
    if head:
        r = head[0]
        if not (isinstance(r, ocio.RangeTransform) and r.getDirection() == ocio.TRANSFORM_DIR_FORWARD
                and r.getStyle() == ocio.RANGE_CLAMP and r.hasMinInValue() and r.hasMaxInValue()
                and r.hasMinOutValue() and r.hasMaxOutValue()
                and (r.getMinOutValue(), r.getMaxOutValue()) == (0.0, 1.0)):
            return _default_grid(warped)
        lo, hi = r.getMinInValue(), r.getMaxInValue()
    steps = lut.getLength() - 1
    return lo, hi, steps * -(-(SHAPER_SIZE - 1) // steps) + 1, False


def _default_grid(warped: bool) -> tuple[float, float, int, bool]:
    return (-_LINEAR_U, _LINEAR_U, LINEAR_SIZE, True) if warped else (*SHAPER_DOMAIN, SHAPER_SIZE, False)


def _table(processor: ocio.CPUProcessor, lo: float, hi: float, n: int, warped: bool) -> Table | None:
    """A run of OCIO's non-matrix ops sampled along the grey axis (per channel when the ops are per channel; the
    bake's check, which runs the ops on every probe colour, catches a run that is not)."""
    x = np.linspace(lo, hi, n)
    if warped:
        x = LINEAR_KNEE * np.sinh(x)
    values = _apply(processor, np.repeat(x.astype(np.float32)[:, None], 3, axis=1)).T
    if not np.all(np.isfinite(values)):
        return None
    if np.array_equal(values[0], values[1]) and np.array_equal(values[0], values[2]):
        values = values[0]  # one curve for all channels: a plain gather
    return Table(torch.from_numpy(np.ascontiguousarray(values)), lo, hi, warped)


@dataclass
class _Compiled:
    """A pipeline and its reference: the same OCIO ops run on each colour, the matrices applied in float64."""

    pipeline: Pipeline
    runs: tuple[ocio.CPUProcessor | None, ...]  # per step: the ops a Table samples, None for an Affine

    def reference(self, rgb: np.ndarray) -> np.ndarray:
        x = np.asarray(rgb, np.float64)
        for step, processor in zip(self.pipeline.steps, self.runs):
            if processor is None:
                x = x @ step.matrix.numpy().T + step.offset.numpy()
            else:
                x = _apply(processor, np.clip(x, -3e38, 3e38)).astype(np.float64)
        return x.astype(np.float32)

    def error(self, rgb: np.ndarray) -> float:
        """Max over pixels of |ours - reference| / max(1, the pixel's largest |reference|)."""
        return _relative_error(self.pipeline(torch.from_numpy(rgb)).numpy(), self.reference(rgb))


def _compile(config: ocio.Config, src: str, dst: str, code_input: bool) -> _Compiled | None:
    """OCIO's ``src -> dst`` as steps: each MatrixTransform read exactly (consecutive ones composed in float64),
    each run of other ops sampled as one per-channel :class:`Table`; the first run is a table over code values
    when ``code_input``, every other one over scene-linear values. None: a matrix that mixes in alpha, or a run
    that is not finite over its domain."""
    steps: list[Step] = []
    runs: list[ocio.CPUProcessor | None] = []
    pending: list = []

    def close_run() -> bool:
        if pending:
            processor = _run_processor(config, pending)
            table = _table(processor, *_grid(pending, warped=bool(steps) or not code_input))
            if table is None:
                return False
            steps.append(table)
            runs.append(processor)
            pending.clear()
        return True

    for transform in config.getProcessor(src, dst).createGroupTransform():
        if not isinstance(transform, ocio.MatrixTransform):
            pending.append(transform)
            continue
        affine = _affine(transform)
        if affine is None or not close_run():
            return None
        if steps and isinstance(steps[-1], Affine):
            last = steps.pop()
            runs.pop()
            affine = Affine(affine.matrix @ last.matrix, affine.matrix @ last.offset + affine.offset)
        steps.append(affine)
        runs.append(None)
    if not close_run():
        return None
    return _Compiled(Pipeline(tuple(steps)), tuple(runs))


def _is_no_op(config: ocio.Config, src: str, dst: str) -> bool:
    return config.getProcessor(src, dst).isNoOp()


def bake(colour: ColourConverter) -> TorchColour | None:
    """The converter's input -> model transform as tables and matrices to linear Rec.709 + the sRGB curve (or no
    conversion where OCIO makes none), proven against OCIO (see module); None when it does not hold."""
    config = colour.config
    if _is_no_op(config, colour.colorspace, colour.model_space):
        return TorchColour(Pipeline(()), colour.highlights, encode=False)
    linear = _linear_rec709(config)
    if linear is None:
        return None
    to_model = _exact(config, linear, colour.model_space)
    ramp = np.repeat(np.linspace(-0.5, 4.0, 1024, dtype=np.float32)[:, None], 3, axis=1)
    if np.abs(srgb_encode(torch.from_numpy(ramp)).numpy() - _apply(to_model, ramp)).max() > TOLERANCE:
        return None  # the model space is not the sRGB curve over linear Rec.709
    compiled = _compile(config, colour.colorspace, linear, code_input=not colour.input_is_linear)
    if compiled is None:
        return None
    if compiled.error(_probe(colour.input_is_linear)) > LINEAR_TOLERANCE:
        return None
    return TorchColour(compiled.pipeline, colour.highlights)


def bake_linear(colour: ColourConverter) -> TorchLinear | None:
    """The converter's ``to_linear`` and ``from_linear`` (the foreground's conversions) as tables and matrices,
    both proven against OCIO (see module); None when either does not hold."""
    if colour.input_is_linear:
        return TorchLinear(Pipeline(()), Pipeline(()))
    config, src, dst = colour.config, colour.colorspace, colour.linear_space
    forward = _compile(config, src, dst, code_input=True)
    inverse = _compile(config, dst, src, code_input=False)
    if forward is None or inverse is None:
        return None
    codes = _probe(linear=False)
    if forward.error(codes) > LINEAR_TOLERANCE:
        return None
    decode = _exact(config, src, dst)
    for probe in (forward.reference(codes), _probe(linear=True)):  # compared in linear light (see module)
        ours = _apply(decode, inverse.pipeline(torch.from_numpy(probe)).numpy())
        if _relative_error(ours, _apply(decode, inverse.reference(probe))) > LINEAR_TOLERANCE:
            return None
    return TorchLinear(forward.pipeline, inverse.pipeline)


def _probe(linear: bool) -> np.ndarray:
    """Random colours to prove a bake on: code values across ``SHAPER_DOMAIN`` and its ends, or scene-linear values
    of every magnitude and sign up to 1e6 (and a block in [-2, 14])."""
    rng = np.random.default_rng(0)
    if linear:
        probe = (rng.choice([-1.0, 1.0], (128, 128, 3)) * 10.0 ** rng.uniform(-8, 6, (128, 128, 3)))
        probe[:64] = rng.uniform(-2, 14, (64, 128, 3))
        probe[0, :8] = 0.0
        return probe.astype(np.float32)
    lo, hi = SHAPER_DOMAIN
    probe = (rng.random((128, 128, 3)) * (hi - lo) + lo).astype(np.float32)
    probe[0, :, :] = rng.choice(np.array([lo, hi, 0.0, 1.0], np.float32), (128, 3))
    return probe


def _relative_error(ours: np.ndarray, exact: np.ndarray) -> float:
    """Max over pixels of |ours - exact| / max(1, the pixel's largest |exact|); inf where either is not finite."""
    if not (np.all(np.isfinite(ours)) and np.all(np.isfinite(exact))):
        return float("inf")
    scale = np.maximum(1.0, np.abs(exact).max(axis=-1, keepdims=True))
    return float((np.abs(ours - exact) / scale).max())


def exact_to_model(colour: ColourConverter, rgb: np.ndarray) -> np.ndarray:
    """``colour.to_model`` through OCIO's unoptimised processor (the engine's CPU path uses the default optimisation,
    which approximates power functions and inverse LUTs: up to 9e-4 from this, see module)."""
    rgb = np.nan_to_num(np.asarray(rgb, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    encoded = _apply(_exact(colour.config, colour.colorspace, colour.model_space), rgb)
    return rolloff(encoded) if colour.highlights == "rolloff" else np.clip(encoded, 0.0, 1.0)


_BAKED: "weakref.WeakKeyDictionary[ColourConverter, TorchColour | None]" = weakref.WeakKeyDictionary()
_BAKED_LINEAR: "weakref.WeakKeyDictionary[ColourConverter, TorchLinear | None]" = weakref.WeakKeyDictionary()


def baked(colour: ColourConverter) -> TorchColour | None:
    """:func:`bake`, once per converter."""
    if colour not in _BAKED:
        _BAKED[colour] = bake(colour)
    return _BAKED[colour]


def baked_linear(colour: ColourConverter) -> TorchLinear | None:
    """:func:`bake_linear`, once per converter."""
    if colour not in _BAKED_LINEAR:
        _BAKED_LINEAR[colour] = bake_linear(colour)
    return _BAKED_LINEAR[colour]


__all__ = ["LINEAR_KNEE", "LINEAR_LIMIT", "LINEAR_SIZE", "LINEAR_TOLERANCE", "SHAPER_DOMAIN", "SHAPER_SIZE",
           "SHAPER_TOLERANCE", "TOLERANCE", "Affine", "Pipeline", "Table", "TorchColour", "TorchLinear", "bake",
           "bake_linear", "baked", "baked_linear", "exact_to_model", "interpolate", "rolloff_torch", "srgb_encode"]
