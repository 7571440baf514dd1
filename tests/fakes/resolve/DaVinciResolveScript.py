"""Fake ``DaVinciResolveScript`` module: ``scriptapp("Resolve")`` returns the running fake, or None.

Only DaVinci Resolve Studio answers scripts run from outside the application: the scripting README introduces "the
Scripting API for DaVinci Resolve Studio", and users of the free Resolve report that external scripts get no Resolve
until they move to Studio (octimot/StoryToolkitAI #37 and #6; ynput/ayon-resolve #58: the free Resolve is scripted
only from its Scripts menu). So a free fake Resolve answers None here; inside Resolve a script gets the ``resolve``
global instead, which the tests pass to ``connect``/``main`` directly.
"""
from __future__ import annotations

from typing import Any, Optional

#: The Resolve the fake "runs" (None: Resolve is not running).
RUNNING: Optional[Any] = None


def scriptapp(name: str) -> Optional[Any]:
    if name != "Resolve" or RUNNING is None or not getattr(RUNNING, "studio", False):
        return None
    return RUNNING
