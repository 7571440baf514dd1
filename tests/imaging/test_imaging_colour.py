import numpy as np
import PyOpenColorIO as ocio
import pytest

from ftpvm_core.errors import InvalidInput
from ftpvm_core.imaging.colour import ColourConverter, get_config, resolve_colorspace
from ftpvm_core.synthetic import srgb_encode


def _ocio(src, dst, rgb):
    proc = get_config().getProcessor(src, dst).getDefaultCPUProcessor()
    out = np.array(rgb, np.float32, copy=True)
    proc.applyRGB(out)
    return out


def test_linear_rec709_to_model_matches_ocio_and_srgb_curve():
    rng = np.random.default_rng(1)
    lin = rng.random((16, 24, 3)).astype(np.float32)
    conv = ColourConverter("Linear Rec.709 (sRGB)")
    enc = conv.to_model(lin)
    np.testing.assert_allclose(enc, _ocio("Linear Rec.709 (sRGB)", "sRGB Encoded Rec.709 (sRGB)", lin), atol=1e-5)
    np.testing.assert_allclose(enc, srgb_encode(lin), atol=2e-4)
    assert enc[0, 0, 0] == pytest.approx(srgb_encode(lin[0, 0, :1])[0], abs=2e-4)
    np.testing.assert_allclose(conv.from_model(enc), lin, atol=1e-4)  # round trip in [0, 1]


def test_acescg_round_trip_and_reference():
    rng = np.random.default_rng(2)
    ap1 = (rng.random((8, 8, 3)) * 0.8).astype(np.float32)
    conv = ColourConverter("ACEScg")
    enc = conv.to_model(ap1)
    ref = np.clip(_ocio("ACEScg", "sRGB Encoded Rec.709 (sRGB)", ap1), 0, 1)
    np.testing.assert_allclose(enc, ref, atol=1e-5)
    inside = (ref > 1e-3).all(-1) & (ref < 1 - 1e-3).all(-1)
    np.testing.assert_allclose(conv.from_model(enc)[inside], ap1[inside], atol=1e-4)
    assert conv.input_is_linear and conv.to_linear(ap1) is not ap1


def test_out_of_range_values_and_nan():
    conv = ColourConverter("Linear Rec.709 (sRGB)")
    x = np.array([[[4.0, -0.5, np.nan], [0.9, 1.2, np.inf]]], np.float32)
    enc = conv.to_model(x)
    assert enc.min() >= 0 and enc.max() <= 1 and np.isfinite(enc).all()
    assert enc[0, 0, 0] == 1.0 and enc[0, 0, 1] == 0.0 and enc[0, 0, 2] == 0.0
    roll = ColourConverter("Linear Rec.709 (sRGB)", highlights="rolloff").to_model(
        np.linspace(0, 8, 50, dtype=np.float32)[None, :, None].repeat(3, -1))[0, :, 0]
    assert np.all(np.diff(roll) >= 0) and roll.max() <= 1
    bright = np.array([[[1.2] * 3, [1.6] * 3]], np.float32)  # above display white
    rolled = ColourConverter("Linear Rec.709 (sRGB)", highlights="rolloff").to_model(bright)
    assert rolled[0, 0, 0] < rolled[0, 1, 0] < 1  # texture kept where "clip" flattens both to 1
    assert np.all(conv.to_model(bright) == 1)


def test_srgb_input_foreground_space_round_trip():
    conv = ColourConverter("sRGB Encoded Rec.709 (sRGB)")
    assert not conv.input_is_linear
    x = np.random.default_rng(3).random((4, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(conv.from_linear(conv.to_linear(x)), x, atol=1e-4)
    np.testing.assert_allclose(conv.to_model(x), x, atol=1e-5)


def test_unknown_colorspace_lists_close_matches():
    with pytest.raises(InvalidInput, match="did you mean.*ACEScg"):
        resolve_colorspace("ACES cg")
    with pytest.raises(InvalidInput, match="Linear Rec.709"):
        ColourConverter("linear rec709")
    assert resolve_colorspace("scene_linear") == "ACEScg"  # roles resolve


def test_ocio_env_config(monkeypatch):
    monkeypatch.setenv("OCIO", "ocio://studio-config-latest")
    cfg = get_config()
    assert isinstance(cfg, ocio.Config) and cfg.getColorSpace("ACEScg") is not None
    assert ColourConverter("ACEScg").model_space
