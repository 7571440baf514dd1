"""Install the FTPVM Nuke plug-in with its client and the client's dependencies for Nuke's own Python.

Runs in the project's Python (``ftpvm nuke install``), not inside Nuke. The plug-in folder gets
``init.py``, ``menu.py``, ``ftpvm_nuke/`` and ``vendor/`` (``ftpvm_client`` and ``ftpvm_wire`` plus the whole
closure of what they need: grpcio, protobuf, numpy, fileseq, typing_extensions, ...; see
``ftpvm_client.vendoring``). Dependencies come from this Python's own site-packages when Nuke's Python has the
same version and platform (no network), else as wheels from the package index built for Nuke's Python
(``pip install --target --python-version --platform --only-binary=:all:``): pure-Python distributions pinned to
this Python's versions; numpy, and for another Python version every compiled one (grpcio, protobuf: their newest
releases may have no wheels for Nuke 14's Python 3.9), at the newest version that Python can get, no older than
the committed stubs accept (``vendoring.stub_requirements``).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from ftpvm_client import vendoring

PLUGIN_FILES = ("init.py", "menu.py", "ftpvm.png")
PLUGIN_PACKAGE = "ftpvm_nuke"
#: Distributions pip may choose for Nuke's Python instead of taking this Python's version.
UNPINNED = ("numpy",)
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


def local_closure(names: Sequence[str] = vendoring.REQUIREMENTS) -> List[str]:
    """The installed distributions ``names`` need, dependencies included (InstallError if one is missing)."""
    try:
        return list(vendoring.closure(names))
    except vendoring.VendoringError as exc:
        raise InstallError(f"{exc} in {sys.executable}, or install without --offline (wheels from the "
                           f"package index)") from None


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
        return cmd + self.distributions

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
            return InstallPlan(Path(target), python, "local", local_closure())
        except InstallError:
            if offline:
                raise
    if offline:
        raise InstallError(f"Nuke's Python is {python.version} on {python.platform} but this one is "
                           f"{current.version} on {current.platform}: its packages cannot be copied. "
                           f"Drop --offline to fetch wheels built for Nuke's Python.")
    platforms = (platform_tag,) if platform_tag else python.pip_platforms()
    try:
        pinned = pip_requirements(python)
    except vendoring.VendoringError as exc:
        raise InstallError(str(exc)) from None
    return InstallPlan(Path(target), python, "pip", pinned, platforms)


def pip_requirements(python: PythonTarget) -> List[str]:
    """What pip installs for ``python``: the closure pinned, except :data:`UNPINNED` and (for another Python
    version) the compiled distributions, which get the stubs' floors so pip chooses wheels that Python has."""
    loose = list(UNPINNED)
    if python.version != PythonTarget.current().version:
        loose += [name for name in vendoring.closure() if not vendoring.is_pure(name)]
    return vendoring.pins(unpinned=loose, floors=vendoring.stub_requirements())


def plugin_source() -> Path:
    """The folder holding init.py, menu.py and ftpvm_nuke/ (this package's parent)."""
    return Path(__file__).resolve().parent.parent


def _copy_tree(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def run_install(plan: InstallPlan, runner=subprocess.run) -> None:
    """Carry out ``plan``: plug-in files, the client and the wire, then the dependencies."""
    plan.target.mkdir(parents=True, exist_ok=True)
    source = plugin_source()
    if source.resolve() != plan.target.resolve():
        for name in PLUGIN_FILES:
            shutil.copy2(source / name, plan.target / name)
        _copy_tree(source / PLUGIN_PACKAGE, plan.target / PLUGIN_PACKAGE)
    plan.vendor.mkdir(exist_ok=True)
    try:
        vendoring.copy_packages(plan.vendor)
    except vendoring.VendoringError as exc:
        raise InstallError(str(exc)) from None
    if plan.mode == "local":
        for name in plan.distributions:
            vendoring.copy_distribution(name, plan.vendor)
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
