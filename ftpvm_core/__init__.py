"""FTP-VM for compositors: the model library (network, shot engine, imaging, training).

Heavy imports are lazy so that ``import ftpvm_core`` stays cheap.
"""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["load_model", "__version__"]


def load_model(path: Any, device: Any = "auto", dtype: Any = None) -> Any:
    """Build FTP-VM and load a checkpoint strictly (see :func:`ftpvm_core.model.load_model`)."""
    from .model.checkpoint import load_model as _load

    return _load(path, device=device, dtype=dtype)
