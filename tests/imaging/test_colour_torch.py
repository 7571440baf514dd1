"""The torch colour path (OCIO compiled to tables and matrices) against OCIO itself, on CPU tensors (and CUDA)."""
from __future__ import annotations

import numpy as np
import PyOpenColorIO as ocio
import pytest
import torch

from ftpvm_core.engine.matting import foreground, model_input, on_device
from ftpvm_core.imaging.colour import ColourConverter
from ftpvm_core.imaging.colour_torch import (LINEAR_TOLERANCE, SHAPER_DOMAIN, SHAPER_TOLERANCE, TOLERANCE, Table,
                                             bake, bake_linear, exact_to_model, interpolate, srgb_encode)

LINEAR_SPACES = ("ACEScg", "ACES2065-1", "Linear Rec.709 (sRGB)", "Linear P3-D65", "Linear Rec.2020")


def _plate(seed: int = 1, size: int = 48) -> np.ndarray:
    rng = np.random.default_rng(seed)
    plate = (rng.random((size, size, 3)) * 8 - 0.5).astype(np.float32)  # HDR highlights and negatives
    plate[:4] = rng.random((4, size, 3)).astype(np.float32) ** 3  # plenty of values near black
    plate[0, 0] = [np.nan, np.inf, -np.inf]
    return plate


@pytest.mark.parametrize("highlights", ["clip", "rolloff"])
@pytest.mark.parametrize("space", LINEAR_SPACES)
def test_torch_path_equals_ocio_within_tolerance(space, highlights):
    colour = ColourConverter(space, highlights)
    transform = bake(colour)
    assert transform is not None, f"{space} should bake to matrix + curve"
    plate = _plate()
    ours = transform.to_model(torch.from_numpy(plate)).numpy()
    theirs = colour.to_model(plate)
    assert ours.dtype == np.float32 and ours.shape == plate.shape
    assert np.abs(ours - theirs).max() <= TOLERANCE
    assert ours.min() >= 0 and ours.max() <= 1 and np.all(ours[0, 0] == 0)  # NaN/inf -> 0 first


NON_LINEAR_SPACES = ("sRGB Encoded Rec.709 (sRGB)", "ACEScct", "Gamma 2.2 Encoded Rec.709", "sRGB Encoded AP1",
                     "sRGB Encoded P3-D65")


@pytest.mark.parametrize("highlights", ["clip", "rolloff"])
@pytest.mark.parametrize("space", NON_LINEAR_SPACES)
def test_non_linear_inputs_bake_to_a_decoding_table_within_tolerance_of_ocio(space, highlights):
    colour = ColourConverter(space, highlights)
    transform = bake(colour)
    assert transform is not None, f"{space} should bake"
    if space == colour.model_space:  # OCIO makes it a no-op, and so does the bake
        assert transform.pipeline.steps == () and not transform.encode
    else:
        assert isinstance(transform.pipeline.steps[0], Table), f"{space} should bake to table + matrix + curve"
    lo, hi = SHAPER_DOMAIN
    rng = np.random.default_rng(7)
    plate = (rng.random((160, 160, 3)) * (hi - lo) + lo).astype(np.float32)  # the whole domain
    plate[:40] = rng.random((40, 160, 3)).astype(np.float32)  # and plenty of ordinary code values
    plate[0, 0] = [np.nan, np.inf, -np.inf]
    ours = transform.to_model(torch.from_numpy(plate)).numpy()
    assert np.abs(ours - exact_to_model(colour, plate)).max() <= SHAPER_TOLERANCE
    assert np.abs(ours - colour.to_model(plate)).max() <= 1.5e-3  # OCIO's optimised path: up to 1.4e-3 from exact
    assert ours.min() >= 0 and ours.max() <= 1 and np.all(ours[0, 0] <= 1e-6)  # NaN/inf: as code value 0


def _hsv_converter() -> ColourConverter:
    """A space whose transform mixes channels non-linearly (RGB -> HSV), in a copy of the default config."""
    config = ocio.Config.CreateFromFile("ocio://default")
    cs = ocio.ColorSpace(name="hsv test", encoding="sdr-video")
    cs.setTransform(ocio.FixedFunctionTransform(ocio.FIXED_FUNCTION_RGB_TO_HSV),
                    ocio.COLORSPACE_DIR_FROM_REFERENCE)
    config.addColorSpace(cs)
    return ColourConverter("hsv test", config=config)


