"""Install the FTPVM Nuke plug-in with its client and the client's dependencies for Nuke's own Python.

Runs in the project's Python (``ftpvm nuke install``), not inside Nuke. The plug-in folder gets
``init.py``, ``menu.py``, ``ftpvm_nuke/`` and ``vendor/`` (``ftpvm_client`` plus grpcio, protobuf,
numpy and what they need). Dependencies come from this Python's own site-packages when Nuke's Python
has the same version and platform (no network), else as wheels from the package index built for
Nuke's Python (``pip install --target --python-version --platform --only-binary=:all:``).
"""
from __future__ import annotations

import importlib
import importlib.metadata as metadata
import json
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

#: What the client needs inside Nuke (the client's own dependencies).
CLIENT_REQUIREMENTS = ("grpcio", "protobuf", "numpy")
PLUGIN_FILES = ("init.py", "menu.py")
PLUGIN_PACKAGE = "ftpvm_nuke"
#: Packages of this project copied into vendor/: the client and the wire leaf it reads the settings schema with.
VENDORED_PACKAGES = ("ftpvm_client", "ftpvm_wire")
INIT_LINE = "nuke.pluginAddPath({path!r})  # FTPVM"

#: sysconfig platform -> pip platform tags a wheel for that Nuke may carry (newest first).
PLATFORM_TAGS = {
    "linux-x86_64": ("manylinux_2_28_x86_64", "manylinux2014_x86_64", "manylinux_2_17_x86_64"),
    "linux-aarch64": ("manylinux_2_28_aarch64", "manylinux2014_aarch64"),
    "win-amd64": ("win_amd64",),
    "macosx-arm64": ("macosx_11_0_arm64",),
    "macosx-x86_64": ("macosx_10_15_x86_64", "macosx_10_9_x86_64"),
}


class InstallError(RuntimeError):
    """An install that cannot proceed; the message says what to do."""


@dataclass(frozen=True)
class PythonTarget:
    """The Python that will import the packages: version ``3.10`` and sysconfig platform."""

    version: str
    platform: str

    @classmethod
    def current(cls) -> "PythonTarget":
        return cls(f"{sys.version_info[0]}.{sys.version_info[1]}", _platform_key(sysconfig.get_platform()))

    def pip_platforms(self) -> Tuple[str, ...]:
        try:
            return PLATFORM_TAGS[self.platform]
        except KeyError:
            raise InstallError(f"no wheel platform known for {self.platform!r}; "
                               f"install with --platform TAG (a pip platform tag)") from None


def _platform_key(platform: str) -> str:
    if platform.startswith("macosx"):
        return "macosx-arm64" if platform.endswith("arm64") else "macosx-x86_64"
    return platform


PROBE = "import sys, sysconfig, json; print(json.dumps([sys.version_info[0], sys.version_info[1], sysconfig.get_platform()]))"


