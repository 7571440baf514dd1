"""The client side of one Process batch, on a worker thread (no ``bpy``: Blender's API stays on the main thread).

A Process run alternates between Blender work and client work, never both at once (see ``runner``): the main
thread renders a batch of plates, then a :class:`ProcessJob` sends them from a worker thread (open the shot, set
the keyframes on the first batch, matte the batch through ``ftpvm_client``) while the main thread only polls
:meth:`ProcessJob.results`; the worker closes its gRPC channel and ends, and once :attr:`ProcessJob.quiet`
says every thread it (and grpcio) started is gone, the main thread writes the results and renders the next
batch. :meth:`ProcessJob.cancel` stops the server's work (Esc in Blender).

Why: Blender releases the GIL while it renders, and a render inside ``bpy.context.temp_override`` looks up the
override's Python dict without taking the GIL whenever some thread state is current, which in Python 3.11 is
the case while any other thread holds the GIL. A worker (or grpcio) thread running then corrupted the interpreter
(``dictobject.c: bad argument to internal function``, then a segfault). See docs/blender.md, Threading model.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np

from . import colour
from .plan import Job


@dataclass
class KeyframeInput:
    """A keyframe as sent: the plate and either an outer roto matte (the job's band applies) or a trimap."""

    frame: int
    plate: np.ndarray
    outer: Optional[np.ndarray] = None
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
    """One batch's client calls on a worker thread; state is read from the main thread.

    ``plates``: the batch's ``(frame, plate)`` pairs, consecutive frames in order (the server carries the
    recurrent state on from the frame before the batch, matted by the previous batch). ``keyframes``: the
    shot's keyframes, sent (and stale ones removed) when given; ``None`` on later batches of a run.
    """

    def __init__(self, address: str, job: Job, keyframes: Optional[List[KeyframeInput]],
                 plates: Sequence[Tuple[int, np.ndarray]], token: Optional[str] = None,
                 config: Optional[Dict[str, Any]] = None, timeout: float = 120.0):
        self.address, self.job, self.keyframes, self.token = address, job, keyframes, token
        self.plates = list(plates)
        self.config = config
        self.timeout = timeout
        self.stage = "connecting"      # connecting -> keyframes -> matting -> done | failed | cancelled
        self.error: Optional[BaseException] = None
        self.colorspace: Optional[str] = None
        self.done_frames = 0
        self._outbox: "queue.Queue[Any]" = queue.Queue()
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ftpvm-{job.shot_id}", daemon=True)
        self._before: Set[threading.Thread] = set()

    # -- main thread ---------------------------------------------------------------------
    def start(self) -> "ProcessJob":
        self._before = set(threading.enumerate())
        self._thread.start()
        return self

    @property
    def finished(self) -> bool:
        """True once the worker has stopped (done, failed or cancelled) and closed its channel."""
        return self.stage in ("done", "failed", "cancelled") and not self._thread.is_alive()

    def stray_threads(self) -> List[threading.Thread]:
        """Threads started since :meth:`start` that still run (the worker, grpcio's helpers)."""
        return [t for t in threading.enumerate() if t.is_alive() and t not in self._before]

    @property
    def quiet(self) -> bool:
        """True once the worker has finished and every thread started since :meth:`start` has ended.

        Only then may the main thread call into Blender again (render, write files).
        """
        return self.finished and not self.stray_threads()

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
                if self.keyframes is not None:
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
                            shot.set_keyframe(k.frame, image=k.plate, outer=k.outer, band=job.band)
                self.stage = "matting"
                if self._cancel.is_set():
                    raise Cancelled("cancelled")
                for result in shot.matte(self.plates, passes=job.passes, cancel=self._cancel,
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
