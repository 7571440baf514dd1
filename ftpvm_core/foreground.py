"""Re-export of :mod:`ftpvm_core.imaging.foreground` under the name the docs use (``ftpvm_core.foreground``)."""
from ftpvm_core.imaging.foreground import *  # noqa: F401,F403
from ftpvm_core.imaging import foreground as _impl

__all__ = [n for n in dir(_impl) if not n.startswith("_")]
