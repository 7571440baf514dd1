"""FTP-VM for Blender: matte a plate with an ftpvm-server and wire the result into the compositor.

The add-on is thin: it reads Blender data, talks to the server only through ``ftpvm_client`` and writes
EXR sequences. Pure logic lives in ``plan``, ``colour`` and ``job`` (importable without Blender). The client and
its dependencies come as the extension's bundled wheels, which Blender installs into its own site-packages; the
add-on never changes ``sys.path``.
"""
from __future__ import annotations


def register() -> None:
    from . import operators, panels, properties

    properties.register()
    operators.register()
    panels.register()


def unregister() -> None:
    from . import operators, panels, properties

    panels.unregister()
    operators.unregister()
    properties.unregister()
