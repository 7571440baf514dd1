"""Re-export of :mod:`ftpvm_core.imaging.trimap` under the name the docs use (``ftpvm_core.trimap``)."""
from ftpvm_core.imaging.trimap import *  # noqa: F401,F403
from ftpvm_core.imaging import trimap as _impl

__all__ = [n for n in dir(_impl) if not n.startswith("_")]
