"""One FTPVM Matte run, start to end: plan, plate frames, keyframes, matte, import.

It talks to Resolve only through a :class:`~.host.ResolveHost` and to the server only through
``ftpvm_client``, so the tests drive it with a fake Resolve and a real server.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import pixels, plan as planning
from .errors import HostError, JobCancelled
from .settings import KeyframeSpec, Settings

#: progress(stage, fraction or None, message)
ProgressFn = Callable[[str, Optional[float], str], Any]


@dataclass
class JobResult:
    """What a run produced."""

    plan: planning.JobPlan
    written: Dict[str, List[str]] = field(default_factory=dict)   # pass -> files, in frame order
    items: Dict[str, Any] = field(default_factory=dict)           # pass -> media-pool item
    tracks: Dict[str, int] = field(default_factory=dict)          # pass -> video track (placement "track")
    comp: Any = None                                              # the Fusion comp (placement "fusion")

    def summary(self) -> str:
        where = {"bin": f"the {planning.BIN_NAME} bin",
                 "track": "the FTPVM bin and on tracks " + ", ".join(str(t) for t in self.tracks.values()),
                 "fusion": "the FTPVM bin and a new Fusion comp on the clip"}[self.plan.place]
        return (f"Matted frames {self.plan.first}-{self.plan.last} of shot {self.plan.shot_id}: "
                f"{', '.join(self.plan.passes)} imported into {where}. Files: {self.plan.work_dir}")


def _default_client(settings: Settings) -> Any:
    from ftpvm_client import Client

    return Client(settings.server, token=settings.token or None)


class MatteJob:
    """Runs one job; ``cancel`` may be set from another thread (the dialog's Cancel button)."""

    def __init__(self, host: Any, settings: Settings, *, item: Any = None,
                 progress: Optional[ProgressFn] = None, client_factory: Callable[[Settings], Any] = _default_client,
                 cancel: Optional[threading.Event] = None, version: Optional[str] = None):
        self.host, self.settings, self.item = host, settings, item
        self.progress = progress or (lambda stage, fraction, message: None)
        self.client_factory = client_factory
        self.cancel = cancel or threading.Event()
        self.version = version

    def _check_cancel(self, where: str) -> None:
        if self.cancel.is_set():
            raise JobCancelled(f"Cancelled {where}; nothing was imported.")

    def run(self) -> JobResult:
        item = self.item or self.host.current_clip()
        clip = self.host.clip_facts(item)
        self.progress("connect", None, f"Connecting to {self.settings.server}")
        with self.client_factory(self.settings) as client:
            info = client.info()
            server = planning.ServerFacts(info.path_mode, tuple(info.allowed_roots), tuple(info.colorspaces))
            job = planning.make_plan(clip, self.settings, server, version=self.version)
            for template in job.outputs.values():
                os.makedirs(os.path.dirname(template), exist_ok=True)
            plates = self._plates(job)
            self._check_cancel("before matting")
            shot = client.open_shot(job.shot_id, job.width, job.height, colorspace=job.colorspace, reset=True)
            self._set_keyframes(shot, job, clip, item, plates)
            result = JobResult(job)
            result.written = self._matte(shot, job, plates)
        self._check_cancel("before importing")
        self.progress("import", None, "Importing the results into Resolve")
        result.items = self.host.import_results(job)
        if job.place == "track":
            result.tracks = self.host.place_on_tracks(job, result.items)
        elif job.place == "fusion":
            result.comp = self.host.add_fusion_comp(job, item, clip.start)
        self.progress("done", 1.0, result.summary())
        return result

    # -- steps ---------------------------------------------------------------------------
    def _plates(self, job: planning.JobPlan) -> Dict[int, str]:
        """Timeline frame -> plate file: the clip's own EXRs, or a render of the range."""
        if job.source == "media":
            assert job.media is not None
            plates = {f: job.media.path(job.media_frame(f)) for f in job.frames}
            missing = [p for p in plates.values() if not os.path.isfile(p)]
            if missing:
                raise HostError(f"{len(missing)} file(s) of the clip's media are missing, first {missing[0]}; "
                                f"relink the media or choose 'render'.")
            return plates
        self.progress("render", 0.0, "Resolve renders the plate")
        rendered = self.host.render_plate(job, self.cancel, lambda f: self.progress("render", f, "Rendering the plate"))
        return dict(zip(job.frames, (rendered.path(n) for n in rendered.frames())))

    def _plate_source(self, job: planning.JobPlan, path: str) -> Any:
        return path if job.transport == "paths" else pixels.read_rgb(path)

    def _guide_file(self, spec: KeyframeSpec, job: planning.JobPlan, clip: planning.ClipFacts, item: Any) -> str:
        """The file holding the keyframe's guide: the user's file, a media-pool clip's frame, or one Resolve renders
        now (a Fusion mask of the clip, or the matte clip on another track) into the work folder's ``guides``."""
        rendered_into = os.path.join(job.work_dir, "guides", str(spec.frame))
        if spec.fusion_mask is not None:
            return self.host.render_fusion_mask(item, spec.fusion_mask, spec.frame, clip.start, rendered_into)
        track = spec.matte_track
        if track is not None:
            return self.host.render_track_frame(job, track, spec.frame, rendered_into, self.cancel)
        name = spec.media_pool_clip
        if name is None:
            path = os.path.expanduser(spec.source)
            if not os.path.isfile(path):
                raise HostError(f"Keyframe {spec.frame}: the matte {path} does not exist.")
            return path
        return self.host.media_pool_clip_file(name, spec.frame - clip.start + clip.left_offset)

    def _set_keyframes(self, shot: Any, job: planning.JobPlan, clip: planning.ClipFacts, item: Any,
                       plates: Dict[int, str]) -> None:
        for n, spec in enumerate(job.keyframes):
            self._check_cancel("while setting keyframes")
            self.progress("keyframes", n / len(job.keyframes), f"Keyframe {spec.frame}")
            guide = pixels.read_guide(self._guide_file(spec, job, clip, item), spec.kind, (job.height, job.width))
            image = self._plate_source(job, plates[spec.frame])
            if spec.kind == "trimap":
                shot.set_keyframe(spec.frame, image=image, trimap=guide)
            else:
                shot.set_keyframe(spec.frame, image=image, outer=guide, band=job.band)

    def _matte(self, shot: Any, job: planning.JobPlan, plates: Dict[int, str]) -> Dict[str, List[str]]:
        written: Dict[str, List[str]] = {name: [] for name in job.passes}
        frames = _Frames(job, plates, self._plate_source)

        def on_progress(p: Any) -> None:
            self.progress("matte", p.fraction, f"Matting frame {p.frame} ({p.done}/{p.total or '?'})")

        # refetch: the plates the server may ask for again after it lost a recurrent state (exact re-send)
        # results through shared memory may be views of the client's slot: each is written before the next is taken
        kwargs: Dict[str, Any] = {"progress": on_progress, "cancel": self.cancel, "refetch": frames.get,
                                  "result_views": True}
        if job.transport == "paths":
            kwargs.update(outputs=dict(job.outputs), result_dtype="none")
        try:
            for r in shot.matte(frames, passes=job.passes, **kwargs):
                for name in job.passes:
                    if job.transport == "paths":
                        path = r.written.get(name) or job.output_path(name, r.frame)
                    else:
                        path = pixels.write_exr(job.output_path(name, r.frame), getattr(r, name))
                    written[name].append(path)
        except Exception as exc:  # the client's Cancelled, or a real error
            if self.cancel.is_set():
                raise JobCancelled("Cancelled while matting; nothing was imported (partial files stay in "
                                   f"{job.work_dir}).") from None
            raise exc
        for name, paths in written.items():
            absent = [p for p in paths if not os.path.isfile(p)]
            if len(paths) != len(job.frames) or absent:
                raise HostError(f"The server returned {len(paths)} of {len(job.frames)} {name} frames"
                                + (f"; {absent[0]} is missing" if absent else "") + ". Check the server's log.")
        return written


class _Frames:
    """The (frame, plate) pairs the client streams, read lazily; ``len`` lets the server show progress."""

    def __init__(self, job: planning.JobPlan, plates: Dict[int, str], source: Callable[[planning.JobPlan, str], Any]):
        self.job, self.plates, self.source = job, plates, source

    def __len__(self) -> int:
        return len(self.job.frames)

    def __iter__(self) -> Any:
        return ((f, self.source(self.job, self.plates[f])) for f in self.job.frames)

    def get(self, frame: int) -> Any:
        """The plate of ``frame`` read again (None when this job has no plate for it)."""
        return self.source(self.job, self.plates[frame]) if frame in self.plates else None


__all__: Tuple[str, ...] = ("MatteJob", "JobResult")
