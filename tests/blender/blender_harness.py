"""Helpers for the Blender add-on tests: where the sources are, a Python with bpy, EXR files, free ports."""
from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

from server_harness import ROOT, free_port  # noqa: F401  (the blender tests import it from here)

BLENDER_SRC = ROOT / "plugins" / "blender"
for _d in (str(ROOT / "plugins"), str(BLENDER_SRC)):
    if _d not in sys.path:
        sys.path.insert(0, _d)


#: The bpy environments scripts/setup_blender_tests.sh makes: 5.0, 4.5 LTS and 4.2 LTS.
BPY_VENVS = (".venv-bpy", ".venv-bpy45", ".venv-bpy42")


def bpy_candidates() -> list:
    """Pythons that may have ``bpy``: those in $FTPVM_BPY_PYTHON (os.pathsep-separated), else this one and
    every ``BPY_VENVS`` environment that exists."""
    env = os.environ.get("FTPVM_BPY_PYTHON")
    if env:
        return [p for p in env.split(os.pathsep) if p]
    import importlib.util

    here = [sys.executable] if importlib.util.find_spec("bpy") is not None else []
    return here + [str(ROOT / v / "bin" / "python") for v in BPY_VENVS if (ROOT / v / "bin" / "python").exists()]


@functools.lru_cache(maxsize=None)
def has_bpy(python: str) -> bool:
    """Whether ``python`` can ``import bpy``."""
    if not os.path.exists(python):
        return False
    return subprocess.run([python, "-c", "import bpy"], capture_output=True, timeout=120).returncode == 0


def bpy_pythons() -> list:
    """Every candidate Python that can ``import bpy`` (each runs the add-on tests)."""
    return [p for p in bpy_candidates() if has_bpy(p)]


def bpy_python() -> str | None:
    """The first Python that can ``import bpy`` (None if none can)."""
    found = bpy_pythons()
    return found[0] if found else None


@functools.lru_cache(maxsize=None)
def blender_ext_script(python: str) -> Path:
    """Blender's own extension command-line tool (``blender --command extension``) inside that bpy wheel."""
    out = subprocess.run([python, "-c", "import importlib.util as u; "
                          "print(u.find_spec('bpy').submodule_search_locations[0])"],
                         capture_output=True, text=True, timeout=60, check=True).stdout.strip()
    found = sorted(Path(out).glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    assert found, f"no blender_ext.py in {out}"
    return found[0]


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
