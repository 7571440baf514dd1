"""One Process run on Blender's main thread, advanced one small step at a time.

The modal operator calls :meth:`ProcessRunner.step` on every timer tick (and a background run calls it in
a loop): each step writes the results that arrived, renders the next plate for the worker, and at the end
loads the sequences and wires the compositor.
"""
from __future__ import annotations

import os
from typing import Optional

import bpy

from . import properties
from .job import ProcessJob
from .mask_raster import keyframe_inputs
from .plan import Job, PlanError, plan_job
from .render_io import NodeRenderer, write_exr
from .wiring import insert_group


class ProcessRunner:
    """Plan, start and drive one Process run for the scene's FTP-VM settings."""

    def __init__(self, scene: "bpy.types.Scene", clip: Optional["bpy.types.MovieClip"] = None):
        props = scene.ftpvm
        self.scene = scene
        self.clip = clip or properties.current_clip(scene)
        if self.clip is None:
            raise PlanError("pick a movie clip (the plate) in the FTP-VM panel")
        width, height = self.clip.size
        limit = (scene.frame_start, scene.frame_end) if props.use_scene_range else None
        self.job: Job = plan_job(
            shot_id=properties.shot_id(scene), width=width, height=height,
            colorspace=properties.input_colorspace(scene), clip_start=self.clip.frame_start,
            clip_duration=self.clip.frame_duration, keyframes=[k.frame for k in props.keyframes],
            quality=props.quality, want_foreground=props.output_foreground, blend_path=bpy.data.filepath,
            chosen_folder=bpy.path.abspath(props.output_dir) if props.output_dir else "", limit=limit,
            band=props.band)
        self.renderer = NodeRenderer(width, height)
        try:
            keys = keyframe_inputs(self.renderer, self.clip, self.job.keyframes, props.trimap_source,
                                   mask=props.mask, trimap_image=props.trimap_image)
            os.makedirs(self.job.folder, exist_ok=True)
        except BaseException:
            self.renderer.close()
            raise
        self.worker = ProcessJob(props.server, self.job, keys, config=properties.ocio_config())
        self.fed = 0             # plates handed to the worker (index of the next one in job.frames)
        self.written = 0
        self.state = "running"  # running -> done | failed | cancelled
        self.message = ""
        self.worker.start()

    @property
    def total(self) -> int:
        return len(self.job.frames)

    @property
    def fraction(self) -> float:
        return self.written / self.total if self.total else 1.0

    def cancel(self) -> None:
        """Esc: stop the server's work; the next steps wind the run down."""
        self.worker.cancel()

    def step(self) -> bool:
        """Advance a little; True once the run has finished (see ``state`` and ``message``)."""
        if self.state != "running":
            return True
        try:
            self._write(self.worker.results())
            if self.fed < self.total and self.worker.wants_frames:
                frame = self.job.frames[self.fed]
                self.worker.feed(frame, self.renderer.clip_frame(self.clip, frame))
                self.fed += 1
                if self.fed == self.total:
                    self.worker.end_of_frames()
            if not self.worker.finished:
                return False
            self._write(self.worker.results())
            self._finish()
        except Exception as exc:  # noqa: BLE001 - becomes a report
            self.worker.cancel()
            self.state, self.message = "failed", f"FTP-VM: {exc}"
        if self.state != "running":
            self.close()
        return self.state != "running"

    def _write(self, results) -> None:
        for result in results:
            write_exr(self.job.path("alpha", result.frame), result.alpha)
            if result.foreground is not None:
                write_exr(self.job.path("foreground", result.frame), result.foreground)
            self.written += 1

    def _finish(self) -> None:
        worker = self.worker
        if worker.stage == "done" and self.written == self.total:
            insert_group(self.scene, self.clip, self.job)
            self.state = "done"
            self.message = (f"FTP-VM: matted {self.total} frames of shot {self.job.shot_id!r} into "
                            f"{self.job.folder}")
        elif worker.stage == "cancelled":
            self.state = "cancelled"
            self.message = f"FTP-VM: cancelled after {self.written} of {self.total} frames"
        else:
            self.state = "failed"
            error = worker.error or RuntimeError(f"the server returned {self.written} of {self.total} frames")
            self.message = f"FTP-VM: {error}"

    def close(self) -> None:
        """Free the hidden render scene (idempotent)."""
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None  # type: ignore[assignment]

