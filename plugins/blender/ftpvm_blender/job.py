"""The client side of one Process run, on a worker thread (no ``bpy``: Blender's API stays on the main thread).

The main thread renders frames and hands them over with :meth:`ProcessJob.feed`; the worker opens the
shot, sets the keyframes and streams the frames through ``ftpvm_client``; results come back through
:meth:`ProcessJob.results`. :meth:`ProcessJob.cancel` stops the server's work (Esc in Blender).
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

from . import colour
from .plan import Job

#: Frames rendered ahead of the server (bounds memory; the client keeps its own window too).
AHEAD = 4
_END = object()


@dataclass
class KeyframeInput:
    """A keyframe as sent: the plate and either a roto matte (with its band) or a trimap."""

    frame: int
    plate: np.ndarray
    mask: Optional[np.ndarray] = None
    trimap: Optional[np.ndarray] = None


def connect(address: str, token: Optional[str] = None, timeout: float = 5.0):
    """A client that fails fast (no retries) for interactive checks; the caller closes it."""
    from ftpvm_client import Client
    from ftpvm_client.retry import NO_RETRY

    return Client(address, token=token or None, timeout=timeout, retry=NO_RETRY)


def describe_server(address: str, token: Optional[str] = None, timeout: float = 5.0) -> str:
    """One line about the server at ``address`` (raises FTPVMError when it cannot be reached)."""
    with connect(address, token, timeout) as client:
        info = client.info()
    return f"ftpvm-server {info.server_version} on {info.device}"


class ProcessJob:
    """Runs a Job's client calls on a worker thread; state is read from the main thread."""

    def __init__(self, address: str, job: Job, keyframes: List[KeyframeInput], token: Optional[str] = None,
                 config: Optional[Dict[str, Any]] = None, timeout: float = 120.0):
        self.address, self.job, self.keyframes, self.token = address, job, keyframes, token
        self.config = config
        self.timeout = timeout
        self.stage = "connecting"      # connecting -> keyframes -> matting -> done | failed | cancelled
        self.error: Optional[BaseException] = None
        self.colorspace: Optional[str] = None
        self.done_frames = 0
        self._inbox: "queue.Queue[Any]" = queue.Queue(maxsize=AHEAD)
        self._outbox: "queue.Queue[Any]" = queue.Queue()
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ftpvm-{job.shot_id}", daemon=True)

    # -- main thread ---------------------------------------------------------------------
    def start(self) -> "ProcessJob":
        self._thread.start()
        return self

    @property
    def finished(self) -> bool:
        """True once the worker has stopped (done, failed or cancelled)."""
        return self.stage in ("done", "failed", "cancelled") and not self._thread.is_alive()

    @property
    def wants_frames(self) -> bool:
        """True while the worker can take another frame without waiting."""
        return (not self._cancel.is_set() and self.stage in ("connecting", "keyframes", "matting")
                and not self._inbox.full())

    def feed(self, frame: int, plate: np.ndarray) -> None:
        """Hand one rendered plate to the worker (call only when ``wants_frames``)."""
        self._put((frame, plate))

    def end_of_frames(self) -> None:
        """No more frames will be fed."""
        self._put(_END)

    def _put(self, item: Any) -> None:
        while not self._cancel.is_set() and self.stage not in ("failed", "cancelled", "done"):
            try:
                self._inbox.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def results(self) -> List[Any]:
        """Every MatteResult that arrived since the last call (non-blocking)."""
        out = []
        while True:
            try:
                out.append(self._outbox.get_nowait())
            except queue.Empty:
                return out

    def cancel(self) -> None:
        """Stop: the server stops working on the shot; the worker ends as 'cancelled'."""
        self._cancel.set()

    def join(self, timeout: Optional[float] = None) -> None:
        self._thread.join(timeout)

    # -- worker thread -------------------------------------------------------------------
    def _frames(self) -> Iterator[Tuple[int, np.ndarray]]:
        while not self._cancel.is_set():
            try:
                item = self._inbox.get(timeout=0.05)
            except queue.Empty:
                continue
            if item is _END:
                return
            yield item

    def _run(self) -> None:
        from ftpvm_client import AlreadyExists, Cancelled, Client, FTPVMError

        job = self.job
        try:
            with Client(self.address, token=self.token or None, timeout=self.timeout) as client:
                info = client.info()
                self.colorspace = colour.match_server_colorspace(job.colorspace, info.colorspaces, self.config)
                if self.colorspace is None:
                    raise FTPVMError(f"the server does not know colour space {job.colorspace!r}; "
                                     f"set 'Input colour space' to one of its spaces")
                try:
                    shot = client.open_shot(job.shot_id, job.width, job.height, self.colorspace, job.settings)
                except AlreadyExists:  # size, colour space or quality changed: start the shot afresh
                    shot = client.open_shot(job.shot_id, job.width, job.height, self.colorspace, job.settings,
                                            reset=True)
                self.stage = "keyframes"
                wanted = {k.frame for k in self.keyframes}
                for old in shot.keyframes():
                    if old.frame not in wanted:
                        shot.remove_keyframe(old.frame)
                for k in self.keyframes:
                    if self._cancel.is_set():
                        raise Cancelled("cancelled")
                    if k.trimap is not None:
                        shot.set_keyframe(k.frame, image=k.plate, trimap=k.trimap)
                    else:
                        shot.set_keyframe(k.frame, image=k.plate, mask=k.mask, band=job.band)
                self.stage = "matting"
                for result in shot.matte(self._frames(), passes=job.passes, cancel=self._cancel,
                                         result_dtype="float32"):
                    self._outbox.put(result)
                    self.done_frames += 1
                if self._cancel.is_set():
                    raise Cancelled("cancelled")
            self.stage = "done"
        except Cancelled:
            self.stage = "cancelled"
        except (FTPVMError, ValueError, OSError) as exc:
            self.error = exc
            self.stage = "cancelled" if self._cancel.is_set() else "failed"
        except Exception as exc:  # noqa: BLE001 - shown to the artist as a report, never a traceback
            self.error = exc
            self.stage = "failed"
