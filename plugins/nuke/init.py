# FTPVM for Nuke: runs at Nuke start-up (GUI and render farm alike) when this folder is on NUKE_PATH.
# It only makes the plug-in's Python importable: ftpvm_nuke and the vendored client with its
# dependencies (installed into ./vendor by `ftpvm nuke install`).
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
for _path in (os.path.join(_here, "vendor"), _here):
    if os.path.isdir(_path) and _path not in sys.path:
        sys.path.insert(0, _path)
