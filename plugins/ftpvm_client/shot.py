"""A handle to one shot on the server: keyframes, cache and the matte stream."""
from __future__ import annotations

import collections
import os
import threading
import time
from typing import (TYPE_CHECKING, Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional, Protocol, Sequence,
                    Tuple, Union, cast)

import grpc
import numpy as np

from ftpvm_wire.planes import ENCODING_OF_DTYPE, Assembler, exr_header, from_planes, path_header, raw_header, split
from ftpvm_wire.protocol import PASS_NAMES, PASSES, pb

from .errors import Cancelled, FTPVMError, error_for, from_rpc_error
from .retry import RetryPolicy, call_with_retry, is_transient
from .types import Keyframe, MatteResult, Progress, ShotInfo

if TYPE_CHECKING:  # multiprocessing is imported only when a call uses shared memory
    from .shm import ShmPool, ShmSlots


class Connection(Protocol):
    """What a shot handle needs of its client (``Client`` provides it); keeps this module below ``connection``."""

    stub: Any
    timeout: float
    retry: RetryPolicy
    chunk_bytes: int

    @property
    def metadata(self) -> tuple: ...

    def call(self, method: Callable[..., Any], request: Any, timeout: Optional[float] = None) -> Any: ...

    def get_shot(self, shot_id: str) -> ShotInfo: ...

    def delete_shot(self, shot_id: str) -> bool: ...

    def shared_memory(self) -> bool: ...

    def shm_pool(self) -> "ShmPool": ...


#: What a frame source may be: a (H, W, 3) array, a path on the server's disk, or EXR bytes.
FrameSource = Union[np.ndarray, str, "os.PathLike[str]", bytes]

#: Frames sent ahead of their results (bounds memory on both ends).
WINDOW = 4
#: How ``matte`` moves pixels (see its docstring).
TRANSPORTS = ("auto", "inline", "shm", "path")


