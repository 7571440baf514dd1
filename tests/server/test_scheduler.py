"""The one device queue: fair, bounded, cancellable, deadline-aware, survives out-of-memory."""
from __future__ import annotations

import threading
import time

import pytest

from ftpvm_server.scheduler import (DeadlineExpired, JobCancelled, OutOfMemory, QueueFull, Scheduler,
                                    SchedulerClosed)


def _blocker(s: Scheduler):
    """Occupy the worker until the returned event is set."""
    release, started = threading.Event(), threading.Event()

    def job(cancel):
        started.set()
        release.wait(10)

    future = s.submit("blocker", job)
    assert started.wait(5)
    return release, future


def test_round_robin_between_keys():
    s = Scheduler(max_queue=32)
    release, _ = _blocker(s)
    order = []
    futures = [s.submit(key, lambda c, k=key, i=i: order.append((k, i))) for key in ("a", "b") for i in range(3)]
    futures.append(s.submit("c", lambda c: order.append(("c", 0))))
    release.set()
    for f in futures:
        f.result(5)
    assert order == [("a", 0), ("b", 0), ("c", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]
    s.close()


def test_bounded_queue_raises_queue_full_with_a_retry_hint():
    s = Scheduler(max_queue=2)
    release, _ = _blocker(s)
    s.submit("a", lambda c: None)
    s.submit("b", lambda c: None)
    with pytest.raises(QueueFull) as info:
        s.submit("c", lambda c: None)
    assert info.value.retry_after > 0 and "busy" in str(info.value)
    release.set()
    s.close(cancel_running=False)


def test_cancelled_and_expired_jobs_never_run_and_running_jobs_see_cancel():
    s = Scheduler()
    release, _ = _blocker(s)
    ran = []
    cancel = threading.Event()
    cancelled = s.submit("a", lambda c: ran.append("cancelled"), cancel=cancel)
    expired = s.submit("b", lambda c: ran.append("expired"), deadline=time.monotonic() + 0.01)
    cancel.set()
    time.sleep(0.05)
    release.set()
    with pytest.raises(JobCancelled):
        cancelled.result(5)
    with pytest.raises(DeadlineExpired):
        expired.result(5)
    assert ran == []

    stop = threading.Event()
    seen = threading.Event()

    def long_job(c):
        while not c.wait(0.01):
            pass
        seen.set()
        return "stopped early"

    future = s.submit("c", long_job, cancel=stop)
    time.sleep(0.05)
    stop.set()
    assert future.result(5) == "stopped early" and seen.is_set()
    s.close()


def test_out_of_memory_is_reported_and_the_worker_keeps_serving():
    freed = []

    class OutOfMemoryError(RuntimeError):
        pass

    def oom(cancel):
        raise OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    s = Scheduler(on_oom=lambda: freed.append(True))
    with pytest.raises(OutOfMemory, match="ran out of memory"):
        s.submit("a", oom).result(5)
    assert freed == [True]
    assert s.submit("a", lambda c: 42).result(5) == 42
    s.close()


def test_close_cancels_queued_work_and_refuses_new():
    s = Scheduler()
    release, running = _blocker(s)
    queued = s.submit("a", lambda c: "never")
    s.close(cancel_running=False, timeout=0.1)
    with pytest.raises(JobCancelled):
        queued.result(5)
    with pytest.raises(SchedulerClosed):
        s.submit("a", lambda c: None)
    release.set()
    running.result(5)