def test_transforms_that_are_not_per_channel_curves_and_matrices_keep_ocio():
    # a run of ops that mixes channels is sampled along grey like any other: the check, which runs OCIO's ops on
    # every probe colour, refuses it, so the engine keeps OCIO on the CPU rather than a wrong table
    colour = _hsv_converter()
    assert bake(colour) is None and bake_linear(colour) is None


FORMERLY_OCIO = ("ACEScc", "Rec.2100-PQ - Display", "ST2084-P3-D65 - Display", "Gamma 2.2 Encoded AP1")


@pytest.mark.parametrize("space", FORMERLY_OCIO)
def test_spaces_that_kept_ocio_now_bake_within_tolerance(space):
    # ACEScc: a clamp between its matrices and OCIO's own 4096-point LUT (now sampled on its grid); PQ: a steep
    # curve clamped at half-float max (now tables that end where OCIO's LUT ends); Gamma 2.2 AP1: the kink of
    # the pass-through power curve at 0 (now a point of the table), amplified by the AP1 matrix
    colour = ColourConverter(space)
    transform = bake(colour)
    assert transform is not None, f"{space} should bake"
    rng = np.random.default_rng(8)
    plate = (rng.random((128, 128, 3)) * 1.1 - 0.05).astype(np.float32)  # ordinary code values, a little beyond
    ours = transform.to_model(torch.from_numpy(plate)).numpy()
    assert np.abs(ours - exact_to_model(colour, plate)).max() <= SHAPER_TOLERANCE
    assert np.abs(ours - colour.to_model(plate)).max() <= 1.5e-3  # the engine's CPU path (OCIO, optimised)


def test_raw_is_no_conversion_at_all():
    colour = ColourConverter("Raw")
    transform = bake(colour)
    assert transform is not None and transform.pipeline.steps == () and not transform.encode
    plate = _plate()
    np.testing.assert_array_equal(transform.to_model(torch.from_numpy(plate)).numpy(), colour.to_model(plate))
    linear = bake_linear(colour)
    assert linear is not None
    np.testing.assert_array_equal(linear.from_linear(torch.from_numpy(plate)).numpy(), colour.from_linear(plate))


def _relative(ours: np.ndarray, theirs: np.ndarray) -> float:
    return float((np.abs(ours - theirs) / np.maximum(1.0, np.abs(theirs).max(axis=-1, keepdims=True))).max())


#: code values of the foreground after its conversion back, against the engine's CPU path (OCIO, optimised);
#: ACEScc (slope ~2700 near linear 0) shows float32 rounding of its matrices where a channel is 1e5x another
BACK_TOLERANCE = {"ACEScc": 3e-3}


@pytest.mark.parametrize("space", ["sRGB Encoded Rec.709 (sRGB)", "ACEScct", "ACEScc", "Gamma 2.2 Encoded AP1",
                                   "Gamma 2.2 Rec.709 - Display", "Rec.2100-PQ - Display", "sRGB Encoded AP1"])
def test_the_foregrounds_conversions_bake_both_ways_within_tolerance(space):
    colour = ColourConverter(space)
    transform = bake_linear(colour)
    assert transform is not None, f"{space}: the foreground's conversions should bake"
    rng = np.random.default_rng(9)
    codes = rng.random((96, 96, 3)).astype(np.float32)
    codes[0, 0] = [np.nan, np.inf, -np.inf]
    linear = transform.to_linear(torch.from_numpy(codes)).numpy()
    exact_in = colour.config.getProcessor(colour.colorspace, colour.linear_space).getOptimizedCPUProcessor(
        ocio.OPTIMIZATION_NONE)
    reference = np.nan_to_num(codes, nan=0.0, posinf=0.0, neginf=0.0)
    exact_in.applyRGB(reference)
    assert _relative(linear, reference) <= LINEAR_TOLERANCE
    assert _relative(linear, colour.to_linear(codes)) <= 1e-4  # OCIO's CPU path is ~2e-5 from its exact one
    fg = (colour.to_linear(codes) * rng.uniform(0.8, 1.2, codes.shape)).astype(np.float32)  # off the plate's colours
    back = transform.from_linear(torch.from_numpy(fg)).numpy()
    assert np.abs(back - colour.from_linear(fg)).max() <= BACK_TOLERANCE.get(space, 2e-5)


