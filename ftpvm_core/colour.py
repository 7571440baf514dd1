"""Re-export of :mod:`ftpvm_core.imaging.colour` under the name the docs use (``ftpvm_core.colour``)."""
from ftpvm_core.imaging.colour import *  # noqa: F401,F403
from ftpvm_core.imaging import colour as _impl

__all__ = [n for n in dir(_impl) if not n.startswith("_")]
