"""Shared fixtures: the checkpoint manifest and deterministic synthetic FTP-VM weights."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

from ftpvm_core.model.synthetic_weights import read_manifest, synthetic_state_dict

# Tiny frames: one intra-op thread is as fast as two, and far faster when other processes (the test servers)
# compete for the 2 cores of a CI machine.
torch.set_num_threads(1)

# ONNX graphs exported by the engine's CPU backend go to a folder of this test run (inherited by the servers the
# tests start), never to the user's cache.
os.environ["FTPVM_ONNX_CACHE"] = tempfile.mkdtemp(prefix="ftpvm-test-onnx-")
atexit.register(shutil.rmtree, os.environ["FTPVM_ONNX_CACHE"], True)

DATA = Path(__file__).parent / "data"
MANIFEST = DATA / "ftpvm-checkpoint-manifest.tsv"


@pytest.fixture(scope="session")
def manifest():
    return read_manifest(MANIFEST)


@pytest.fixture(scope="session")
def synthetic_weights(manifest):
    return synthetic_state_dict(manifest, seed=0)


@pytest.fixture(scope="session")
def synthetic_checkpoint(tmp_path_factory, synthetic_weights) -> Path:
    path = tmp_path_factory.mktemp("weights") / "ftpvm.pth"
    torch.save(synthetic_weights, path)
    return path


@pytest.fixture()
def model(synthetic_weights):
    from ftpvm_core.model import FastTrimapPropagationVideoMatting

    m = FastTrimapPropagationVideoMatting()
    m.load_state_dict(synthetic_weights, strict=True)
    return m.eval()
