"""``python -m ftpvm_cli`` is ``ftpvm``."""
import sys

from ftpvm_cli.command import main

sys.exit(main())
