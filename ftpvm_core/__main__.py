"""``python -m ftpvm_core`` is ``ftpvm``."""
import sys

from ftpvm_core.cli import main

sys.exit(main())
