"""One queue in front of the GPU, shared by every shot and client.

Jobs are grouped by a key (one per matte stream or unary call); the worker takes one job per
key in turn, so a long render cannot starve a short one. The queue is bounded: a full queue
raises ``QueueFull`` (the service answers RESOURCE_EXHAUSTED with a retry hint). A job whose
cancel event is set, or whose deadline passed, before it starts never runs; a running job
gets the cancel event to stop early. Decoding is admitted here too: ``decode_budget`` bounds the
bytes of payloads and pixels every call holds at once. Out-of-memory failures are reported as ``OutOfMemory``
after the ``on_oom`` hook frees what it can, and the worker keeps serving.
"""
from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Iterator, Optional

log = logging.getLogger("ftpvm_server.scheduler")


class QueueFull(Exception):
    """The scheduler's queue is at its bound; try again after ``retry_after`` seconds."""

    def __init__(self, depth: int, retry_after: float, message: Optional[str] = None):
        super().__init__(message or f"the server is busy ({depth} jobs queued); retry in {retry_after:.1f} s")
        self.retry_after = retry_after


class JobCancelled(Exception):
    """The job was cancelled before or while it ran."""


class DeadlineExpired(Exception):
    """The job's deadline passed before it could run."""


class OutOfMemory(Exception):
    """The device ran out of memory running the job (the server recovered)."""


class SchedulerClosed(Exception):
    """The scheduler is shutting down and takes no more work."""


