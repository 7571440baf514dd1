"""Warm the model up at start so the first artist request does not pay for it."""
from __future__ import annotations

import logging
import time
from typing import Any

from .scheduler import Scheduler

log = logging.getLogger("ftpvm_server.warmup")


def warm_up(engine: Any, scheduler: Scheduler) -> None:
    """Run the engine's warm-up through the device queue (skipped if the engine has none)."""
    warm = getattr(engine, "warmup", None)
    if warm is None:
        log.info("warm-up skipped: the engine has no warmup()")
        return
    began = time.monotonic()
    scheduler.run("warmup", lambda cancel: warm())
    log.info("warm-up done seconds=%.2f", time.monotonic() - began)