def probe_python(executable: str) -> PythonTarget:
    """Version and platform of another Python (Nuke's ``python``), by running it once."""
    try:
        out = subprocess.run([executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise InstallError(f"cannot run {executable} ({exc}); give Nuke's Python, e.g. "
                           f"/usr/local/Nuke15.1v1/python3 or 'C:\\Program Files\\Nuke15.1v1\\python.exe'") from None
    major, minor, platform = json.loads(out.strip().splitlines()[-1])
    return PythonTarget(f"{major}.{minor}", _platform_key(platform))


def _requirement_name(spec: str) -> Optional[str]:
    """The distribution a ``Requires-Dist`` line names; None for extras-only requirements."""
    if ";" in spec and "extra" in spec.split(";", 1)[1]:
        return None
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    return m.group(1) if m else None


def local_closure(names: Sequence[str]) -> List[str]:
    """The installed distributions ``names`` need, dependencies included (InstallError if one is missing)."""
    seen: Dict[str, str] = {}
    todo = list(names)
    while todo:
        name = todo.pop(0)
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise InstallError(f"{name} is not installed in {sys.executable}; install without --offline "
                               f"(wheels from the package index) or pip install {name} first") from None
        seen[key] = dist.metadata["Name"]
        todo.extend(n for n in (_requirement_name(r) for r in (dist.requires or [])) if n)
    return list(seen.values())


@dataclass
class InstallPlan:
    """What an install does: where, for which Python, and how the dependencies arrive."""

    target: Path
    python: PythonTarget
    mode: str                      # "local" (copy this Python's packages) | "pip" (wheels for the target)
    distributions: List[str] = field(default_factory=list)
    platforms: Tuple[str, ...] = ()

    @property
    def vendor(self) -> Path:
        return self.target / "vendor"

    def pip_command(self) -> List[str]:
        cmd = [sys.executable, "-m", "pip", "install", "--target", str(self.vendor), "--upgrade",
               "--only-binary=:all:", "--python-version", self.python.version, "--implementation", "cp"]
        for tag in self.platforms:
            cmd += ["--platform", tag]
        return cmd + list(CLIENT_REQUIREMENTS)

    def describe(self) -> str:
        how = ("copy from this Python: " + ", ".join(self.distributions) if self.mode == "local"
               else "pip wheels for Python " + self.python.version + " (" + ", ".join(self.platforms) + ")")
        return f"install FTPVM for Nuke into {self.target}\n  Python {self.python.version} {self.python.platform}; {how}"


def plan_install(target: Path, python: Optional[PythonTarget] = None, offline: bool = False,
                 platform_tag: Optional[str] = None) -> InstallPlan:
    """Decide how to install: copy local packages when the target Python matches this one, else pip wheels."""
    current = PythonTarget.current()
    python = python or current
    if python == current and platform_tag is None:
        try:
            return InstallPlan(Path(target), python, "local", local_closure(CLIENT_REQUIREMENTS))
        except InstallError:
            if offline:
                raise
    if offline:
        raise InstallError(f"Nuke's Python is {python.version} on {python.platform} but this one is "
                           f"{current.version} on {current.platform}: its packages cannot be copied. "
                           f"Drop --offline to fetch wheels built for Nuke's Python.")
    platforms = (platform_tag,) if platform_tag else python.pip_platforms()
    return InstallPlan(Path(target), python, "pip", list(CLIENT_REQUIREMENTS), platforms)


def _copy_distribution(name: str, vendor: Path) -> int:
    dist = metadata.distribution(name)
    count = 0
    for entry in dist.files or []:
        parts = Path(str(entry)).parts
        if not parts or parts[0] == ".." or parts[0].endswith(".data") or "__pycache__" in parts:
            continue   # scripts and caches outside site-packages are not needed inside Nuke
        src = Path(dist.locate_file(entry))
        if src.is_file():
            dst = vendor / Path(*parts)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
            count += 1
    return count


def plugin_source() -> Path:
    """The folder holding init.py, menu.py and ftpvm_nuke/ (this package's parent)."""
    return Path(__file__).resolve().parent.parent


def package_source(name: str) -> Path:
    """A package folder to vendor (importable here, or beside the plug-in or under wire/ in a checkout)."""
    try:
        return Path(importlib.import_module(name).__file__).resolve().parent
    except ImportError:
        for candidate in (plugin_source().parent / name, plugin_source().parent.parent / "wire" / name):
            if (candidate / "__init__.py").is_file():
                return candidate
        raise InstallError(f"{name} is not importable; run from the project's environment") from None


def _copy_tree(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def run_install(plan: InstallPlan, runner=subprocess.run) -> None:
    """Carry out ``plan``: plug-in files, the client, then the dependencies."""
    plan.target.mkdir(parents=True, exist_ok=True)
    source = plugin_source()
    if source.resolve() != plan.target.resolve():
        for name in PLUGIN_FILES:
            shutil.copy2(source / name, plan.target / name)
        _copy_tree(source / PLUGIN_PACKAGE, plan.target / PLUGIN_PACKAGE)
    plan.vendor.mkdir(exist_ok=True)
    for name in VENDORED_PACKAGES:
        _copy_tree(package_source(name), plan.vendor / name)
    if plan.mode == "local":
        for name in plan.distributions:
            _copy_distribution(name, plan.vendor)
    else:
        result = runner(plan.pip_command())
        if getattr(result, "returncode", 0) != 0:
            raise InstallError("pip could not fetch wheels for Nuke's Python (see its output above); check the "
                               "network, or run the install on a machine that reaches the package index")


def register_text(init_text: str, plugin_dir: str) -> str:
    """``~/.nuke/init.py`` text with one pluginAddPath line for ``plugin_dir`` (idempotent)."""
    line = INIT_LINE.format(path=str(plugin_dir))
    if line in init_text:
        return init_text
    lines = init_text.rstrip("\n").splitlines() if init_text.strip() else []
    if not any(re.match(r"\s*import\s+nuke\b", ln) for ln in lines):
        lines.insert(0, "import nuke")
    return "\n".join(lines + [line]) + "\n"


def default_target() -> Path:
    return Path.home() / ".nuke" / "ftpvm"
