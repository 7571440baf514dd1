"""Build the Blender extension zip: the add-on, the vendored client with its whole dependency closure.

    .venv/bin/python plugins/blender/build_extension.py                # pip-downloads grpcio + protobuf wheels
    .venv/bin/python plugins/blender/build_extension.py --wheels DIR    # wheels already downloaded into DIR
    .venv/bin/python plugins/blender/build_extension.py --no-wheels     # for a Blender that already has grpcio

Run it with the project's Python: the closure is read from its installed packages (``ftpvm_client.vendoring``).
``vendor/`` in the zip gets ``ftpvm_client``, ``ftpvm_wire`` and the pure-Python rest of the closure (fileseq,
typing_extensions, ...) at this Python's versions; the compiled ``grpcio`` and ``protobuf`` come as wheels per
platform (cp311 or abi3 for Blender 4.2 .. 5.0's Python 3.11), downloaded pinned to this Python's versions, or
the newest by version number in ``--wheels DIR``. Blender's own numpy is used, so no numpy is bundled. The
manifest in the zip gets ``wheels`` and ``platforms``. Downloads happen here, at build time, never when the add-on
runs.
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Sequence

from ftpvm_client import vendoring

HERE = Path(__file__).resolve().parent
ADDON = HERE / "ftpvm_blender"
#: Compiled distributions of the client's closure: bundled as wheels per platform.
REQUIREMENTS = ("grpcio", "protobuf")
#: Distributions Blender brings itself.
BLENDER_HAS = ("numpy",)
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
    return vendoring.normalize(os.path.basename(wheel).split("-")[0])


def _version(wheel: str) -> tuple:
    return vendoring.version_key(os.path.basename(wheel).split("-")[1])


def pure_dependencies() -> Dict[str, str]:
    """The rest of the client's closure (not a wheel, not Blender's): name -> version, each pure Python."""
    skip = {vendoring.normalize(n) for n in REQUIREMENTS + BLENDER_HAS}
    pure = {n: v for n, v in vendoring.closure().items() if vendoring.normalize(n) not in skip}
    compiled = [n for n in pure if not vendoring.is_pure(n)]
    if compiled:
        raise SystemExit(f"{', '.join(compiled)} in the client's dependencies is compiled; add it to REQUIREMENTS "
                         f"so it is bundled as wheels per platform")
    return pure


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
            chosen.append(max(fits, key=_version))  # the newest by version number, not by file name
        out[platform] = chosen
    return out


def download(folder: Path, platforms: Sequence[str]) -> None:
    """pip-download binary wheels of the client's requirements, pinned to this Python's versions (build time only)."""
    pinned = [f"{name}=={version}" for name, version in vendoring.closure(REQUIREMENTS).items()
              if vendoring.normalize(name) in REQUIREMENTS]
    for platform in platforms:
        cmd = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--no-deps", "--dest", str(folder),
               "--python-version", PYTHON_VERSION]
        for tag in PLATFORMS[platform]["pip"]:
            cmd += ["--platform", tag]
        subprocess.run(cmd + pinned, check=True)


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


def vendor(folder: Path) -> Path:
    """Write what ``vendor/`` holds into ``folder``: our packages and the pure-Python dependencies."""
    vendoring.copy_packages(folder)
    for name in pure_dependencies():
        vendoring.copy_distribution(name, folder)
    return folder


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
        with tempfile.TemporaryDirectory() as tmp:
            for path in sorted(vendor(Path(tmp)).rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts:
                    z.write(path, ("vendor" / path.relative_to(tmp)).as_posix())
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
