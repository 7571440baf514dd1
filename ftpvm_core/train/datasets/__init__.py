"""Training datasets in the original layouts (plus procedural shots), and how to build them from the flags."""
from ftpvm_core.train.datasets.common import DatasetLayoutError, unpack

__all__ = ["DatasetLayoutError", "unpack"]
