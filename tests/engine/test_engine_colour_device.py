"""The engine's foreground on the device's path (baked colour, torch) against its OCIO path, on non-linear spaces.

The device path runs wherever the engine's device is a GPU; here ``on_device`` is patched to take it on CPU
tensors, and OCIO's conversions to and from scene-linear are patched to fail, so the test proves they are not used.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ftpvm_core.engine import matting
from ftpvm_core.imaging.colour import ColourConverter, get_config

from shot_helpers import LINEAR, H, W


def _plates(shot, space: str, n: int) -> list[np.ndarray]:
    processor = get_config().getProcessor(LINEAR, space).getDefaultCPUProcessor()
    plates = []
    for plate in shot.plates_linear[:n]:
        plate = np.array(plate, np.float32, copy=True)
        processor.applyRGB(plate)
        plates.append(plate)
    return plates


def _matte(engine, space: str, plates, trimap, premultiply: bool = False):
    shot = engine.open_shot("c", W, H, space)
    shot.set_keyframe(0, plates[0], trimap=trimap)
    return list(shot.matte(list(enumerate(plates)), passes=("alpha", "foreground"), premultiply=premultiply))


@pytest.mark.parametrize("space", ["sRGB Encoded Rec.709 (sRGB)", "ACEScct"])
def test_the_device_foreground_equals_the_ocio_path(make_engine, small_shot, tmp_path, monkeypatch, space):
    plates = _plates(small_shot, space, 3)
    reference = _matte(make_engine(state_dir=tmp_path / "ocio"), space, plates, small_shot.trimaps[0])

    def no_ocio(*_):
        raise AssertionError("OCIO called for the foreground on the device path")

    monkeypatch.setattr(matting, "on_device", lambda device: device)
    monkeypatch.setattr(matting, "baked", lambda colour: None)  # the model input as before: the same alpha
    monkeypatch.setattr(ColourConverter, "to_linear", no_ocio)
    monkeypatch.setattr(ColourConverter, "from_linear", no_ocio)
    ours = _matte(make_engine(state_dir=tmp_path / "device"), space, plates, small_shot.trimaps[0])
    pre = _matte(make_engine(state_dir=tmp_path / "pre"), space, plates, small_shot.trimaps[0], premultiply=True)
    for a, b, p in zip(reference, ours, pre):
        np.testing.assert_array_equal(a.alpha, b.alpha)
        assert b.foreground.dtype == np.float32 and b.foreground.shape == (H, W, 3)
        assert np.abs(a.foreground - b.foreground).max() <= 1e-4  # see docs/performance.md
        np.testing.assert_allclose(p.foreground, b.foreground * b.alpha[..., None], atol=1e-6)


def test_a_space_whose_conversion_does_not_bake_keeps_ocio_on_the_device_path(monkeypatch):
    colour = ColourConverter("ACEScct")
    monkeypatch.setattr(matting, "baked_linear", lambda colour: None)
    calls = []
    real = ColourConverter.from_linear
    monkeypatch.setattr(ColourConverter, "from_linear", lambda self, rgb: calls.append(1) or real(self, rgb))
    plate = np.random.default_rng(1).random((16, 24, 3)).astype(np.float32)
    fg = matting.foreground(colour, plate, torch.full((16, 24), 0.5), torch.device("cpu"))
    assert isinstance(fg, np.ndarray) and calls == [1]
