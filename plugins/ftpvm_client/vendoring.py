"""What a host application must carry to import this client, for the plug-in installers and build scripts.

A host gets our two packages (``ftpvm_client`` and the ``ftpvm_wire`` it imports) and the whole closure of the
distributions they need (grpcio, protobuf, numpy, fileseq and what those need, e.g. grpcio's typing_extensions),
pinned to the versions installed in the Python that runs the installer: the versions the project was tested with.
Read from installed metadata at install or build time, never when a plug-in runs.
"""
from __future__ import annotations

import importlib
import importlib.metadata as metadata
import re
import shutil
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

#: Our packages a host imports, in import order.
PACKAGES: Tuple[str, ...] = ("ftpvm_client", "ftpvm_wire")
#: The distributions those packages import directly.
REQUIREMENTS: Tuple[str, ...] = ("grpcio", "protobuf", "numpy", "fileseq")


class VendoringError(RuntimeError):
    """A dependency cannot be found in this Python; the message says what to install."""


def normalize(name: str) -> str:
    """A distribution name as pip compares them: ``typing_extensions`` -> ``typing-extensions``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def version_key(version: str) -> Tuple[int, ...]:
    """A version as numbers to compare (``1.85.10`` > ``1.85.9``, unlike the strings); pre-release tags sort low."""
    release = re.match(r"\d+(?:\.\d+)*", version.strip())
    numbers = tuple(int(n) for n in release.group(0).split(".")) if release else ()
    pre = 0 if release and release.end() == len(version.strip()) else -1
    return numbers + (pre,)


def _required_names(dist: metadata.Distribution) -> List[str]:
    names = []
    for spec in dist.requires or []:
        if ";" in spec and "extra" in spec.split(";", 1)[1]:
            continue  # only an optional extra needs it
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
        if m:
            names.append(m.group(1))
    return names


def closure(names: Iterable[str] = REQUIREMENTS) -> Dict[str, str]:
    """Installed distribution name -> version for ``names`` and everything they require (extras aside)."""
    found: Dict[str, str] = {}
    seen = set()
    todo = list(names)
    while todo:
        name = todo.pop(0)
        if normalize(name) in seen:
            continue
        seen.add(normalize(name))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise VendoringError(f"{name} is not installed in this Python; pip install {name} first") from None
        found[dist.metadata["Name"]] = dist.version
        todo.extend(_required_names(dist))
    return found


def stub_requirements() -> Dict[str, str]:
    """The oldest grpcio and protobuf the committed stubs accept, read from the stubs themselves.

    ``_pb2_grpc.py`` refuses a grpcio older than its ``GRPC_GENERATED_VERSION``; ``_pb2.py`` refuses a protobuf
    runtime older than the gencode version it passes to ``ValidateProtobufRuntimeVersion``.
    """
    stubs = Path(package_dir("ftpvm_wire"), "_proto", "ftpvm", "v1")
    grpc_text = (stubs / "matting_pb2_grpc.py").read_text()
    pb_text = (stubs / "matting_pb2.py").read_text()
    grpc_version = re.search(r"GRPC_GENERATED_VERSION = '([^']+)'", grpc_text)
    gencode = re.search(r"ValidateProtobufRuntimeVersion\(\s*\S+,\s*(\d+),\s*(\d+),\s*(\d+),", pb_text)
    if not grpc_version or not gencode:
        raise VendoringError(f"cannot read the generator versions from {stubs}; regenerate: python tools/gen_proto.py")
    return {"grpcio": grpc_version.group(1), "protobuf": ".".join(gencode.groups())}


def pins(names: Iterable[str] = REQUIREMENTS, unpinned: Iterable[str] = (),
         floors: Optional[Mapping[str, str]] = None) -> List[str]:
    """``name==version`` for the closure of ``names``, normalised, sorted; ``unpinned`` ones bare, or
    ``name>=floor`` where ``floors`` has one (pip then picks the newest the target Python can get)."""
    loose = {normalize(n) for n in unpinned}
    low = {normalize(n): v for n, v in (floors or {}).items()}
    out = []
    for name, version in closure(names).items():
        key = normalize(name)
        if key not in loose:
            out.append(f"{key}=={version}")
        else:
            out.append(f"{key}>={low[key]}" if key in low else key)
    return sorted(out)


def is_pure(name: str) -> bool:
    """Whether an installed distribution is pure Python (fits every platform and Python version)."""
    wheel = metadata.distribution(name).read_text("WHEEL") or ""
    return "Root-Is-Purelib: true" in wheel


def copy_distribution(name: str, dest: Path) -> int:
    """Copy an installed distribution's importable files (and its metadata) into ``dest``; how many files."""
    dist = metadata.distribution(name)
    count = 0
    for entry in dist.files or []:
        parts = Path(str(entry)).parts
        if not parts or parts[0] == ".." or parts[0].endswith(".data") or "__pycache__" in parts:
            continue  # scripts and caches outside site-packages are not needed inside a host
        src = Path(str(dist.locate_file(entry)))
        if src.is_file():
            target = Path(dest, *parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
            count += 1
    return count


def package_dir(name: str) -> Path:
    """The folder of one of our :data:`PACKAGES`, as this Python imports it."""
    try:
        module = importlib.import_module(name)
    except ImportError:
        raise VendoringError(f"{name} is not importable; run from the project's environment "
                             f"(bash scripts/setup.sh)") from None
    return Path(str(module.__file__)).resolve().parent


def copy_packages(dest: Path) -> List[Path]:
    """Copy our :data:`PACKAGES` into ``dest`` (replacing older copies); the folders written."""
    written = []
    for name in PACKAGES:
        target = Path(dest, name)
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(package_dir(name), target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        written.append(target)
    return written
