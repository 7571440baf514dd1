"""Training checkpoints and the demo-weights export write through the one atomic-write helper (issue 16)."""
from __future__ import annotations

import os

import pytest
import torch
from torch import nn

from ftpvm_core.atomic import process_umask
from ftpvm_core.train import checkpointing


def test_a_crash_while_saving_leaves_the_old_checkpoint_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "exp" / "exp_10.pth"
    checkpointing.save_network(nn.Linear(2, 2), path)
    before = path.read_bytes()
    assert path.stat().st_mode & 0o777 == 0o666 & ~process_umask()
    real = torch.save

    def torn(obj, f, *a, **k):
        with open(f, "wb") as out:
            out.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(torch, "save", torn)
    with pytest.raises(OSError):
        checkpointing.save_network(nn.Linear(2, 2), path)
    monkeypatch.setattr(torch, "save", real)
    assert path.read_bytes() == before
    assert sorted(os.listdir(path.parent)) == ["exp_10.pth"]


def test_demo_export_over_the_limit_writes_nothing(tmp_path, synthetic_checkpoint):
    from ftpvm_core.train.export_demo import export_half

    dst = tmp_path / "demo.pth"
    with pytest.raises(ValueError, match="over the limit"):
        export_half(synthetic_checkpoint, dst, max_bytes=1000)
    assert os.listdir(tmp_path) == []
