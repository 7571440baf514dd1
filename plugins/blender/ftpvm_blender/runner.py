"""One Process run on Blender's main thread, advanced one small step at a time.

The modal operator calls :meth:`ProcessRunner.step` on every timer tick (a background run calls it in a loop).
The frames go in batches of consecutive frames (``plan.batch_size``), and Blender and the client never work at
the same time; each batch has three phases:

``render``  the main thread renders the batch's plates, one per step, through the hidden compositor scene.
            No client call, worker thread or gRPC channel is alive.
``matte``   a :class:`~.job.ProcessJob` worker thread opens a channel, sends the batch (the first batch also
            sends the keyframes) and closes the channel. The main thread makes no ``bpy`` call: it only polls
            for results, until the worker has ended and every thread started for it (grpcio's included) is gone.
``write``   the main thread writes the batch's results as EXR files, one frame per step.

Then the next batch is rendered; after the last one the sequences are loaded and the compositor is wired. The
server carries the recurrent state from the last frame of a batch into the next batch's first frame, so the
mattes are the ones a single call over all frames gives.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, List, Optional, Tuple

import bpy
import numpy as np

from . import properties
from .job import ProcessJob
from .mask_raster import keyframe_inputs
from .plan import SETTING_PROPS, Job, batch_size, plan_job
from .plate import Plate, current_plate
from .render_io import NodeRenderer, write_exr
from .wiring import insert_group

#: How long a finished batch waits for grpcio's helper threads to end before Blender is used again.
SETTLE_SECONDS = 10.0


class ProcessRunner:
    """Plan, start and drive one Process run for the scene's FTP-VM settings."""

    def __init__(self, scene: "bpy.types.Scene", plate: Optional[Plate] = None):
        props = properties.settings(scene)
        self.scene = scene
        self.plate = plate or current_plate(scene)
        width, height = self.plate.width, self.plate.height
        limit = (scene.frame_start, scene.frame_end) if props.use_scene_range else None
        self.job: Job = plan_job(
            shot_id=properties.shot_id(scene), width=width, height=height,
            colorspace=properties.input_colorspace(scene), clip_start=self.plate.start,
            clip_duration=self.plate.duration, keyframes=[k.frame for k in props.keyframes],
            quality=props.quality, want_foreground=props.output_foreground, blend_path=bpy.data.filepath,
            chosen_folder=bpy.path.abspath(props.output_dir) if props.output_dir else "", limit=limit,
            band=props.band if props.is_property_set("band") else 0,
            chosen={name: getattr(props, name) for name in SETTING_PROPS if props.is_property_set(name)})
        self.renderer: Optional[NodeRenderer] = NodeRenderer(width, height)
        try:
            self.keys = keyframe_inputs(self.renderer, self.plate, self.job.keyframes, props.trimap_source,
                                        mask=props.mask, trimap_image=props.trimap_image)
            os.makedirs(self.job.folder, exist_ok=True)
        except BaseException:
            self.renderer.close()
            raise
        self.address = props.server
        self.config = properties.ocio_config()
        self.batch_frames = batch_size(self.job.width, self.job.height, self.job.passes)
        self.fed = 0             # plates rendered (index of the next one in job.frames)
        self.written = 0
        self.batches = 0         # batches sent so far
        self.phase = "render"    # render -> matte -> write -> render ... (see the module's doc)
        self.state = "running"   # running -> done | failed | cancelled
        self.message = ""
        self.worker: Optional[ProcessJob] = None
        self._plates: List[Tuple[int, np.ndarray]] = []   # the batch being rendered
        self._arrived: List[Any] = []                     # its results, written in the write phase
        self._cancelled = False
        self._settle_until: Optional[float] = None

    @property
    def total(self) -> int:
        return len(self.job.frames)

    @property
    def fraction(self) -> float:
        """Progress in [0, 1]: rendering a plate and writing its result each count half a frame."""
        return (self.fed + self.written) / (2 * self.total) if self.total else 1.0

    @property
    def activity(self) -> str:
        """What the run is doing now, for the status bar."""
        if self.phase == "render":
            return f"rendering plate {min(self.fed + 1, self.total)}/{self.total}"
        if self.phase == "matte" and self.worker is not None:
            frames = self.worker.plates
            return f"matting frames {frames[0][0]}-{frames[-1][0]} on the server"
        return f"writing frame {min(self.written + 1, self.total)}/{self.total}"

    def cancel(self) -> None:
        """Esc: stop the server's work (or the rendering); the next steps wind the run down."""
        self._cancelled = True
        if self.worker is not None:
            self.worker.cancel()

    def step(self) -> bool:
        """Advance a little; True once the run has finished (see ``state`` and ``message``)."""
        if self.state != "running":
            return True
        try:
            if self.phase == "render":
                self._render_step()
            elif self.phase == "matte":
                self._matte_step()
            else:
                self._write_step()
        except Exception as exc:  # noqa: BLE001 - becomes a report
            self._stop_worker()
            self.state, self.message = "failed", f"FTP-VM: {exc}"
        if self.state != "running":
            self.close()
        return self.state != "running"

    # -- phases --------------------------------------------------------------------------
    def _render_step(self) -> None:
        if self._cancelled:
            self._end_cancelled()
            return
        frame = self.job.frames[self.fed]
        assert self.renderer is not None
        self._plates.append((frame, self.renderer.plate_frame(self.plate, frame)))
        self.fed += 1
        if len(self._plates) >= self.batch_frames or self.fed == self.total:
            keys = self.keys if self.batches == 0 else None
            self.worker = ProcessJob(self.address, self.job, keys, self._plates, config=self.config)
            self._plates = []
            self._arrived = []
            self._settle_until = None
            self.batches += 1
            self.phase = "matte"
            self.worker.start()

    def _matte_step(self) -> None:
        """No bpy here: the worker (and grpcio's threads) may be running Python."""
        worker = self.worker
        assert worker is not None
        self._arrived += worker.results()
        if not worker.finished:
            return
        if not worker.quiet:
            now = time.monotonic()
            if self._settle_until is None:
                self._settle_until = now + SETTLE_SECONDS
            if now < self._settle_until:
                return
            names = ", ".join(t.name for t in worker.stray_threads())
            print(f"FTP-VM: threads still alive after the batch (closed channel): {names}", file=sys.stderr)
        self._arrived += worker.results()
        self.phase = "write"

    def _write_step(self) -> None:
        if self._arrived:
            result = self._arrived.pop(0)
            write_exr(self.job.path("alpha", result.frame), result.alpha)
            if result.foreground is not None:
                write_exr(self.job.path("foreground", result.frame), result.foreground)
            self.written += 1
            return
        worker, self.worker = self.worker, None
        assert worker is not None
        if worker.stage == "done" and worker.done_frames == len(worker.plates):
            if self.fed < self.total:
                if self._cancelled:
                    self._end_cancelled()
                else:
                    self.phase = "render"
                return
            insert_group(self.scene, self.plate, self.job)
            self.state = "done"
            self.message = (f"FTP-VM: matted {self.total} frames of shot {self.job.shot_id!r} into "
                            f"{self.job.folder}")
        elif worker.stage == "cancelled" or (self._cancelled and worker.stage == "done"):
            self._end_cancelled()
        else:
            self.state = "failed"
            error = worker.error or RuntimeError(f"the server returned {self.written} of {self.total} frames")
            self.message = f"FTP-VM: {error}"

    def _end_cancelled(self) -> None:
        self.state = "cancelled"
        self.message = f"FTP-VM: cancelled after {self.written} of {self.total} frames"

    def _stop_worker(self) -> None:
        """Cancel a live worker and wait (bounded) until it and its threads are gone."""
        worker = self.worker
        if worker is None:
            return
        worker.cancel()
        deadline = time.monotonic() + SETTLE_SECONDS + worker.timeout
        while not worker.quiet and time.monotonic() < deadline:
            worker.join(0.05)
        self.worker = None

    def close(self) -> None:
        """Stop a live worker, then free the hidden render scene (idempotent)."""
        self._stop_worker()
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None
