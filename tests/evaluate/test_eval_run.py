"""ftpvm-eval end to end through the shot engine, on tiny sets made here."""
from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch

from ftpvm_core.evaluate.cli import main
from ftpvm_core.evaluate.runner import evaluate_clips, summarise
from ftpvm_core.evaluate.sources import discover_clips
from ftpvm_core.model import FastTrimapPropagationVideoMatting
from ftpvm_core.model.synthetic_weights import manifest_of, synthetic_state_dict


def write(path, px):
    import OpenImageIO as oiio

    path.parent.mkdir(parents=True, exist_ok=True)
    px = np.ascontiguousarray(px.astype(np.uint8))
    px = px[..., None] if px.ndim == 2 else px
    spec = oiio.ImageSpec(px.shape[1], px.shape[0], px.shape[2], "uint8")
    spec.attribute("oiio:UnassociatedAlpha", 1)
    out = oiio.ImageOutput.create(str(path))
    out.open(str(path), spec)
    out.write_image(px)
    out.close()


def synthetic_model() -> FastTrimapPropagationVideoMatting:
    model = FastTrimapPropagationVideoMatting(backbone_pretrained=False)
    model.load_state_dict(synthetic_state_dict(manifest_of(model.state_dict()), seed=0))
    return model.eval()


class HalfGrey(FastTrimapPropagationVideoMatting):
    """The real network, with its full matte replaced by 0.5 so the metrics can be worked out by hand.

    ``matte_outputs`` is the network's last step, which ``forward``, ``forward_with_memory`` and the streaming step
    the engine runs all call."""

    def matte_outputs(self, *a, **k):
        logits, boundary, full = super().matte_outputs(*a, **k)
        return logits, boundary, torch.full_like(full, 0.5)


@pytest.fixture(scope="module")
def folder_set(tmp_path_factory):
    """Two clips of 3 frames, 16x16: a static half-white alpha (left half 1)."""
    root = tmp_path_factory.mktemp("clips")
    rng = np.random.default_rng(0)
    alpha = np.zeros((16, 16), np.uint8)
    alpha[:, :8] = 255
    for clip in ("a", "b"):
        for f in range(3):
            write(root / clip / "rgb" / f"{f:04d}.png", rng.integers(0, 255, (16, 16, 3)))
            write(root / clip / "pha" / f"{f:04d}.png", alpha)
    return root


def test_metrics_of_a_known_prediction_by_hand(folder_set):
    kind, clips = discover_clips(folder_set, trimap_kernel=3)
    assert kind == "folder" and [c.name for c in clips] == ["a", "b"]
    model = HalfGrey(backbone_pretrained=False)
    model.load_state_dict(synthetic_model().state_dict())
    results = evaluate_clips(model.eval(), clips, device="cpu", settings={"downsample_ratio": 1.0})
    means = summarise(results)["mean_over_clips"]
    # |0.5 - alpha| = 0.5 everywhere: MAD 500, MSE 250; static truth and prediction: dtSSD 0
    assert means["MAD"] == pytest.approx(500.0) and means["MSE"] == pytest.approx(250.0)
    assert means["MAD_unknown"] == pytest.approx(500.0) and means["dtSSD"] == pytest.approx(0.0)
    # Conn: left half levels 0.5 (phi_true 0.5, phi_pred 1), right half 0 (phi_true 1, phi_pred 0.5): 256 x 0.5
    assert means["Conn"] == pytest.approx(0.128)
    assert all(len(r.frames) == 3 and math.isnan(r.frames[0]["dtSSD"]) for r in results)


def test_unknown_growth_compares_the_propagated_trimap_with_the_keyframes(folder_set):
    _, clips = discover_clips(folder_set, trimap_kernel=3)
    results = evaluate_clips(synthetic_model(), clips, device="cpu", settings={"downsample_ratio": 1.0})
    key_unknown = float((clips[0].trimap(0, clips[0].frame(0)[1]) == 0.5).mean())
    assert key_unknown > 0
    for r in results:
        assert "unknown_growth" not in r.frames[0]  # the keyframe itself is not propagated
        growth = [f["unknown_growth"] for f in r.frames[1:]]
        assert len(growth) == 2 and all(0 <= g <= 1 / key_unknown + 1e-6 for g in growth)


def make_vm108_val(root):
    rng = np.random.default_rng(1)
    vm = root / "VideoMatting108"
    corr = {}
    yy, xx = np.mgrid[0:32, 0:48]
    for f in range(3):
        alpha = (np.clip(1.2 - np.hypot((yy - 16) / 10, (xx - 20 - 2 * f) / 12), 0, 1) * 255).astype(np.uint8)
        write(vm / "FG_done" / "walk" / f"{f:04d}.png", np.dstack([rng.integers(0, 255, (32, 48, 3)), alpha]))
        write(vm / "BG_done" / "room" / f"{f:05d}.jpg", rng.integers(0, 255, (32, 48, 3)))
        corr[f"walk/{f:04d}.png"] = f"room/{f:05d}.jpg"
    (vm / "val_videos.txt").write_text("walk\n")
    (vm / "frame_corr.json").write_text(json.dumps(corr))
    return root


def test_cli_writes_csv_json_and_plot(tmp_path, capsys):
    data = make_vm108_val(tmp_path / "data")
    weights = tmp_path / "w.pth"
    torch.save(synthetic_model().state_dict(), weights)
    out = tmp_path / "out"
    assert main([str(weights), str(data), "--out", str(out), "--device", "cpu", "--save-alpha"]) == 0
    assert f"ftpvm-eval: using weights from {weights}" in capsys.readouterr().out
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert [r["frame"] for r in rows] == ["0", "1", "2", "mean"] and rows[0]["dtSSD"] == ""
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["dataset_kind"] == "VideoMatting108" and doc["scales"]["MAD"] == "x1e3"
    assert set(doc["clips"]) == {"walk"} and doc["clips"]["walk"]["frames"] == 3
    mean = doc["mean_over_clips"]
    assert 0 <= mean["MAD"] <= 1000 and 0 <= mean["MSE"] <= 1000 and mean["dtSSD"] >= 0
    assert float(rows[3]["MAD"]) == pytest.approx(mean["MAD"], rel=1e-5)
    # the CSV's first frame agrees with the saved prediction scored by hand (8-bit rounding aside)
    import OpenImageIO as oiio

    pred = oiio.ImageInput.open(str(out / "alpha" / "walk" / "00000.png")).read_image("float")[..., 0]
    from ftpvm_core.evaluate.sources import vm108_validation_clips

    _, true = vm108_validation_clips(data / "VideoMatting108")[0].frame(0)
    assert float(rows[0]["MAD"]) == pytest.approx(np.abs(pred - true).mean() * 1e3, abs=2.0)
    png = oiio.ImageInput.open(str(out / "error_over_time.png"))
    assert (png.spec().width, png.spec().height) == (900, 420)


def test_cli_errors_are_one_line(tmp_path, capsys):
    weights = tmp_path / "w.pth"
    torch.save({"x": torch.zeros(1)}, weights)
    assert main([str(weights), str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ftpvm-eval: error: ") and "expected layout" in err[0]
