"""One Matte call on the server: a reader thread decodes frames ahead, the call's thread queues
each frame on the device scheduler and answers them in order, each with its own status.

A frame that cannot be read or matted gets its status in its ``FrameResult``; the stream goes
on. Cancelling the call (or a ``cancel`` message) stops the reader and the queued work.
"""
from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Deque, Dict, Iterator, List, Optional, Protocol, Tuple

import grpc
import numpy as np

from ftpvm_wire.planes import split, to_planes
from ftpvm_wire.protocol import PASS_NAMES, PASSES, pb

from .counters import Counters
from .errors import abort, status_of
from .limits import Limits, WireError, invalid
from .paths import PathGuard, expand_template
from .payloads import ChunkReader, Peekable, receive_held, sanitize
from .scheduler import QueueFull, Reservation, Scheduler
from .shm import ShmHost, ShmSession

log = logging.getLogger("ftpvm_server.stream")

#: Frames of one stream queued on the scheduler at once (the next one waits behind the current).
STREAM_DEPTH = 2


@dataclass
class _Decoded:
    """A frame read from the stream: its plate, or the reason it cannot be matted."""

    frame: int
    image: Optional[np.ndarray] = None
    nonfinite: int = 0
    error: Optional[BaseException] = None
    result_shm: Optional[pb.ShmRegion] = None
    input_hash: str = ""
    #: the decoded pixels' share of the decode budget, held until the engine has taken them
    held: Optional[Reservation] = None

    def release(self) -> None:
        if self.held is not None:
            self.held.release()


_END = object()


def deadline_of(context: grpc.ServicerContext) -> Optional[float]:
    """The call's deadline on the monotonic clock, or None when it has none."""
    remaining = context.time_remaining()
    return time.monotonic() + remaining if remaining is not None and remaining < 1e9 else None


class StreamHost(Protocol):
    """What a Matte stream needs of the service (``MattingService`` provides it); keeps this module below it."""

    limits: Limits
    guard: PathGuard
    scheduler: Scheduler
    counters: Counters
    temp_dir: Optional[str]
    shm: ShmHost

    def get_shot(self, shot_id: str) -> Any: ...


