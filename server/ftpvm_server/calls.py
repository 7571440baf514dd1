"""No call can hold the server: a bounded number of request streams, each with idle and total timeouts.

``CallGuard`` is a server interceptor. Calls that stream requests (Matte, SetKeyframe, reflection)
take one of ``stream_slots`` slots or are refused with RESOURCE_EXHAUSTED, so the RPC thread pool
always keeps threads for unary calls and health checks. A watchdog thread closes a stream that waits
more than ``idle_s`` for its client's next message, or that runs longer than ``total_s`` in all, with
DEADLINE_EXCEEDED and a message naming the limit and its flag: each watched stream's messages are
received by a small pump thread, so the thread reading them wakes up when the limit is hit and ends
the call with that status. A call that does not read (busy, or blocked sending to a client that does
not read) is cancelled ``CANCEL_GRACE`` seconds later.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any, Callable, Dict, Iterator, Optional

import grpc

from .limits import WireError

log = logging.getLogger("ftpvm_server.calls")

#: Seconds a stream past its limit gets to end itself with DEADLINE_EXCEEDED before it is cancelled.
CANCEL_GRACE = 5.0
#: How often a thread waiting for the client's next message looks at the watchdog's verdict.
_POLL = 0.1
_END = object()


class StreamExpired(WireError):
    """A watched stream hit its idle or total limit (DEADLINE_EXCEEDED; the message names the flag)."""

    def __init__(self, why: str):
        super().__init__(grpc.StatusCode.DEADLINE_EXCEEDED, f"the server closed this call: {why}")


class _Watched:
    """One request stream under watch: when it started, since when it waits for the client, and the watchdog's
    verdict (``expired``) once a limit is hit."""

    def __init__(self, method: str, context: grpc.ServicerContext):
        self.method, self.context = method, context
        self.started = time.monotonic()
        self.waiting_since: Optional[float] = None
        self.expired: Optional[str] = None
        self.expired_at: Optional[float] = None
        self.done = threading.Event()
        self._inbox: "queue.Queue[Any]" = queue.Queue(maxsize=1)

    def _pump(self, iterator: Iterator[Any]) -> None:
        """Receive the client's messages into the inbox (one ahead) until the stream or the call ends."""
        item: Any = _END
        try:
            for item in iterator:
                if not self._deliver(item):
                    return
            item = _END
        except Exception as exc:  # noqa: BLE001 - the client went away: the reader sees the error
            item = exc
        self._deliver(item)

    def _deliver(self, item: Any) -> bool:
        while not self.done.is_set():
            try:
                self._inbox.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def requests(self, iterator: Iterator[Any]) -> Iterator[Any]:
        """The client's messages; raises ``StreamExpired`` when the watchdog closes the call."""
        threading.Thread(target=self._pump, args=(iterator,), name=f"ftpvm-pump{self.method}", daemon=True).start()
        while True:
            self.waiting_since = time.monotonic()
            try:
                while True:
                    if self.expired is not None:
                        raise StreamExpired(self.expired)
                    try:
                        item = self._inbox.get(timeout=_POLL)
                        break
                    except queue.Empty:
                        continue
            finally:
                self.waiting_since = None
            if item is _END:
                return
            if isinstance(item, Exception):
                raise item
            yield item


class Watchdog:
    """Cancels watched streams that idle or run too long (checked every ``period`` seconds)."""

    def __init__(self, idle_s: float, total_s: float, period: float = 0.5):
        self.idle_s, self.total_s, self.period = idle_s, total_s, period
        self._calls: Dict[int, _Watched] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.cancelled = 0
        self._thread = threading.Thread(target=self._loop, name="ftpvm-call-watchdog", daemon=True)
        self._thread.start()

    def add(self, call: _Watched) -> None:
        with self._lock:
            self._calls[id(call)] = call

    def remove(self, call: _Watched) -> None:
        with self._lock:
            self._calls.pop(id(call), None)

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            now = time.monotonic()
            with self._lock:
                calls = list(self._calls.values())
            for call in calls:
                if call.expired is not None:
                    if call.expired_at is not None and now - call.expired_at > CANCEL_GRACE:
                        log.warning("cancelling %s: it did not end within %g s of %s", call.method, CANCEL_GRACE,
                                    call.expired)
                        self.remove(call)
                        call.context.cancel()
                    continue
                waiting = call.waiting_since
                if waiting is not None and now - waiting > self.idle_s:
                    why = (f"no message from the client for {self.idle_s:g} s (the server's idle limit; "
                           f"--stream-idle-timeout changes it)")
                elif now - call.started > self.total_s:
                    why = (f"the call ran longer than {self.total_s:g} s (the server's limit per call; "
                           f"--stream-max-seconds changes it)")
                else:
                    continue
                log.warning("closing %s: %s", call.method, why)
                self.cancelled += 1
                call.expired_at = now
                call.expired = why

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


class CallGuard(grpc.ServerInterceptor):
    """Bounds concurrent request streams and puts each under the watchdog."""

    def __init__(self, stream_slots: int, watchdog: Watchdog):
        self.stream_slots = stream_slots
        self._slots = threading.BoundedSemaphore(stream_slots)
        self._watchdog = watchdog

    def _enter(self, method: str, context: grpc.ServicerContext) -> _Watched:
        if not self._slots.acquire(blocking=False):
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                          f"the server already serves {self.stream_slots} streaming calls (--workers minus the "
                          f"threads kept for short calls); retry when one has finished")
        call = _Watched(method, context)
        self._watchdog.add(call)
        return call

    def _leave(self, call: _Watched) -> None:
        call.done.set()
        self._watchdog.remove(call)
        self._slots.release()

    def intercept_service(self, continuation: Callable, handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        if handler is None or not handler.request_streaming:
            return handler
        method = handler_call_details.method
        behaviour = handler.stream_stream if handler.response_streaming else handler.stream_unary

        if handler.response_streaming:
            def streams(request_iterator: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
                call = self._enter(method, context)
                try:
                    yield from behaviour(call.requests(request_iterator), context)
                except StreamExpired as exc:  # a handler that let it through (reflection): the status it means
                    context.abort(exc.code, exc.message)
                finally:
                    self._leave(call)

            return grpc.stream_stream_rpc_method_handler(streams, handler.request_deserializer,
                                                         handler.response_serializer)

        def unary(request_iterator: Iterator[Any], context: grpc.ServicerContext) -> Any:
            call = self._enter(method, context)
            try:
                return behaviour(call.requests(request_iterator), context)
            except StreamExpired as exc:
                context.abort(exc.code, exc.message)
            finally:
                self._leave(call)

        return grpc.stream_unary_rpc_method_handler(unary, handler.request_deserializer, handler.response_serializer)
