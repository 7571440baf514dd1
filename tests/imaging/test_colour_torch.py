"""The torch colour path (OCIO baked to matrix + curve) against OCIO itself, on CPU tensors (and CUDA if present)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ftpvm_core.engine.matting import model_input, on_device
from ftpvm_core.imaging.colour import ColourConverter
from ftpvm_core.imaging.colour_torch import TOLERANCE, bake, srgb_encode

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


@pytest.mark.parametrize("space", ["ACEScct", "sRGB Encoded Rec.709 (sRGB)"])
def test_non_linear_inputs_keep_ocio(space):
    assert bake(ColourConverter(space)) is None


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
