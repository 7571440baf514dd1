"""``python -m ftpvm_cli`` is ``ftpvm``."""
import sys

from ftpvm_cli.main import main

sys.exit(main())
