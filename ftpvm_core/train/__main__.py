"""``ftpvm-train`` / ``python -m ftpvm_core.train`` / ``torchrun --nproc_per_node=N -m ftpvm_core.train``."""
from __future__ import annotations

import sys
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags and train; known problems end with one line on stderr and exit status 2."""
    from ftpvm_core.train.flags import parse_flags

    args = parse_flags(argv)
    from ftpvm_core.train.datasets.common import DatasetLayoutError
    from ftpvm_core.train.loop import train

    try:
        train(args)
    except (DatasetLayoutError, FileNotFoundError, ValueError, OSError) as e:
        print(f"ftpvm-train: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ftpvm-train: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
