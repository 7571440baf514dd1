"""Retrying transient failures: UNAVAILABLE (server restarting) and busy RESOURCE_EXHAUSTED.

Bounded in attempts and in total time; the wait doubles from ``initial`` up to ``maximum``,
or follows the server's retry hint when it sends one.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, TypeVar

import grpc

from .errors import FTPVMError, ResourceExhausted, Unavailable, from_rpc_error

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a transient failure."""

    attempts: int = 6
    initial: float = 0.1
    maximum: float = 2.0
    total: float = 30.0

    def delays(self):
        """Successive waits (seconds) between attempts."""
        delay = self.initial
        for _ in range(max(0, self.attempts - 1)):
            yield delay
            delay = min(self.maximum, delay * 2)


NO_RETRY = RetryPolicy(attempts=1)


def is_transient(error: FTPVMError) -> bool:
    """True for failures worth retrying unchanged: server unreachable, or busy with a hint."""
    if isinstance(error, Unavailable):
        return True
    return isinstance(error, ResourceExhausted) and error.retry_after is not None


def call_with_retry(fn: Callable[[], T], policy: RetryPolicy) -> T:
    """Call ``fn``; translate gRPC errors to FTPVMError; retry transient ones per ``policy``."""
    started = time.monotonic()
    delays = policy.delays()
    while True:
        try:
            return fn()
        except grpc.RpcError as exc:
            error = from_rpc_error(exc)
        if not is_transient(error):
            raise error
        delay = next(delays, None)
        if delay is None or time.monotonic() - started + delay > policy.total:
            raise error
        hint = getattr(error, "retry_after", None)
        time.sleep(max(delay, hint or 0.0))
