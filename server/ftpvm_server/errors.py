"""Exceptions -> gRPC status: one table for every RPC, so each failure gets the right code."""
from __future__ import annotations

import logging
from typing import Optional, Tuple

import grpc

from ftpvm_wire.protocol import RETRY_AFTER_KEY

from .limits import WireError
from .scheduler import DeadlineExpired, JobCancelled, OutOfMemory, QueueFull, SchedulerClosed

log = logging.getLogger("ftpvm_server.errors")


def _engine_codes() -> Tuple[Tuple[type, grpc.StatusCode], ...]:
    from ftpvm_core import errors as e

    return (
        (e.InvalidInput, grpc.StatusCode.INVALID_ARGUMENT),
        (e.ShotNotFound, grpc.StatusCode.NOT_FOUND),
        (e.NoKeyframe, grpc.StatusCode.FAILED_PRECONDITION),
        (e.StateLost, grpc.StatusCode.FAILED_PRECONDITION),
        (e.ShotDamaged, grpc.StatusCode.DATA_LOSS),
        (e.IndexDamaged, grpc.StatusCode.DATA_LOSS),
        (e.ShotConflict, grpc.StatusCode.ALREADY_EXISTS),
        (e.Cancelled, grpc.StatusCode.CANCELLED),
        (e.StateError, grpc.StatusCode.INTERNAL),
    )


_SCHEDULER_CODES = (
    (QueueFull, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (OutOfMemory, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (JobCancelled, grpc.StatusCode.CANCELLED),
    (DeadlineExpired, grpc.StatusCode.DEADLINE_EXCEEDED),
    (SchedulerClosed, grpc.StatusCode.UNAVAILABLE),
)


def status_of(exc: BaseException) -> Tuple[grpc.StatusCode, str, Optional[float]]:
    """(code, message, retry-after seconds or None) for any exception raised while serving."""
    if isinstance(exc, WireError):
        return exc.code, exc.message, None
    for cls, code in _SCHEDULER_CODES + _engine_codes():
        if isinstance(exc, cls):
            return code, str(exc), getattr(exc, "retry_after", None)
    log.error("internal error", exc_info=exc)
    return grpc.StatusCode.INTERNAL, f"internal server error ({type(exc).__name__}: {exc}); see the server log", None


def abort(context: grpc.ServicerContext, exc: BaseException) -> None:
    """End the call with the status of ``exc`` (adds the retry hint as trailing metadata)."""
    code, message, retry_after = status_of(exc)
    if retry_after is not None:
        context.set_trailing_metadata(((RETRY_AFTER_KEY, str(int(retry_after * 1000))),))
    context.abort(code, message)
