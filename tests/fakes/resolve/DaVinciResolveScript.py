"""Fake ``DaVinciResolveScript`` module: ``scriptapp("Resolve")`` returns the running fake, or None."""
from __future__ import annotations

from typing import Any, Optional

#: The Resolve the fake "runs" (None: Resolve is not running).
RUNNING: Optional[Any] = None


def scriptapp(name: str) -> Optional[Any]:
    return RUNNING if name == "Resolve" else None
