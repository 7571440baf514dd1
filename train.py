"""``python train.py ...``: the original command line, kept as a thin alias of ``ftpvm-train``."""
import sys

from ftpvm_core.train.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
