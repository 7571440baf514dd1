"""Where Resolve keeps things, per OS: the scripting API modules, fusionscript, the Scripts folders.

Facts from Resolve's scripting README (the RESOLVE_SCRIPT_API / RESOLVE_SCRIPT_LIB variables and
their default values) and the Fusion Scripts folder layout Resolve lists under Workspace > Scripts.
"""
from __future__ import annotations

import os
import sys
from typing import List, Mapping, Optional

#: Script categories: "Utility" is listed on every page, "Comp" on the Fusion page.
CATEGORIES = ("Utility", "Comp", "Edit", "Color", "Deliver")


def platform_key(platform: Optional[str] = None) -> str:
    """"windows", "macos" or "linux"."""
    p = platform or sys.platform
    return "windows" if p.startswith("win") else "macos" if p == "darwin" else "linux"


def script_api_dir(env: Optional[Mapping[str, str]] = None, platform: Optional[str] = None) -> str:
    """``$RESOLVE_SCRIPT_API``, else the default Developer/Scripting folder."""
    env = os.environ if env is None else env
    if env.get("RESOLVE_SCRIPT_API"):
        return env["RESOLVE_SCRIPT_API"]
    key = platform_key(platform)
    if key == "windows":
        return os.path.join(env.get("PROGRAMDATA", "C:\\ProgramData"), "Blackmagic Design", "DaVinci Resolve",
                            "Support", "Developer", "Scripting")
    if key == "macos":
        return "/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting"
    return "/opt/resolve/Developer/Scripting"


def script_lib(env: Optional[Mapping[str, str]] = None, platform: Optional[str] = None) -> str:
    """``$RESOLVE_SCRIPT_LIB``, else the default fusionscript library path."""
    env = os.environ if env is None else env
    if env.get("RESOLVE_SCRIPT_LIB"):
        return env["RESOLVE_SCRIPT_LIB"]
    key = platform_key(platform)
    if key == "windows":
        return "C:\\Program Files\\Blackmagic Design\\DaVinci Resolve\\fusionscript.dll"
    if key == "macos":
        return "/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Libraries/Fusion/fusionscript.so"
    return "/opt/resolve/libs/Fusion/fusionscript.so"


def scripts_dir(all_users: bool = False, env: Optional[Mapping[str, str]] = None, platform: Optional[str] = None,
                home: Optional[str] = None) -> str:
    """The Fusion ``Scripts`` folder Resolve reads (per user, or for all users)."""
    env = os.environ if env is None else env
    home = home or os.path.expanduser("~")
    key = platform_key(platform)
    if key == "windows":
        base = env.get("PROGRAMDATA", "C:\\ProgramData") if all_users else \
            env.get("APPDATA", os.path.join(home, "AppData", "Roaming"))
        return os.path.join(base, "Blackmagic Design", "DaVinci Resolve", *(() if all_users else ("Support",)),
                            "Fusion", "Scripts")
    if key == "macos":
        base = "/Library" if all_users else os.path.join(home, "Library")
        return os.path.join(base, "Application Support", "Blackmagic Design", "DaVinci Resolve", "Fusion", "Scripts")
    if all_users:
        return "/opt/resolve/Fusion/Scripts"
    return os.path.join(home, ".local", "share", "DaVinciResolve", "Fusion", "Scripts")


def support_dir(env: Optional[Mapping[str, str]] = None, platform: Optional[str] = None,
                home: Optional[str] = None) -> str:
    """Our own folder for the packages the script imports (kept out of the Scripts menu)."""
    env = os.environ if env is None else env
    home = home or os.path.expanduser("~")
    key = platform_key(platform)
    if key == "windows":
        return os.path.join(env.get("APPDATA", os.path.join(home, "AppData", "Roaming")), "ftpvm", "resolve")
    if key == "macos":
        return os.path.join(home, "Library", "Application Support", "ftpvm", "resolve")
    return os.path.join(env.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share"), "ftpvm", "resolve")


def module_search_paths(env: Optional[Mapping[str, str]] = None, platform: Optional[str] = None) -> List[str]:
    """Folders to put on sys.path so ``import DaVinciResolveScript`` works from outside Resolve."""
    return [os.path.join(script_api_dir(env, platform), "Modules")]
