"""FTP-VM for Blender: matte a Movie Clip with an ftpvm-server and wire the result into the compositor.

The add-on is thin: it reads Blender data, talks to the server only through ``ftpvm_client`` and writes
EXR sequences. Pure logic lives in ``plan``, ``colour`` and ``job`` (importable without Blender).
"""
from __future__ import annotations

import os
import sys

_VENDOR = os.path.join(os.path.dirname(__file__), "vendor")


def _client_path() -> None:
    """Make the bundled ``ftpvm_client``, ``ftpvm_wire`` and their pure-Python dependencies importable
    (installed ones win)."""
    if os.path.isdir(_VENDOR) and _VENDOR not in sys.path:
        sys.path.append(_VENDOR)


def register() -> None:
    _client_path()
    from . import operators, panels, properties

    properties.register()
    operators.register()
    panels.register()


def unregister() -> None:
    from . import operators, panels, properties

    panels.unregister()
    operators.unregister()
    properties.unregister()
