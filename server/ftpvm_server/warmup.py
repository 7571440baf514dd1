"""Warm the model up at start so the first artist request does not pay for it."""
from __future__ import annotations

import logging
import time
from typing import Any

from .scheduler import Scheduler

log = logging.getLogger("ftpvm_server.warmup")

#: The plate size warmed up: the engine's step for it (working size, backend, precision, ONNX export) is ready.
WARMUP_SIZE = (1920, 1080)


def warm_up(engine: Any, scheduler: Scheduler, precision: str = "auto") -> None:
    """Run the engine's warm-up (:meth:`Engine.warmup`) through the device queue; a failure is logged, not fatal
    (the first request then meets the same problem and reports it)."""
    width, height = WARMUP_SIZE
    began = time.monotonic()
    try:
        scheduler.run("warmup", lambda cancel: engine.warmup(width, height, precision=precision))
    except Exception as exc:  # noqa: BLE001 - the server still serves; the error shows on the first request
        log.warning("warm-up failed (%s: %s); serving without it", type(exc).__name__, exc)
        return
    log.info("warm-up done size=%dx%d precision=%s seconds=%.2f", width, height, precision,
             time.monotonic() - began)
