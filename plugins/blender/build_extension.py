"""Build the Blender extension zip: the add-on and the client's whole dependency closure as wheels.

    .venv/bin/python plugins/blender/build_extension.py                # pip-downloads grpcio + protobuf wheels
    .venv/bin/python plugins/blender/build_extension.py --wheels DIR    # wheels already downloaded into DIR
    .venv/bin/python plugins/blender/build_extension.py --no-wheels     # for a Blender that already has grpcio

Run it with the project's Python: the closure is read from its installed packages (``ftpvm_client.vendoring``).
Blender installs an extension's ``wheels = [...]`` into its own site-packages, so the add-on never touches
``sys.path`` (Blender manual, Extensions > Python Wheels). ``ftpvm_client``, ``ftpvm_wire`` and the pure-Python rest
of the closure (fileseq, typing_extensions, ...) become ``py3-none-any`` wheels written here from this Python's
installed files; the compiled ``grpcio`` and ``protobuf`` come as wheels per platform (cp311 or abi3 for Blender
4.2 .. 5.0's Python 3.11), downloaded pinned to this Python's versions, or the newest by version number in
``--wheels DIR``. Blender's own numpy is used, so no numpy is bundled. The manifest in the zip gets ``wheels`` and
``platforms``. Downloads happen here, at build time, never when the add-on runs.
"""
from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import os
import re
import shutil
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
#: Blender 4.2 .. 5.0 ship Python 3.11; 5.1 moves on (3.13), where the cp311 grpcio wheels do not load. The manifest's
#: ``blender_version_max`` (exclusive) says so; a test keeps the two in step.
BLENDER_VERSION_MAX = "5.1.0"

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
    compiled = any(not w.endswith("-none-any.whl") for w in wheels)
    extra = (("platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]\n" if compiled else "")
             + "wheels = [\n" + "".join(f'  "./wheels/{w}",\n' for w in wheels) + "]\n")
    head, sep, tables = text.partition("\n[")  # top-level keys go before the first [table]
    return head.rstrip() + "\n" + extra + ("\n[" + tables if sep else "")


def manifest_version() -> str:
    """The add-on's ``version`` from the source manifest (our packages' wheels get it too)."""
    found = re.search(r'^version\s*=\s*"([^"]+)"', (ADDON / "blender_manifest.toml").read_text(), re.M)
    if not found:
        raise SystemExit("blender_manifest.toml has no version = \"X.Y.Z\" line")
    return found.group(1)


def _sources(root: Path):
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".pyi", ".toml", ".json"):
            yield path


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def write_pure_wheel(name: str, version: str, tree: Path, folder: Path) -> Path:
    """A ``py3-none-any`` wheel in ``folder`` holding the files under ``tree`` (its importable modules)."""
    stem = f"{vendoring.normalize(name).replace('-', '_')}-{version}"
    info = f"{stem}.dist-info"
    files = [(p.relative_to(tree).as_posix(), p.read_bytes()) for p in sorted(tree.rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts and not p.parts[len(tree.parts)].endswith(".dist-info")]
    files.append((f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()))
    files.append((f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: ftpvm build_extension\n"
                                   b"Root-Is-Purelib: true\nTag: py3-none-any\n"))
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in files) + f"{info}/RECORD,,\n"
    out = folder / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files:
            z.writestr(path, data)
        z.writestr(f"{info}/RECORD", record)
    return out


def pure_wheels(folder: Path, version: str) -> List[Path]:
    """Write our packages (at ``version``) and the pure-Python dependencies as wheels into ``folder``."""
    made = []
    with tempfile.TemporaryDirectory() as tmp:
        for package in vendoring.PACKAGES:
            tree = Path(tmp, package)
            vendoring.copy_packages(tree)
            for other in vendoring.PACKAGES:
                if other != package:
                    shutil.rmtree(tree / other)
            made.append(write_pure_wheel(package, version, tree, folder))
        for name, dist_version in pure_dependencies().items():
            tree = Path(tmp, "dist-" + vendoring.normalize(name))
            vendoring.copy_distribution(name, tree)
            made.append(write_pure_wheel(name, dist_version, tree, folder))
    return made


def build(out: Path, wheel_dir: Path | None, platforms: Sequence[str]) -> Path:
    """Write the extension zip to ``out`` and return its path."""
    chosen: List[str] = []
    if wheel_dir is not None:
        per = wheels_for(wheel_dir, platforms)
        chosen = sorted({w for ws in per.values() for w in ws})
    version = manifest_version()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        pure = pure_wheels(Path(tmp), version)
        for path in _sources(ADDON):
            if path.name == "blender_manifest.toml":
                continue
            z.write(path, path.relative_to(ADDON).as_posix())
        z.writestr("blender_manifest.toml", manifest_text([p.name for p in pure] + chosen, platforms))
        for wheel in pure:
            z.write(wheel, f"wheels/{wheel.name}")
        for name in chosen:
            z.write(wheel_dir / name, f"wheels/{name}")  # type: ignore[operator]
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