def _header_and_payload(source: FrameSource, encoding: int) -> Tuple[pb.ImageHeader, bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return exr_header(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        return path_header(os.fspath(source)), b""
    return raw_header(source, encoding)


class ShotHandle:
    """A shot on the server. Obtained from ``Client.open_shot`` or ``Client.shot``."""

    def __init__(self, client: Connection, info: ShotInfo):
        self.client = client
        self.info = info

    shot_id = property(lambda self: self.info.shot_id)
    width = property(lambda self: self.info.width)
    height = property(lambda self: self.info.height)
    colorspace = property(lambda self: self.info.colorspace)

    def __repr__(self) -> str:
        return f"<ShotHandle {self.shot_id!r} {self.width}x{self.height} {self.colorspace}>"

    def refresh(self) -> ShotInfo:
        """Re-read the shot from the server (keyframes, cache size, counters)."""
        self.info = self.client.get_shot(self.shot_id)
        return self.info

    # -- keyframes ---------------------------------------------------------------------
    def set_keyframe(self, frame: int, image: FrameSource, trimap: Optional[np.ndarray] = None, *,
                     outer: Optional[np.ndarray] = None, inner: Optional[np.ndarray] = None, band: int = 0,
                     dtype: str = "float16") -> Keyframe:
        """Set the keyframe ``frame`` from the plate and a trimap, or from roto mattes; the server builds the trimap.

        ``image``: (H, W, 3) linear plate (or a server path / EXR bytes). Then exactly one of
        ``trimap``: (H, W) with 0 / 0.5 / 1, or ``outer``: (H, W) or (H, W, N) roto mattes in [0, 1]
        (united), alone with an unknown band of ``band`` pixels (0: the shot's ``roto_band``), or with
        ``inner`` (the solid core; the rest of ``outer`` is unknown). The rules and their defaults are
        the shot's settings (``roto_band``, ``roto_combine``, ``trimap_tolerance``); see docs/client.md.
        """
        if (trimap is None) == (outer is None):
            raise ValueError("set_keyframe needs exactly one of trimap= or outer= (with an optional inner=)")
        if inner is not None and outer is None:
            raise ValueError("inner= goes with outer=, not with trimap=")
        encoding = ENCODING_OF_DTYPE[dtype]
        image_header, image_bytes = _header_and_payload(image, encoding)
        start = pb.KeyframeStart(shot_id=self.shot_id, frame=int(frame), image=image_header, band=int(band))
        guide_bytes = b""
        for name, plane in (("trimap", trimap), ("outer", outer), ("inner", inner)):
            if plane is not None:
                header, data = raw_header(plane, encoding)
                getattr(start, name).CopyFrom(header)
                guide_bytes += data
        payload = image_bytes + guide_bytes
        chunk = self.client.chunk_bytes

        def requests() -> Iterator[pb.SetKeyframeRequest]:
            yield pb.SetKeyframeRequest(start=start)
            for i in range(0, len(payload), chunk):
                yield pb.SetKeyframeRequest(chunk=pb.Chunk(data=payload[i:i + chunk]))

        reply = call_with_retry(lambda: self.client.stub.SetKeyframe(
            requests(), timeout=self.client.timeout, metadata=self.client.metadata), self.client.retry)
        return Keyframe(reply.frame, reply.source, reply.band)

    def remove_keyframe(self, frame: int) -> ShotInfo:
        """Remove a keyframe (NotFound if there is none at ``frame``)."""
        self.info = ShotInfo.from_proto(self.client.call(
            self.client.stub.RemoveKeyframe, pb.RemoveKeyframeRequest(shot_id=self.shot_id, frame=int(frame))))
        return self.info

    def keyframes(self) -> List[Keyframe]:
        """The shot's keyframes, in frame order."""
        reply = self.client.call(self.client.stub.ListKeyframes, pb.ShotRef(shot_id=self.shot_id))
        return [Keyframe(k.frame, k.source, k.band) for k in reply.keyframes]

    def reset_cache(self) -> ShotInfo:
        """Forget cached mattes and recurrent state (keyframes stay)."""
        self.info = ShotInfo.from_proto(self.client.call(self.client.stub.ResetCache, pb.ShotRef(shot_id=self.shot_id)))
        return self.info

    def delete(self) -> bool:
        """Delete this shot on the server."""
        return self.client.delete_shot(self.shot_id)

    # -- matting -----------------------------------------------------------------------
    def matte(self, frames: Iterable[Tuple[int, FrameSource]], passes: Sequence[str] = ("alpha",), *,
              outputs: Optional[Dict[str, str]] = None, progress: Optional[Callable[[Progress], Any]] = None,
              cancel: Optional[threading.Event] = None, raise_errors: bool = True,
              send_dtype: Optional[str] = None, result_dtype: Optional[str] = None,
              timeout: Optional[float] = None, transport: str = "auto",
              refetch: Optional[Callable[[int], FrameSource]] = None,
              result_views: bool = False) -> Iterator[MatteResult]:
        """Matte ``frames`` (``(frame, plate)`` pairs; plate an array, a server path or EXR bytes).

        Yields a MatteResult per frame, in order. ``outputs`` maps pass names to server-side EXR
        path templates (``####`` or ``%04d``) the server writes; with outputs and
        ``result_dtype="none"`` no pixels come back. ``progress`` is called after every frame;
        setting ``cancel`` stops the server's work and raises Cancelled. A failed frame raises
        its error, or is yielded with ``error`` set when ``raise_errors`` is False.
        Transient failures (server restarting) resend the frames still in flight.

        ``transport`` says how array plates and result pixels travel: "inline" in the gRPC stream;
        "shm" through POSIX shared memory (a client on the server's machine; FTPVMError when the
        server does not share memory with this process); "auto" (default) shm when the server
        offers it and shares memory with this process, else inline; "path" only server paths in and
        written files out (every frame a path, ``outputs=`` and ``result_dtype="none"``).
        ``send_dtype`` / ``result_dtype`` ("float16" | "float32"; results also "none"): by default
        float16 in the stream (half the bytes) and float32 in shared memory (a plain copy, where
        converting to half would cost more than the bytes it saves).

        ``result_views=True`` (for a host that uses each result at once, e.g. writes its EXR): float32 results that
        came through shared memory are views of the call's segment instead of copies, valid only until the next
        result is taken from this iterator (or it ends); copy what you keep. The slot is not reused before then.
        Other results are the caller's own arrays either way.

        When the server no longer holds the state before a frame (its cache limit evicted it, or it was damaged),
        it asks for earlier frames again (FAILED_PRECONDITION with ``resend_frames``); they are re-sent, their
        results dropped, and the frame comes back as in an uninterrupted run. Their plates come from
        ``refetch(frame)`` when given, else from ``frames`` when it is a list or tuple; a frame found in neither
        gives the FailedPrecondition error (its ``resend_frames`` and message name the frames).
        """
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, not {transport!r}")
        if transport == "path" and (not outputs or result_dtype != "none"):
            raise ValueError('transport="path" returns written files only: give outputs= and result_dtype="none"')
        names = tuple(passes)
        unknown = [p for p in names if p not in PASSES]
        if unknown or not names:
            raise ValueError(f"unknown pass(es) {unknown}; choose from {sorted(PASSES)}")
        if result_dtype == "none" and not outputs:
            raise ValueError('result_dtype="none" needs outputs= (otherwise nothing comes back)')
        frames = _paths_only(frames) if transport == "path" else frames
        shared = transport in ("shm", "auto") and self.client.shared_memory()
        if transport == "shm" and not shared:
            raise FTPVMError("the server does not share memory with this process (another machine or container, "
                             "another user, or the transport is off); use transport=\"inline\"")
        default_dtype = "float32" if shared else "float16"
        send_dtype, result_dtype = send_dtype or default_dtype, result_dtype or default_dtype
        start = pb.MatteStart(
            shot_id=self.shot_id, passes=[cast(Any, PASSES[p][0]) for p in names],
            result_encoding=pb.ENCODING_PATH if result_dtype == "none" else ENCODING_OF_DTYPE[result_dtype],
            outputs=[self._template(p, t) for p, t in (outputs or {}).items()],
            expected_frames=len(frames) if hasattr(frames, "__len__") else 0)  # type: ignore[arg-type]
        slots = None
        if shared:
            pool = self.client.shm_pool()
            result_channels = sum(PASSES[p][1] for p in names) if result_dtype != "none" else 0
            slots = lambda: pool.take(self.width, self.height, ENCODING_OF_DTYPE[send_dtype],  # noqa: E731
                                      start.result_encoding, result_channels, WINDOW)
        stream = _MatteStream(self.client, start, iter(frames), ENCODING_OF_DTYPE[send_dtype], cancel, timeout,
                              slots, _Lookup(frames, refetch), views=result_views)
        total = start.expected_frames or None
        done = 0
        for result in stream:
            done += 1
            if progress is not None:
                progress(Progress(done, total, stream.frames_per_second, result.frame))
            if result.error is not None and raise_errors:
                stream.close()
                raise result.error
            yield result

    @staticmethod
    def _template(name: str, path: Any) -> pb.OutputTemplate:
        if name not in PASSES:
            raise ValueError(f"unknown pass {name!r} in outputs; choose from {sorted(PASSES)}")
        template = pb.OutputTemplate(path=os.fspath(path))
        setattr(template, "pass", PASSES[name][0])
        return template


def _paths_only(frames: Iterable[Tuple[int, FrameSource]]) -> Iterator[Tuple[int, FrameSource]]:
    for frame, source in frames:
        if not isinstance(source, (str, os.PathLike)):
            raise ValueError(f'transport="path" sends server paths only; frame {frame} is a {type(source).__name__}')
        yield frame, source


class _Lookup:
    """Plates of frames the server asks for again: ``refetch``, else the caller's list or tuple of frames."""

    def __init__(self, frames: Any, refetch: Optional[Callable[[int], FrameSource]]):
        self._frames = frames if isinstance(frames, (list, tuple)) else None
        self._refetch = refetch
        self._index: Optional[Dict[int, FrameSource]] = None

    def __call__(self, frame: int) -> Optional[FrameSource]:
        if self._refetch is not None:
            return self._refetch(frame)
        if self._frames is None:
            return None
        if self._index is None:
            self._index = {int(f): source for f, source in self._frames}
        return self._index.get(frame)


#: Re-send rounds in a row (without a frame answered in between) before the server's request is given up.
RESEND_ROUNDS = 4


class _Resend(Exception):
    """The server asked for frames again: start a new attempt that sends them first."""


class _MatteStream:
    """One Matte call, re-opened on transient failures with the frames still unanswered, and when the server asks
    for earlier frames again (``replay``: sent first, their results dropped). With ``slots`` (taken from the
    client's pool), each attempt moves array plates and results through a shared-memory segment: given back to the
    pool when every frame was answered, closed otherwise (the server might still write into it). With ``views``,
    results in shared memory are views of their slot, and a frame's window place (hence its slot) is given back
    only when the caller takes the next result."""

    def __init__(self, client: Connection, start: pb.MatteStart, frames: Iterator[Tuple[int, FrameSource]],
                 encoding: int, cancel: Optional[threading.Event], timeout: Optional[float],
                 slots: Optional[Callable[[], "ShmSlots"]] = None, lookup: Optional[_Lookup] = None,
                 views: bool = False):
        self.client, self.start, self.frames, self.encoding = client, start, frames, encoding
        self.lookup = lookup or _Lookup(None, None)
        self.replay: Deque[Tuple[int, FrameSource]] = collections.deque()
        self.rounds = 0
        self.make_slots = slots
        self.views = views
        self.slots: Optional["ShmSlots"] = None
        self.cancel_event = cancel or threading.Event()
        self.timeout = timeout
        self.pending: Deque[Tuple[int, FrameSource]] = collections.deque()
        self.exhausted = False
        self.frames_per_second = 0.0
        self._closed = threading.Event()
        self._take = threading.Lock()
        self._call: Optional[grpc.Call] = None

    def close(self) -> None:
        """Stop sending and cancel the call."""
        self._closed.set()
        if self._call is not None:
            self._call.cancel()

    # Frames that went out but have no result yet are kept in ``pending`` (at most WINDOW). Each
    # attempt (call) has its own ``stop`` event, so a dead call's sender never takes another frame.
    def _requests(self, resend: List[Tuple[int, FrameSource]], window: threading.Semaphore,
                  stop: threading.Event, slots: Optional["ShmSlots"]) -> Iterator[pb.MatteRequest]:
        yield pb.MatteRequest(start=self.start)
        queue = collections.deque(resend)
        while True:
            while not window.acquire(timeout=0.05):
                if stop.is_set() or self._closed.is_set() or self.cancel_event.is_set():
                    break
            if self.cancel_event.is_set() and not stop.is_set():
                yield pb.MatteRequest(cancel=pb.Cancel())
                return
            with self._take:
                if stop.is_set() or self._closed.is_set():
                    return
                item: Optional[Tuple[int, FrameSource]]
                if queue:
                    item = queue.popleft()
                else:
                    item = next(self.frames, None)
                    if item is None:
                        self.exhausted = True
                        return
                    self.pending.append(item)
            yield from self._frame_messages(*item, slots)

    def _frame_messages(self, frame: int, source: FrameSource,
                        slots: Optional["ShmSlots"]) -> Iterator[pb.MatteRequest]:
        if slots is not None and slots.fits(source):  # type: ignore[arg-type]
            with self._take:  # not while the attempt's segment is being closed
                if slots.segment is None:
                    return
                header, region = slots.put_plate(source)  # type: ignore[arg-type]
            yield pb.MatteRequest(frame=pb.FrameHeader(frame=int(frame), plate=header, result_shm=region))
            return
        header, payload = _header_and_payload(source, self.encoding)
        first, rest = split(payload, self.client.chunk_bytes, self.client.chunk_bytes)
        header.data = first
        message = pb.FrameHeader(frame=int(frame), plate=header)
        region = slots.result_region() if slots is not None else None
        if region is not None:
            message.result_shm.CopyFrom(region)
        yield pb.MatteRequest(frame=message)
        for data in rest:
            yield pb.MatteRequest(chunk=pb.Chunk(data=data))

    def __iter__(self) -> Iterator[MatteResult]:
        policy = self.client.retry
        delays = policy.delays()
        began = time.monotonic()
        while True:
            window = threading.Semaphore(WINDOW)
            stop = threading.Event()
            with self._take:
                resend = list(self.replay) + list(self.pending)
            self.slots = self.make_slots() if self.make_slots is not None else None
            requests = self._requests(resend, window, stop, self.slots)
            self._call = self.client.stub.Matte(requests, timeout=self.timeout, metadata=self.client.metadata)
            answered = False
            try:
                for result, replayed in self._results(self._call):
                    if self.views and not replayed:
                        yield result  # the caller holds views of its slot until it asks for the next result
                    window.release()
                    if not self.views and not replayed:
                        yield result
                if self.cancel_event.is_set():
                    raise Cancelled("matte cancelled by the caller")
                answered = not self.pending and not self.replay
                return
            except _Resend:
                continue  # a new attempt: the frames asked for, then the ones still unanswered
            except grpc.RpcError as exc:
                error = from_rpc_error(exc)
                if self.cancel_event.is_set():
                    raise Cancelled("matte cancelled by the caller") from None
                delay = next(delays, None)
                if not is_transient(error) or delay is None or time.monotonic() - began + delay > policy.total:
                    raise error from None
                time.sleep(max(delay, getattr(error, "retry_after", None) or 0.0))
            finally:
                stop.set()
                self._call.cancel()
                if self.slots is not None:
                    with self._take:  # the sender holds this while it writes a plate
                        if answered:
                            self.client.shm_pool().give_back(self.slots)
                        else:
                            self.slots.close()

    def _asked_again(self, header: pb.FrameResult) -> bool:
        """True when the server asks for frames again before ``header.frame`` and they were queued (raise
        ``_Resend`` then); False when it did not ask, or a frame cannot be found (the error goes to the caller)."""
        frames = list(header.status.resend_frames)
        if header.status.code != grpc.StatusCode.FAILED_PRECONDITION.value[0] or not frames:
            return False
        if self.rounds >= RESEND_ROUNDS:
            return False
        sources = [(f, self.lookup(f)) for f in frames]
        if any(source is None for _, source in sources):
            return False
        self.rounds += 1
        with self._take:  # the frame itself stays where it is: at the head of replay or pending
            self.replay.extendleft(reversed(sources))  # type: ignore[arg-type]
        return True

    def _results(self, call: Iterator[pb.MatteResponse]) -> Iterator[Tuple[MatteResult, bool]]:
        responses = iter(call)
        for response in responses:
            if response.WhichOneof("kind") != "result":
                raise FTPVMError("protocol error: pixel chunk without a result header")
            header = response.result
            assembler = Assembler(header.byte_size)
            while assembler.missing:
                chunk = next(responses, None)
                if chunk is None or chunk.WhichOneof("kind") != "chunk":
                    raise FTPVMError(f"protocol error: result of frame {header.frame} ended early")
                assembler.add(chunk.chunk.data)
            if header.status.code == grpc.StatusCode.CANCELLED.value[0]:
                raise Cancelled(header.status.message or "matte cancelled", frame=header.frame)
            if self._asked_again(header):
                raise _Resend()
            with self._take:
                replayed = bool(self.replay) and self.replay[0][0] == header.frame
                if replayed:
                    self.replay.popleft()
                elif self.pending and self.pending[0][0] == header.frame:
                    self.pending.popleft()
            if not replayed and header.status.code == 0:
                self.rounds = 0
            self.frames_per_second = header.progress.frames_per_second
            yield self._decode(header, assembler.bytes()), replayed

    def _decode(self, header: pb.FrameResult, payload: bytes) -> MatteResult:
        result = MatteResult(frame=header.frame, from_cache=header.from_cache,
                             nonfinite_pixels=header.nonfinite_pixels)
        if header.status.code != 0:
            code = next((c for c in grpc.StatusCode if c.value[0] == header.status.code), grpc.StatusCode.UNKNOWN)
            result.error = error_for(code, header.status.message, frame=header.frame,
                                     resend_frames=tuple(header.status.resend_frames))
            return result
        offset = 0
        for layout in header.passes:
            name = PASS_NAMES.get(getattr(layout, "pass"))
            start, offset = offset, offset + layout.byte_size
            if name is None:
                continue  # a pass this client does not know (a newer server): its bytes are skipped
            if layout.written_path:
                result.written[name] = layout.written_path
            if layout.byte_size:
                if header.HasField("shm"):
                    if self.slots is None:
                        raise FTPVMError("protocol error: a result in shared memory this call did not offer")
                    image = self.slots.read(header.shm, start, layout.byte_size, header.width, header.height,
                                            layout.channels, header.encoding, view=self.views)
                else:
                    image = from_planes(payload[start:offset], header.width, header.height, layout.channels,
                                        header.encoding)
                setattr(result, name, image[:, :, 0] if layout.channels == 1 else image)
        return result
