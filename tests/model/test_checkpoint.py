"""Checkpoint loading: the published API, strict loads, wrappers, and clear refusals."""
from __future__ import annotations

import subprocess
import sys
from collections import OrderedDict

import pytest
import torch

from ftpvm_core.model import CheckpointError, FastTrimapPropagationVideoMatting, fingerprint, load_model
from ftpvm_core.model.checkpoint import load_state_dict_file
from ftpvm_core.model.synthetic_weights import manifest_of


def test_state_dict_follows_manifest_in_order(manifest):
    model = FastTrimapPropagationVideoMatting()
    assert manifest_of(model.state_dict()) == manifest


def test_published_api_sample_runs_as_written(tmp_path, monkeypatch, synthetic_weights):
    """The README's code sample, with the checkpoint at saves/ftpvm.pth."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "saves").mkdir()
    torch.save(synthetic_weights, "saves/ftpvm.pth")
    from ftpvm_core.model import FastTrimapPropagationVideoMatting as FTPVM

    model = FTPVM()
    model.load_state_dict(torch.load("saves/ftpvm.pth"))
    model.eval()
    g = torch.Generator().manual_seed(1)
    query_imgs = torch.rand(1, 2, 3, 64, 96, generator=g)
    memory_imgs = torch.rand(1, 1, 3, 64, 96, generator=g)
    memory_trimaps = torch.full((1, 1, 1, 64, 96), 0.5)
    with torch.no_grad():
        trimaps, boundary_mattes, full_mattes, rec = model(query_imgs, memory_imgs, memory_trimaps)
        trimaps, boundary_mattes, full_mattes, rec = model(query_imgs, memory_imgs, memory_trimaps, *rec)
        kv = model.encode_imgs_to_value(memory_imgs, memory_trimaps)
        trimaps2, boundary2, full2, rec2 = model.forward_with_memory(query_imgs, *kv, *rec)
    assert trimaps.shape == (1, 2, 3, 64, 96)
    assert boundary_mattes.shape == full_mattes.shape == (1, 2, 1, 64, 96)
    assert len(rec) == 2 and len(rec[0]) == 2 and len(rec[1]) == 2
    assert torch.isfinite(full2).all() and full2.shape == (1, 2, 1, 64, 96)


@pytest.mark.parametrize("wrap", ["plain", "state_dict", "module_prefix", "half"])
def test_load_model_accepts_common_wrappers(tmp_path, synthetic_weights, wrap):
    sd = synthetic_weights
    if wrap == "state_dict":
        obj = {"state_dict": sd, "epoch": 3}
    elif wrap == "module_prefix":
        obj = OrderedDict(("module." + k, v) for k, v in sd.items())
    elif wrap == "half":
        obj = OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in sd.items())
    else:
        obj = sd
    path = tmp_path / "w.pth"
    torch.save(obj, path)
    model = load_model(path, device="cpu")
    assert not model.training
    got = model.state_dict()
    key = "mat_project.conv.weight"
    tol = 1e-3 if wrap == "half" else 0
    assert torch.allclose(got[key], sd[key], atol=tol)
    if wrap != "half":
        assert fingerprint(model) == fingerprint(sd)


def _expect_error(path, *needles):
    with pytest.raises(CheckpointError) as info:
        load_model(path, device="cpu")
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    return message


def test_missing_unexpected_and_misshaped_keys_are_named(tmp_path, synthetic_weights):
    sd = OrderedDict(synthetic_weights)
    del sd["mat_project.conv.bias"]
    sd["extra.head.weight"] = torch.zeros(3)
    sd["seg_project.conv.weight"] = torch.zeros(4, 16, 1, 1)
    path = tmp_path / "bad.pth"
    torch.save(sd, path)
    _expect_error(path, "missing keys: mat_project.conv.bias", "unexpected keys: extra.head.weight",
                  "seg_project.conv.weight (4, 16, 1, 1) != (3, 16, 1, 1)")


def test_corrupt_and_absent_files_are_refused_clearly(tmp_path, synthetic_checkpoint):
    corrupt = tmp_path / "corrupt.pth"
    corrupt.write_bytes(synthetic_checkpoint.read_bytes()[:5000])
    _expect_error(corrupt, "not a readable PyTorch checkpoint")
    _expect_error(tmp_path / "nope.pth", "no such checkpoint file")
    text = tmp_path / "text.pth"
    text.write_text("hello")
    _expect_error(text, "not a PyTorch checkpoint")
    empty = tmp_path / "empty.pth"
    torch.save({"epoch": 1}, empty)
    _expect_error(empty, "no network weights", "epoch")


def test_checkpoint_info_cli(synthetic_checkpoint, tmp_path):
    ok = subprocess.run([sys.executable, "-m", "ftpvm_cli", "checkpoint", "info", str(synthetic_checkpoint)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "strict_load" in ok.stdout and "fingerprint" in ok.stdout
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"\x00" * 64)
    fail = subprocess.run([sys.executable, "-m", "ftpvm_cli", "checkpoint", "info", str(bad)],
                          capture_output=True, text=True)
    assert fail.returncode == 2
    lines = fail.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a PyTorch checkpoint" in lines[0]


def test_backbone_imagenet_weights_only_from_a_local_path(tmp_path):
    donor = FastTrimapPropagationVideoMatting(backbone_pretrained=False).backbone.backbone.state_dict()
    donor = OrderedDict((k, torch.randn_like(v) if v.is_floating_point() else v) for k, v in donor.items())
    donor["conv_head.weight"] = torch.zeros(1280, 960, 1, 1)  # classifier head of an ImageNet file: ignored
    path = tmp_path / "mnv3.pth"
    torch.save(donor, path)
    model = FastTrimapPropagationVideoMatting(backbone_pretrained=str(path))
    assert torch.equal(model.backbone.backbone.conv_stem.weight, donor["conv_stem.weight"])


class _NotATensor:
    """A pickled object that a safe load must refuse."""


@pytest.mark.parametrize("content", [b"hello world\n", b'{"weights": [1, 2, 3]}\n', b"\x00" * 64, b""])
def test_non_checkpoint_files_say_so_and_never_suggest_unsafe_loading(tmp_path, content):
    path = tmp_path / "weights.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        load_state_dict_file(path)
    message = str(info.value)
    assert "not a PyTorch checkpoint" in message
    assert "weights_only" not in message and "\n" not in message


def test_pickled_objects_are_refused_without_unsafe_advice(tmp_path):
    path = tmp_path / "objects.pth"
    torch.save({"model": _NotATensor()}, path)
    with pytest.raises(CheckpointError) as info:
        load_state_dict_file(path)
    message = str(info.value)
    assert "holds Python objects besides tensors" in message
    assert "weights_only" not in message and "trust" not in message and "\n" not in message
