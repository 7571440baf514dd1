"""Re-export of :mod:`ftpvm_core.imaging.io` under the name the docs use (``ftpvm_core.io``)."""
from ftpvm_core.imaging.io import *  # noqa: F401,F403
from ftpvm_core.imaging import io as _impl

__all__ = [n for n in dir(_impl) if not n.startswith("_")]
