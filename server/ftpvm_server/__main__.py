"""``python -m ftpvm_server`` is ``ftpvm-server``."""
import sys

from ftpvm_server.main import main

sys.exit(main())
