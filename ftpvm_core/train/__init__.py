"""Training of FTP-VM with the original recipe (``ftpvm-train``): flags, datasets, augmentation, losses, loop, DDP."""
from __future__ import annotations

__all__ = ["main"]


def main(argv=None) -> int:
    """Entry point of ``ftpvm-train`` (see :mod:`ftpvm_core.train.__main__`)."""
    from ftpvm_core.train.__main__ import main as _main

    return _main(argv)
