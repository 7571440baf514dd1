"""Fixtures of the training tests (the tree builders live in train_trees.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from train_trees import make_all


@pytest.fixture(scope="session")
def dataset_root(tmp_path_factory) -> Path:
    """All four datasets, in the layout the original's README describes."""
    return make_all(tmp_path_factory.mktemp("dataset"))
