"""Build the Blender extension zip: the add-on, the vendored ``ftpvm_client`` and the client's wheels.

    python plugins/blender/build_extension.py                      # pip-downloads grpcio + protobuf wheels
    python plugins/blender/build_extension.py --wheels DIR          # wheels already downloaded into DIR
    python plugins/blender/build_extension.py --no-wheels           # for a Blender that already has grpcio

Blender 4.2 .. 5.0 run Python 3.11; the wheels are cp311 (or abi3 / pure) per platform. Blender's own
numpy is used, so no numpy wheel is bundled. The manifest in the zip gets ``wheels`` and ``platforms``.
Downloads happen here, at build time, never when the add-on runs.
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Sequence

HERE = Path(__file__).resolve().parent
ADDON = HERE / "ftpvm_blender"
CLIENT = HERE.parent / "ftpvm_client"
WIRE = HERE.parent.parent / "wire" / "ftpvm_wire"   # the settings-schema reader and its snapshot
REQUIREMENTS = ("grpcio", "protobuf")
PYTHON_VERSION = "3.11"

#: Blender platform -> pip --platform tags to try, and wheel file-name patterns that fit it.
PLATFORMS: Dict[str, Dict[str, Sequence[str]]] = {
    "linux-x64": {"pip": ("manylinux_2_17_x86_64", "manylinux2014_x86_64"),
                  "match": ("*manylinux*x86_64*.whl",)},
    "windows-x64": {"pip": ("win_amd64",), "match": ("*win_amd64*.whl",)},
    "macos-arm64": {"pip": ("macosx_11_0_arm64", "macosx_10_9_universal2"),
                    "match": ("*macosx*arm64*.whl", "*macosx*universal2*.whl")},
    "macos-x64": {"pip": ("macosx_10_14_x86_64", "macosx_10_9_universal2"),
                  "match": ("*macosx*x86_64*.whl", "*macosx*universal2*.whl")},
}


def _package(wheel: str) -> str:
    return re.split(r"-\d", os.path.basename(wheel), maxsplit=1)[0].lower().replace("_", "-")


def wheels_for(folder: Path, platforms: Sequence[str]) -> Dict[str, List[str]]:
    """Per platform, the wheel files in ``folder`` that fit it (pure ``py3-none-any`` wheels fit all)."""
    files = sorted(p.name for p in folder.glob("*.whl"))
    out: Dict[str, List[str]] = {}
    for platform in platforms:
        chosen = []
        for req in REQUIREMENTS:
            cands = [f for f in files if _package(f) == req]
            fits = [f for f in cands if any(fnmatch.fnmatch(f, pat) for pat in PLATFORMS[platform]["match"])]
            fits = fits or [f for f in cands if f.endswith("-none-any.whl")]
            if not fits:
                raise SystemExit(f"no {req} wheel for {platform} in {folder}; download it or drop the platform")
            chosen.append(fits[-1])
        out[platform] = chosen
    return out


def download(folder: Path, platforms: Sequence[str]) -> None:
    """pip-download binary wheels of the client's requirements for each platform (build time only)."""
    for platform in platforms:
        cmd = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--no-deps", "--dest", str(folder),
               "--python-version", PYTHON_VERSION]
        for tag in PLATFORMS[platform]["pip"]:
            cmd += ["--platform", tag]
        subprocess.run(cmd + list(REQUIREMENTS), check=True)


def manifest_text(wheels: Sequence[str], platforms: Sequence[str]) -> str:
    """The source manifest with ``platforms`` and ``wheels`` appended."""
    text = (ADDON / "blender_manifest.toml").read_text()
    if not wheels:
        return text
    extra = ("platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]\n"
             + "wheels = [\n" + "".join(f'  "./wheels/{w}",\n' for w in wheels) + "]\n")
    head, sep, tables = text.partition("\n[")  # top-level keys go before the first [table]
    return head.rstrip() + "\n" + extra + ("\n[" + tables if sep else "")


def _sources(root: Path):
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".pyi", ".toml", ".json"):
            yield path


def build(out: Path, wheel_dir: Path | None, platforms: Sequence[str]) -> Path:
    """Write the extension zip to ``out`` and return its path."""
    chosen: List[str] = []
    if wheel_dir is not None:
        per = wheels_for(wheel_dir, platforms)
        chosen = sorted({w for ws in per.values() for w in ws})
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path in _sources(ADDON):
            if path.name == "blender_manifest.toml":
                continue
            z.write(path, path.relative_to(ADDON).as_posix())
        z.writestr("blender_manifest.toml", manifest_text(chosen, platforms))
        for package in (CLIENT, WIRE):
            for path in _sources(package):
                z.write(path, (f"vendor/{package.name}/" / path.relative_to(package)).as_posix())
        for wheel in chosen:
            z.write(wheel_dir / wheel, f"wheels/{wheel}")  # type: ignore[operator]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(HERE.parent.parent / "dist" / "ftpvm_matte.zip"), help="zip to write")
    p.add_argument("--wheels", metavar="DIR", help="use the wheels in DIR instead of downloading them")
    p.add_argument("--no-wheels", action="store_true", help="bundle no wheels (Blender must have grpcio)")
    p.add_argument("--platform", action="append", choices=sorted(PLATFORMS),
                   help="platform(s) to bundle wheels for (default: all)")
    args = p.parse_args(argv)
    platforms = args.platform or list(PLATFORMS)
    if args.no_wheels:
        path = build(Path(args.out), None, platforms)
    elif args.wheels:
        path = build(Path(args.out), Path(args.wheels), platforms)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            download(Path(tmp), platforms)
            path = build(Path(args.out), Path(tmp), platforms)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