class MatteStream:
    """One Matte call: a reader thread decodes frames ahead; this thread runs and answers them."""

    def __init__(self, service: StreamHost, requests: Peekable, context: grpc.ServicerContext):
        self.service, self.requests, self.context = service, requests, context
        limits = service.limits
        first = requests.next()
        if first is None or first.WhichOneof("kind") != "start":
            raise invalid("Matte must begin with a `start` message (shot_id, passes)")
        start = first.start
        self.shot = service.get_shot(start.shot_id)
        if not self.shot.keyframes():
            raise WireError(grpc.StatusCode.FAILED_PRECONDITION,
                            f"shot {self.shot.id!r} has no keyframe yet; set one with set_keyframe first")
        wanted = list(start.passes) or [pb.PASS_ALPHA]
        if any(p not in PASS_NAMES for p in wanted):
            raise invalid(f"unknown pass in {wanted}; use ALPHA, FOREGROUND, TRIMAP or BOUNDARY")
        if len(set(wanted)) != len(wanted):
            raise invalid("a pass is asked for twice; list each pass once")
        self.passes = [PASS_NAMES[p] for p in wanted]
        if start.result_encoding not in (pb.ENCODING_UNSPECIFIED, pb.ENCODING_RAW_F16, pb.ENCODING_RAW_F32,
                                         pb.ENCODING_PATH):
            raise invalid("result_encoding must be RAW_F16, RAW_F32 or PATH (written files only)")
        self.encoding = start.result_encoding or pb.ENCODING_RAW_F16
        self.templates: Dict[str, str] = {}
        for output in start.outputs:
            name = PASS_NAMES.get(getattr(output, "pass"))
            if name is None or name not in self.passes:
                raise invalid(f"an output template names pass {getattr(output, 'pass')} which is not asked for")
            template = limits.path(output.path, f"{name} output template")
            service.guard.check_writable(expand_template(template, 0), f"{name} output")
            self.templates[name] = template
        if self.encoding == pb.ENCODING_PATH and not self.templates:
            raise invalid("result_encoding PATH returns no pixels; give output templates for the passes")
        if service.scheduler.depth >= service.scheduler.max_queue:
            raise QueueFull(service.scheduler.depth, service.scheduler.retry_after())
        self.expected = start.expected_frames
        self.cancel = threading.Event()
        self.context.add_callback(self.cancel.set)
        self.decoded: "queue.Queue[Any]" = queue.Queue(maxsize=max(1, limits.max_frames_in_flight))
        self.done = 0
        self.began = time.monotonic()
        self.key = f"matte:{id(self)}"
        #: (frame, frames to send again before it) of the last frame whose earlier state was lost; the frame right
        #: after it in this stream fails the same way instead of starting a warm-up (see ``_submit``)
        self.lost: Optional[Tuple[int, List[int]]] = None
        self.shm = ShmSession(service.shm)

    # -- reader thread -----------------------------------------------------------------
    def _put(self, item: Any) -> bool:
        while not self.cancel.is_set():
            try:
                self.decoded.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        limits, guard = self.service.limits, self.service.guard
        size = (self.shot.width, self.shot.height)
        try:
            while not self.cancel.is_set():
                message = self.requests.next()
                if message is None:
                    break
                kind = message.WhichOneof("kind")
                if kind == "cancel":
                    self.cancel.set()
                    break
                if kind != "frame":
                    self._put(invalid(f"unexpected `{kind}` message: after `start`, send frame headers "
                                      f"each followed by their chunks"))
                    break
                header = message.frame
                item = _Decoded(frame=header.frame,
                                result_shm=header.result_shm if header.HasField("result_shm") else None)
                what = f"plate of frame {header.frame}"
                if header.plate.encoding == pb.ENCODING_SHM:
                    try:
                        limits.frame(header.frame)
                        item.image, item.nonfinite = sanitize(self.shm.read_plate(header.plate, what, limits))
                        if item.image.shape[:2] != (size[1], size[0]):
                            raise invalid(f"plate of frame {header.frame} is {item.image.shape[1]}x"
                                          f"{item.image.shape[0]} but the shot is {size[0]}x{size[1]}")
                        if item.image.shape[2] != 3:
                            raise invalid(f"plate of frame {header.frame} has {item.image.shape[2]} channel(s); "
                                          f"it must have 3")
                    except WireError as exc:
                        item.image, item.error = None, exc
                    if not self._put(self._hashed(item)):  # before looking for stray chunks: that waits for
                        break  # the client's next message, which may wait for this frame's result
                    _skip_chunks(self.requests)
                    continue
                try:
                    limits.frame(header.frame)
                    raw = header.plate.encoding in (pb.ENCODING_RAW_F16, pb.ENCODING_RAW_F32)
                    limits.image_header(header.plate, what, shot=size, channels=3 if raw else None)
                    item.image, item.nonfinite, item.held = receive_held(
                        ChunkReader(self.requests), header.plate, what, size=size, channels=3, guard=guard,
                        limits=limits, budget=self.service.scheduler.decode_budget,
                        temp_dir=self.service.temp_dir, cancel=self.cancel)
                except (WireError, QueueFull) as exc:
                    item.error = exc
                    _skip_chunks(self.requests)
                if not self._put(self._hashed(item)):
                    item.release()
                    break
        except Exception as exc:  # noqa: BLE001 - e.g. the client went away mid-message
            if not self.cancel.is_set():
                log.debug("matte reader stopped: %s", exc)
                self._put(exc)
        finally:
            self._put(_END)

    @staticmethod
    def _hashed(item: _Decoded) -> _Decoded:
        """The plate's cache key hash, made here in the reader thread so the device never waits for it."""
        if item.image is not None and item.error is None:
            from ftpvm_core.engine.chain import image_hash

            item.input_hash = image_hash(item.image)
        return item

    # -- answering ----------------------------------------------------------------------
    def run(self) -> Iterator[pb.MatteResponse]:
        reader = threading.Thread(target=self._read, name=f"ftpvm-matte-reader-{self.shot.id}", daemon=True)
        reader.start()
        inflight: Deque[Tuple[_Decoded, Any, float]] = collections.deque()
        item = future = None
        ended, broken = False, None
        try:
            while True:
                while not ended and len(inflight) < STREAM_DEPTH:
                    item = self._next_item(block=not inflight)
                    if item is None:
                        break
                    if item is _END:
                        ended = True
                        break
                    if not isinstance(item, _Decoded):  # the stream itself is broken: answer what came before
                        broken, ended = item, True
                        break
                    future = self._submit(item) if item.error is None else None
                    inflight.append((item, future, time.monotonic()))
                if not inflight:
                    if ended or self.cancel.is_set() or not self.context.is_active():
                        break
                    continue
                item, future, submitted = inflight.popleft()
                yield from self._answer(item, future, submitted)
            if self.cancel.is_set():
                for item, future, _ in inflight:
                    if future is not None:
                        future.cancel()
            if broken is not None:
                abort(self.context, broken)
        finally:
            self.cancel.set()
            reader.join(timeout=5)
            for left, _, _ in inflight:
                left.release()
            inflight.clear()  # plates may be views of the client's shared memory: drop them all, then unmap
            item = future = None  # noqa: F841
            while not self.decoded.empty():
                left = self.decoded.get_nowait()
                if isinstance(left, _Decoded):
                    left.release()
            self.shm.close()
            log.info("matte stream ended shot=%s frames=%d seconds=%.2f fps=%.2f cancelled=%s",
                     self.shot.id, self.done, time.monotonic() - self.began, self._fps(),
                     not self.context.is_active())

    def _next_item(self, block: bool) -> Any:
        while True:
            try:
                return self.decoded.get(timeout=0.1) if block else self.decoded.get_nowait()
            except queue.Empty:
                if not block or self.cancel.is_set() or not self.context.is_active():
                    return None

    def _submit(self, item: _Decoded) -> Any:
        shot, passes, cancel = self.shot, [p for p in self.passes], self.cancel
        frame, plate = item.frame, [item.image]  # the job lets go of the plate (maybe shared memory) when it ran
        item.image = None
        input_hash = item.input_hash
        into = self._result_arrays(item.result_shm)

        def job(job_cancel: threading.Event) -> Any:
            from ftpvm_core.errors import StateLost

            started = time.monotonic()
            lost = self.lost
            try:
                if lost is not None and frame == lost[0] + 1:  # its predecessor was not matted: nothing to continue
                    plate.clear()
                    self.lost = (frame, lost[1] + [lost[0]])
                    raise StateLost(frame, self.lost[1])
                results = list(shot.matte([(frame, plate.pop(), input_hash)], passes=passes, cancel=job_cancel,
                                          out=lambda _frame: into))
            except StateLost as exc:
                self.lost = (frame, exc.frames)
                raise
            finally:
                item.release()  # the engine is done with the pixels
            self.lost = None
            return results[0], time.monotonic() - started

        deadline = deadline_of(self.context)
        while True:
            try:
                return self.service.scheduler.submit(self.key, job, cancel=cancel, deadline=deadline)
            except QueueFull as exc:  # admitted streams wait for room rather than fail
                if self.cancel.wait(exc.retry_after):
                    raise

    def _result_arrays(self, region: Optional[pb.ShmRegion]) -> Optional[Dict[str, np.ndarray]]:
        """Arrays over the frame's shared-memory result region for the engine to write its passes into (the copy
        into the slot is then the engine's own last write), or None: inline, path, float16 results or a region
        that cannot take them."""
        if region is None:
            return None
        arrays = self.shm.result_arrays(region, [PASSES[name][1] for name in self.passes], self.shot.width,
                                        self.shot.height, self.encoding)
        return None if arrays is None else dict(zip(self.passes, arrays))

    def _fps(self) -> float:
        elapsed = time.monotonic() - self.began
        return self.done / elapsed if elapsed > 0 else 0.0

    def _answer(self, item: _Decoded, future: Any, submitted: float) -> Iterator[pb.MatteResponse]:
        shot_id = self.shot.id
        header = pb.FrameResult(frame=item.frame, width=self.shot.width, height=self.shot.height,
                                encoding=self.encoding, nonfinite_pixels=item.nonfinite)
        payload = b""
        try:
            if item.error is not None:
                raise item.error
            result, seconds = self._wait(future)
            item.release()
            header.from_cache = bool(result.from_cache)
            payload = self._encode(result, header, item.result_shm)
            self.service.counters.frame(shot_id, seconds, header.from_cache)
        except Exception as exc:  # noqa: BLE001 - this frame fails; the stream goes on
            item.release()
            code, message, _ = status_of(exc)
            header.status.code, header.status.message = code.value[0], message
            from ftpvm_core.errors import StateLost

            if isinstance(exc, StateLost):
                header.status.resend_frames.extend(exc.frames)
            del header.passes[:]
            payload = b""
            self.service.counters.error(shot_id)
            if code != grpc.StatusCode.CANCELLED:
                log.warning("frame failed shot=%s frame=%d code=%s: %s", shot_id, item.frame, code.name, message)
        self.done += 1
        header.progress.frames_done = self.done
        header.progress.frames_expected = self.expected
        header.progress.frames_per_second = self._fps()
        header.byte_size = len(payload)
        chunk = self.service.limits.chunk_bytes
        first, rest = split(payload, 0, chunk)
        yield pb.MatteResponse(result=header)
        for data in rest:
            yield pb.MatteResponse(chunk=pb.Chunk(data=data))

    def _wait(self, future: Any) -> Any:
        while True:
            try:
                return future.result(timeout=0.1)
            except TimeoutError:
                if not self.context.is_active():
                    self.cancel.set()

    def _encode(self, result: Any, header: pb.FrameResult, region: Optional[pb.ShmRegion] = None) -> bytes:
        parts: List[bytes] = []
        pixels: List[Tuple[Any, np.ndarray]] = []
        for name in self.passes:
            image = getattr(result, name)
            if image is None:
                raise WireError(grpc.StatusCode.INTERNAL, f"the engine returned no {name} pass")
            layout = header.passes.add(channels=PASSES[name][1])
            setattr(layout, "pass", PASSES[name][0])
            if name in self.templates:
                layout.written_path = self._write(name, image, header.frame)
            if self.encoding != pb.ENCODING_PATH:
                pixels.append((layout, image))
        if pixels and region is not None and self.shm.write_result(
                region, [i for _, i in pixels], self.encoding, [layout for layout, _ in pixels]):
            header.shm.CopyFrom(region)
            return b""
        for layout, image in pixels:
            _, _, channels, data = to_planes(image, self.encoding)
            layout.channels, layout.byte_size = channels, len(data)
            parts.append(data)
        return b"".join(parts)

    def _write(self, name: str, image: np.ndarray, frame: int) -> str:
        from ftpvm_core.engine import write_pass

        path = expand_template(self.templates[name], frame)
        with self.service.guard.open_writable(path, f"{name} output") as opened:
            write_pass(opened, name, image, metadata={"shot": self.shot.id, "frame": frame, "pass": name})
        return path


def _skip_chunks(requests: Peekable) -> None:
    """Drop the chunks of a refused frame so the next frame header is read next."""
    while True:
        message = requests.peek()
        if message is None or message.WhichOneof("kind") != "chunk":
            return
        requests.next()
