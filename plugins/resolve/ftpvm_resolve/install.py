"""Install FTPVM Matte into Resolve: the script into a Scripts category, our packages into a support folder.

The Scripts folder only gets ``FTPVM Matte.py`` (Resolve lists every script and sub-folder there as
a menu entry); the ``ftpvm_resolve`` package and vendored copies of ``ftpvm_client`` and ``ftpvm_wire`` go into our
own support folder, whose path is written into the installed script. Nothing but our own files is
ever replaced.
"""
from __future__ import annotations

import importlib
import os
import re
import shutil
from dataclasses import dataclass
from typing import List, Optional

from . import locations

SCRIPT_NAME = "FTPVM Matte.py"
PACKAGES = ("ftpvm_resolve", "ftpvm_client", "ftpvm_wire")
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


def source_dirs() -> dict:
    """Package name -> folder to copy, from this checkout / installation."""
    here = os.path.dirname(os.path.abspath(__file__))
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    found = {"ftpvm_resolve": here}
    for name, candidate in (("ftpvm_client", os.path.join(os.path.dirname(os.path.dirname(here)), "ftpvm_client")),
                            ("ftpvm_wire", os.path.join(checkout, "wire", "ftpvm_wire"))):
        try:
            found[name] = os.path.dirname(os.path.abspath(importlib.import_module(name).__file__))
        except ImportError:
            if not os.path.isdir(candidate):
                raise InstallError(f"Cannot find the {name} package to vendor; install ftpvm or run from a "
                                   f"checkout.") from None
            found[name] = candidate
    return found


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
                       source_dirs(), launcher_path())


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
    for name in PACKAGES:
        target = os.path.join(plan.support, name)
        if os.path.isdir(target):
            shutil.rmtree(target)
            removed.append(target)
    return removed
