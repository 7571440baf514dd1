"""Helpers for the Blender add-on tests: where the sources are, a Python with bpy, EXR files, free ports."""
from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

from server_harness import ROOT

BLENDER_SRC = ROOT / "plugins" / "blender"
for _d in (str(ROOT / "plugins"), str(BLENDER_SRC)):
    if _d not in sys.path:
        sys.path.insert(0, _d)


@functools.lru_cache(maxsize=1)
def bpy_python() -> str | None:
    """A Python that can ``import bpy``: $FTPVM_BPY_PYTHON, this one, or ./.venv-bpy (None if none can)."""
    env = os.environ.get("FTPVM_BPY_PYTHON")
    candidates = [env] if env else [sys.executable, str(ROOT / ".venv-bpy" / "bin" / "python")]
    for python in candidates:
        if python and os.path.exists(python):
            ok = subprocess.run([python, "-c", "import bpy"], capture_output=True, timeout=120)
            if ok.returncode == 0:
                return python
    return None


def free_port() -> int:
    """A loopback port nobody listens on (for the server-down case)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_exr(path: Path, pixels) -> None:
    """A float32 EXR through OpenImageIO."""
    import numpy as np
    import OpenImageIO as oiio

    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], pixels.shape[2] if pixels.ndim == 3 else 1, "float")
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), oiio.geterror()
    assert out.write_image(pixels), out.geterror()
    out.close()


def read_exr(path: Path):
    """(H, W, C) float32 of an EXR through OpenImageIO."""
    import OpenImageIO as oiio

    buf = oiio.ImageBuf(str(path))
    assert not buf.has_error, buf.geterror()
    return buf.get_pixels(oiio.FLOAT)
