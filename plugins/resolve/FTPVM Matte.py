"""FTPVM Matte: matte the clip under the playhead with FTP-VM (Workspace > Scripts > FTPVM Matte).

This file only finds the ``ftpvm_resolve`` package and calls it. ``ftpvm resolve install`` writes
the folder holding the packages into FTPVM_HOME below; ``$FTPVM_RESOLVE_HOME`` overrides it.
"""
import os
import sys

FTPVM_HOME = ""  # set by ftpvm resolve install


def _package_dirs():
    here = os.path.dirname(os.path.abspath(globals().get("__file__") or sys.argv[0] or "."))
    return [d for d in (os.environ.get("FTPVM_RESOLVE_HOME"), FTPVM_HOME, here, os.path.dirname(here)) if d]


def _run():
    for folder in _package_dirs():
        if os.path.isdir(os.path.join(folder, "ftpvm_resolve")):
            if folder not in sys.path:
                sys.path.insert(0, folder)
            vendor = os.path.join(folder, "vendor")  # pure-Python dependencies; Resolve's own packages win
            if os.path.isdir(vendor) and vendor not in sys.path:
                sys.path.append(vendor)
            break
    else:
        print("FTPVM Matte: cannot find the ftpvm_resolve package; run 'ftpvm resolve install' again "
              "or set FTPVM_RESOLVE_HOME to the folder that holds it.")
        return 2
    from ftpvm_resolve.app import main

    g = globals()
    inside = g.get("resolve") is not None  # Resolve gives its scripts these globals; its argv is not ours
    return main(resolve=g.get("resolve"), fusion=g.get("fusion"), bmd=g.get("bmd"),
                argv=[] if inside else sys.argv[1:])


if globals().get("resolve") is not None or __name__ != "__main__":
    _run()  # inside Resolve: never sys.exit
else:
    sys.exit(_run())
