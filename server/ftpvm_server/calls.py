"""No call can hold the server: a bounded number of request streams, each with idle and total timeouts.

``CallGuard`` is a server interceptor. Calls that stream requests (Matte, SetKeyframe, reflection,
Health.Watch) take one of ``stream_slots`` slots or are refused with RESOURCE_EXHAUSTED, so the RPC
thread pool always keeps threads for unary calls and health checks. A watchdog thread cancels a
stream that waits more than ``idle_s`` for its client's next message, or that runs longer than
``total_s`` in all; the cancel unblocks the handler's thread at once.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Dict, Iterator, Optional

import grpc

log = logging.getLogger("ftpvm_server.calls")


class _Watched:
    """One request stream under watch: when it started, and since when it waits for the client."""

    def __init__(self, method: str, context: grpc.ServicerContext):
        self.method, self.context = method, context
        self.started = time.monotonic()
        self.waiting_since: Optional[float] = None

    def requests(self, iterator: Iterator[Any]) -> Iterator[Any]:
        while True:
            self.waiting_since = time.monotonic()
            try:
                item = next(iterator)
            except StopIteration:
                return
            finally:
                self.waiting_since = None
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
                waiting = call.waiting_since
                if waiting is not None and now - waiting > self.idle_s:
                    why = f"no message from the client for {self.idle_s:g} s (--stream-idle-timeout)"
                elif now - call.started > self.total_s:
                    why = f"the call ran longer than {self.total_s:g} s (--stream-max-seconds)"
                else:
                    continue
                log.warning("closing %s: %s", call.method, why)
                self.remove(call)
                self.cancelled += 1
                call.context.cancel()

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
                finally:
                    self._leave(call)

            return grpc.stream_stream_rpc_method_handler(streams, handler.request_deserializer,
                                                         handler.response_serializer)

        def unary(request_iterator: Iterator[Any], context: grpc.ServicerContext) -> Any:
            call = self._enter(method, context)
            try:
                return behaviour(call.requests(request_iterator), context)
            finally:
                self._leave(call)

        return grpc.stream_unary_rpc_method_handler(unary, handler.request_deserializer, handler.response_serializer)
