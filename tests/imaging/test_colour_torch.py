"""The torch colour path (OCIO baked to [table +] matrix + curve) against OCIO itself, on CPU tensors (and CUDA if present)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ftpvm_core.engine.matting import model_input, on_device
from ftpvm_core.imaging.colour import ColourConverter
from ftpvm_core.imaging.colour_torch import (SHAPER_DOMAIN, SHAPER_TOLERANCE, TOLERANCE, bake, exact_to_model,
                                             interpolate, srgb_encode)

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
    assert transform is not None and transform.shaper is not None, f"{space} should bake to table + matrix + curve"
    lo, hi = SHAPER_DOMAIN
    rng = np.random.default_rng(7)
    plate = (rng.random((160, 160, 3)) * (hi - lo) + lo).astype(np.float32)  # the whole domain
    plate[:40] = rng.random((40, 160, 3)).astype(np.float32)  # and plenty of ordinary code values
    plate[0, 0] = [np.nan, np.inf, -np.inf]
    ours = transform.to_model(torch.from_numpy(plate)).numpy()
    assert np.abs(ours - exact_to_model(colour, plate)).max() <= SHAPER_TOLERANCE
    assert np.abs(ours - colour.to_model(plate)).max() <= 1.5e-3  # OCIO's optimised path: up to 1.4e-3 from exact
    assert ours.min() >= 0 and ours.max() <= 1 and np.all(ours[0, 0] <= 1e-6)  # NaN/inf: as code value 0


def test_transforms_that_are_not_a_curve_and_a_matrix_keep_ocio():
    # ACEScc is not sampled faithfully by its grey axis in this config (a clamp between its pieces): the bake's check
    # against OCIO refuses it, so the engine keeps OCIO on the CPU rather than a wrong table
    assert bake(ColourConverter("ACEScc")) is None
    assert bake(ColourConverter("Raw")) is None


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