def is_out_of_memory(exc: BaseException) -> bool:
    """True for torch/CUDA out-of-memory errors (checked by name: no torch import here)."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError" or \
        "out of memory" in str(exc).lower()


@dataclass
class _Job:
    fn: Callable[[threading.Event], Any]
    cancel: threading.Event
    deadline: Optional[float]
    future: Future = field(default_factory=Future)
    queued_at: float = field(default_factory=time.monotonic)


class Scheduler:
    """A fair, bounded job queue served by one worker thread (one device, one model)."""

    def __init__(self, max_queue: int = 64, on_oom: Optional[Callable[[], None]] = None,
                 decode_budget_bytes: int = 2 << 30):
        self.max_queue = max_queue
        self.decode_budget = DecodeBudget(decode_budget_bytes)
        self._on_oom = on_oom
        self._queues: "collections.OrderedDict[str, Deque[_Job]]" = collections.OrderedDict()
        self._depth = 0
        self._cond = threading.Condition()
        self._closed = False
        self._running: Optional[_Job] = None
        self._busy_seconds = 0.0
        self._jobs_done = 0
        self._worker = threading.Thread(target=self._serve, name="ftpvm-gpu-worker", daemon=True)
        self._worker.start()

    # -- submitting ----------------------------------------------------------------------
    def submit(self, key: str, fn: Callable[[threading.Event], Any], *, cancel: Optional[threading.Event] = None,
               deadline: Optional[float] = None) -> Future:
        """Queue ``fn(cancel_event)`` under ``key``; returns its Future. QueueFull when full."""
        job = _Job(fn, cancel or threading.Event(), deadline)
        with self._cond:
            if self._closed:
                raise SchedulerClosed("the server is shutting down; retry against the restarted server")
            if self._depth >= self.max_queue:
                raise QueueFull(self._depth, self.retry_after())
            self._queues.setdefault(key, collections.deque()).append(job)
            self._depth += 1
            self._cond.notify()
        return job.future

    def run(self, key: str, fn: Callable[[threading.Event], Any], *, cancel: Optional[threading.Event] = None,
            deadline: Optional[float] = None, is_active: Callable[[], bool] = lambda: True) -> Any:
        """Submit and wait; sets ``cancel`` (stopping the job) when ``is_active()`` turns False."""
        cancel = cancel or threading.Event()
        future = self.submit(key, fn, cancel=cancel, deadline=deadline)
        while True:
            try:
                return future.result(timeout=0.05)
            except TimeoutError:
                if not is_active() or (deadline is not None and time.monotonic() > deadline):
                    cancel.set()

    def retry_after(self) -> float:
        """A retry hint: roughly how long the current queue takes to drain."""
        per_job = self._busy_seconds / self._jobs_done if self._jobs_done else 0.1
        return min(30.0, max(0.2, per_job * max(1, self._depth)))

    @property
    def depth(self) -> int:
        return self._depth

    # -- serving -------------------------------------------------------------------------
    def _next(self) -> Optional[_Job]:
        with self._cond:
            while not self._queues and not self._closed:
                self._cond.wait()
            if not self._queues:
                return None
            key, queue = next(iter(self._queues.items()))
            job = queue.popleft()
            self._depth -= 1
            del self._queues[key]
            if queue:  # round robin: this key goes to the back
                self._queues[key] = queue
            self._running = job
            return job

    def _serve(self) -> None:
        while True:
            job = self._next()
            if job is None:
                return
            try:
                self._execute(job)
            finally:
                with self._cond:
                    self._running = None

    def _execute(self, job: _Job) -> None:
        if job.cancel.is_set():
            job.future.set_exception(JobCancelled("cancelled before it started"))
            return
        if job.deadline is not None and time.monotonic() > job.deadline:
            job.future.set_exception(DeadlineExpired("the deadline passed while the job waited in the queue"))
            return
        if not job.future.set_running_or_notify_cancel():
            return
        started = time.monotonic()
        try:
            result = job.fn(job.cancel)
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the waiting caller
            if is_out_of_memory(exc):
                log.warning("out of memory in a job; freeing memory and carrying on: %s", exc)
                if self._on_oom is not None:
                    try:
                        self._on_oom()
                    except Exception:  # noqa: BLE001
                        log.exception("the out-of-memory hook failed")
                exc = OutOfMemory(f"the device ran out of memory ({exc}); lower the resolution or "
                                  f"downsample_ratio, or retry when other work finished")
            job.future.set_exception(exc)
        else:
            job.future.set_result(result)
        finally:
            self._busy_seconds += time.monotonic() - started
            self._jobs_done += 1

    def close(self, cancel_running: bool = True, timeout: float = 10.0) -> None:
        """Refuse new jobs, cancel queued ones, stop (or let finish) the running one, join."""
        with self._cond:
            self._closed = True
            for queue in self._queues.values():
                for job in queue:
                    job.cancel.set()
                    job.future.set_exception(JobCancelled("the server is shutting down"))
            self._queues.clear()
            self._depth = 0
            if cancel_running and self._running is not None:
                self._running.cancel.set()
            self._cond.notify_all()
        self._worker.join(timeout)


class DecodeBudget:
    """One budget of bytes for payloads and decoded pixels, shared by every call.

    A call reserves what an image will take before buffering or decoding it; the reservation shrinks to the
    decoded pixels and is held until the engine has taken them (a Matte stream's decoded frames waiting for the
    device count here too). When the budget is spent the call waits (up to ``wait_s``), and an image larger than
    the whole budget is refused at once. So any number of concurrent uploads, and the frames they queued, hold at
    most ``total`` bytes of pixels.
    """

    def __init__(self, total: int, wait_s: float = 30.0):
        self.total = int(total)
        self.wait_s = wait_s
        self._used = 0
        #: calls waiting for room right now
        self.waiting = 0
        self._cond = threading.Condition()

    @property
    def used(self) -> int:
        return self._used

    def hold(self, nbytes: int, what: str, cancel: Optional[threading.Event] = None) -> "Reservation":
        """Take ``nbytes`` of the budget until ``Reservation.release`` (waits for room; QueueFull if none comes)."""
        nbytes = max(0, int(nbytes))
        if nbytes > self.total:
            raise QueueFull(0, 0.0, f"{what} needs {nbytes >> 20} MiB to decode, more than this server's decode "
                                    f"budget of {self.total >> 20} MiB; send a smaller image")
        give_up = time.monotonic() + self.wait_s
        with self._cond:
            self.waiting += 1
            try:
                while self._used + nbytes > self.total:
                    left = give_up - time.monotonic()
                    if left <= 0 or (cancel is not None and cancel.is_set()):
                        raise QueueFull(0, 1.0, f"the server is decoding other images ({self._used >> 20} MiB of "
                                                f"{self.total >> 20} MiB in use); retry in a moment")
                    self._cond.wait(min(left, 0.1))
            finally:
                self.waiting -= 1
            self._used += nbytes
        return Reservation(self, nbytes)

    @contextlib.contextmanager
    def reserve(self, nbytes: int, what: str, cancel: Optional[threading.Event] = None) -> Iterator["Reservation"]:
        """Hold ``nbytes`` of the budget for the ``with`` block (``Reservation.shrink`` gives part back early)."""
        held = self.hold(nbytes, what, cancel)
        try:
            yield held
        finally:
            held.release()

    def _release(self, nbytes: int) -> None:
        with self._cond:
            self._used -= nbytes
            self._cond.notify_all()


class Reservation:
    """Bytes held in a ``DecodeBudget``; shrinks once the real size of an image is known."""

    def __init__(self, budget: DecodeBudget, nbytes: int):
        self._budget, self.nbytes = budget, nbytes
        self._lock = threading.Lock()

    def shrink(self, nbytes: int) -> None:
        """Keep only ``nbytes`` (never grows: a reservation is the most an image may take)."""
        with self._lock:
            nbytes = max(0, min(int(nbytes), self.nbytes))
            give, self.nbytes = self.nbytes - nbytes, nbytes
        if give:
            self._budget._release(give)

    def release(self) -> None:
        """Give everything back (again: nothing happens)."""
        self.shrink(0)