def test_the_foreground_stays_on_the_alphas_device_and_never_calls_ocio_when_baked(monkeypatch):
    colour = ColourConverter("ACEScct")
    plate = np.random.default_rng(10).random((40, 56, 3)).astype(np.float32)
    alpha = torch.from_numpy(np.random.default_rng(11).random((40, 56)).astype(np.float32))
    expected = foreground(colour, plate, alpha, None)  # OCIO on the CPU, numpy
    assert isinstance(expected, np.ndarray)

    def no_ocio(*_):
        raise AssertionError("OCIO called on the baked path")

    monkeypatch.setattr(ColourConverter, "to_linear", no_ocio)
    monkeypatch.setattr(ColourConverter, "from_linear", no_ocio)
    ours = foreground(colour, plate, alpha, torch.device("cpu"))
    assert isinstance(ours, torch.Tensor) and ours.device == alpha.device and ours.dtype == torch.float32
    assert np.abs(ours.numpy() - expected).max() <= 1e-4  # the estimate amplifies the conversions' 3e-6


def test_the_table_interpolates_linearly_and_clamps_to_its_domain():
    table = torch.tensor([0.0, 10.0, 30.0])
    x = torch.tensor([-5.0, 0.0, 0.25, 0.5, 0.75, 1.0, 9.0])
    assert interpolate(table, x, 0.0, 1.0).tolist() == [0.0, 0.0, 5.0, 10.0, 20.0, 30.0, 30.0]


def test_a_log_input_on_a_device_equals_the_ocio_path_to_a_half_step():
    colour = ColourConverter("ACEScct")
    plate = np.random.default_rng(4).random((96, 96, 3)).astype(np.float32) * 1.2
    diff = np.abs(model_input(colour, plate).float().numpy() -
                  model_input(colour, plate, torch.device("cpu")).float().numpy())
    assert diff.max() <= 2.0 ** -10  # a half-float step or two near 1 (OCIO's optimised path is 2.9e-4 off)
    assert (diff == 0).mean() > 0.95


def test_the_curve_is_ocios_srgb_through_and_beyond_the_unit_range():
    ramp = torch.linspace(-1, 16, 4001)
    encoded = srgb_encode(ramp)
    assert torch.all(encoded[1:] > encoded[:-1])  # monotonic, continuous at the break
    assert float(srgb_encode(torch.tensor(1.0))) == pytest.approx(1.0, abs=1e-6)
    assert float(srgb_encode(torch.tensor(0.18))) == pytest.approx(0.46135, abs=1e-4)


def test_model_input_on_a_device_equals_the_ocio_path_to_a_half_step():
    colour = ColourConverter("ACEScg")
    plate = _plate(seed=2, size=96)
    cpu_ocio = model_input(colour, plate).float().numpy()
    torch_path = model_input(colour, plate, torch.device("cpu")).float().numpy()
    diff = np.abs(cpu_ocio - torch_path)
    assert diff.max() <= 2.0 ** -11  # one float16 step below 1
    assert (diff == 0).mean() > 0.99


def test_only_a_gpu_runs_the_colour_work_on_the_device():
    assert on_device(torch.device("cpu")) is None
    assert on_device(torch.device("cuda", 0)) == torch.device("cuda", 0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_model_input_equals_the_cpu_path():
    colour = ColourConverter("ACEScg", "rolloff")
    plate = _plate(seed=3, size=256)
    on_gpu = model_input(colour, plate, torch.device("cuda"))
    assert on_gpu.device.type == "cuda" and on_gpu.dtype == torch.float16
    diff = np.abs(on_gpu.float().cpu().numpy() - model_input(colour, plate).float().numpy())
    assert diff.max() <= 2.0 ** -11 and (diff == 0).mean() > 0.99


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_model_input_of_a_log_space_equals_the_cpu_path():
    colour = ColourConverter("ACEScct", "rolloff")
    plate = np.random.default_rng(5).random((256, 256, 3)).astype(np.float32) * 1.2
    on_gpu = model_input(colour, plate, torch.device("cuda"))
    assert on_gpu.device.type == "cuda" and on_gpu.dtype == torch.float16
    diff = np.abs(on_gpu.float().cpu().numpy() - model_input(colour, plate).float().numpy())
    assert diff.max() <= 2.0 ** -10 and (diff == 0).mean() > 0.95


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_foreground_of_a_log_space_equals_the_cpu_path():
    colour = ColourConverter("ACEScct")
    plate = np.random.default_rng(6).random((256, 256, 3)).astype(np.float32)
    alpha = np.random.default_rng(7).random((256, 256)).astype(np.float32)
    on_gpu = foreground(colour, plate, torch.from_numpy(alpha).cuda(), torch.device("cuda"))
    assert isinstance(on_gpu, torch.Tensor) and on_gpu.device.type == "cuda"
    cpu = foreground(colour, plate, torch.from_numpy(alpha), None)
    assert np.abs(on_gpu.cpu().numpy() - cpu).max() <= 1e-4
