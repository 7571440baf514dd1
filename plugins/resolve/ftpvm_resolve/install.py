"""Install FTPVM Matte into Resolve: the script into a Scripts category, our packages into a support folder.

The Scripts folder only gets ``FTPVM Matte.py`` (Resolve lists every script and sub-folder there as
a menu entry); the ``ftpvm_resolve`` package and vendored copies of ``ftpvm_client`` and ``ftpvm_wire`` go into
our own support folder, whose path is written into the installed script, and the pure-Python part of their
dependency closure (fileseq, typing_extensions, ...; pinned to this Python's versions) into its ``vendor``
folder. The compiled part (numpy, grpcio, protobuf) is built per Python version, so it is installed into
Resolve's own Python with its pip (docs/resolve.md). Nothing but our own files is ever replaced.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from typing import List, Optional, Tuple

from ftpvm_client import vendoring

from . import locations

SCRIPT_NAME = "FTPVM Matte.py"
PACKAGES = ("ftpvm_resolve",) + vendoring.PACKAGES
VENDOR = "vendor"  # the support folder's sub-folder of pure-Python distributions (the launcher appends it)
MARKER = "ftpvm_resolve"  # every script we install mentions it; a file without it is not ours


class InstallError(RuntimeError):
    """Installation cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class InstallPlan:
    """Where everything goes."""

    script: str           # the installed script
    support: str          # folder holding the packages
    sources: dict         # package name -> source folder
    launcher: str         # the launcher template (plugins/resolve/FTPVM Matte.py)
    distributions: Tuple[str, ...] = ()   # pure-Python distributions copied into support/vendor


def source_dirs() -> dict:
    """Package name -> folder to copy, from this checkout / installation."""
    here = os.path.dirname(os.path.abspath(__file__))
    found = {"ftpvm_resolve": here}
    try:
        for name in vendoring.PACKAGES:
            found[name] = str(vendoring.package_dir(name))
    except vendoring.VendoringError as exc:
        raise InstallError(f"Cannot vendor the client: {exc}") from None
    return found


def pure_distributions() -> Tuple[str, ...]:
    """The pure-Python distributions of the client's dependency closure (installed here)."""
    try:
        return tuple(name for name in vendoring.closure() if vendoring.is_pure(name))
    except vendoring.VendoringError as exc:
        raise InstallError(f"Cannot vendor the client's dependencies: {exc}") from None


def launcher_path() -> str:
    """The launcher script shipped beside the package."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), SCRIPT_NAME)
    if not os.path.isfile(path):
        raise InstallError(f"Cannot find {SCRIPT_NAME} beside the ftpvm_resolve package ({path}); install from "
                           f"the ftpvm source tree.")
    return path


def plan_install(category: str = "Utility", all_users: bool = False, scripts_dir: Optional[str] = None,
                 support_dir: Optional[str] = None) -> InstallPlan:
    """The install plan (InstallError for a bad category)."""
    if category not in locations.CATEGORIES:
        raise InstallError(f"Category {category!r} is not one of {', '.join(locations.CATEGORIES)} "
                           f"(Utility: every page; Comp: the Fusion page).")
    scripts = scripts_dir or locations.scripts_dir(all_users)
    return InstallPlan(os.path.join(scripts, category, SCRIPT_NAME), support_dir or locations.support_dir(),
                       source_dirs(), launcher_path(), pure_distributions())


def render_launcher(template: str, support: str) -> str:
    """The launcher text with FTPVM_HOME pointing at ``support``."""
    text, count = re.subn(r'^FTPVM_HOME = .*$', f"FTPVM_HOME = {support!r}  # set by ftpvm resolve install",
                          template, count=1, flags=re.M)
    if count != 1:
        raise InstallError("The launcher has no FTPVM_HOME line; the source tree is damaged.")
    return text


def _is_ours(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return MARKER in f.read()
    except OSError:
        return False


def install(plan: InstallPlan) -> List[str]:
    """Copy the packages and write the script; returns what was written."""
    if os.path.exists(plan.script) and not _is_ours(plan.script):
        raise InstallError(f"{plan.script} exists and is not an FTPVM script; move it away first.")
    written = []
    os.makedirs(plan.support, exist_ok=True)
    for name, source in plan.sources.items():
        target = os.path.join(plan.support, name)
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        written.append(target)
    vendor = os.path.join(plan.support, VENDOR)
    if os.path.exists(vendor):
        shutil.rmtree(vendor)
    for name in plan.distributions:
        vendoring.copy_distribution(name, vendor)
    if plan.distributions:
        written.append(vendor)
    with open(plan.launcher, encoding="utf-8") as f:
        text = render_launcher(f.read(), plan.support)
    os.makedirs(os.path.dirname(plan.script), exist_ok=True)
    tmp = plan.script + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, plan.script)
    written.append(plan.script)
    return written


def uninstall(plan: InstallPlan) -> List[str]:
    """Remove what :func:`install` wrote (only our files); returns what was removed."""
    removed = []
    if os.path.isfile(plan.script) and _is_ours(plan.script):
        os.remove(plan.script)
        removed.append(plan.script)
    for name in PACKAGES + (VENDOR,):
        target = os.path.join(plan.support, name)
        if os.path.isdir(target):
            shutil.rmtree(target)
            removed.append(target)
    return removed
