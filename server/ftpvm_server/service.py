"""The Matting service: each RPC validated, turned into engine calls, and answered.

Validation happens here (``limits``, ``paths``, ``payloads``); compute goes through the one
``Scheduler``; state lives in the engine's store. Any failure becomes a gRPC status with a
message that says what to fix (``errors.status_of``); inside a Matte stream, a failure of one
frame becomes that frame's status and the stream goes on.
"""
from __future__ import annotations

import functools
import json
import logging
import threading
from typing import Any, Callable, Dict, Iterator, Optional

import grpc

from ftpvm_wire.protocol import pb, pb_grpc

from .counters import Counters
from .errors import abort
from .limits import Limits, WireError, invalid
from .paths import PathGuard
from .payloads import ChunkReader, Peekable, keyframe_guides, receive_image
from .scheduler import Scheduler
from .shm import ShmHost
from .stream import MatteStream, deadline_of

log = logging.getLogger("ftpvm_server.service")


def _unary(method: Callable) -> Callable:
    """Wrap a unary handler: any exception becomes the right status."""
    def handler(self: "MattingService", request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except Exception as exc:  # noqa: BLE001 - mapped to a status, logged when unexpected
            abort(context, exc)
    handler.__name__ = method.__name__
    handler.__doc__ = method.__doc__
    return handler


class MattingService(pb_grpc.MattingServicer):
    """RPC -> engine."""

    def __init__(self, engine: Any, scheduler: Scheduler, limits: Limits, guard: PathGuard, info: pb.ServerInfo,
                 default_settings: Optional[Dict[str, Any]] = None, temp_dir: Optional[str] = None,
                 shm: bool = True):
        self.engine = engine
        self.temp_dir = temp_dir
        self.default_settings = dict(default_settings or {})
        self.scheduler = scheduler
        self.limits = limits
        self.guard = guard
        self.info = info
        self.shm = ShmHost(enabled=shm)
        self.info.shm.CopyFrom(self.shm.support())
        self.counters = Counters()
        self._open_lock = threading.Lock()

    # -- info and shots ------------------------------------------------------------------
    @_unary
    def GetInfo(self, request: pb.GetInfoRequest, context: grpc.ServicerContext) -> pb.ServerInfo:
        return self.info

    def _shot_message(self, shot: Any) -> pb.Shot:
        return pb.Shot(shot_id=shot.id, width=shot.width, height=shot.height, colorspace=shot.colorspace,
                       settings_json=_json(shot.settings.to_dict()),
                       keyframes=[k.frame for k in shot.keyframes()], cached_frames=shot.cached_frames(),
                       counters=self.counters.to_proto(shot.id))

    @_unary
    def OpenShot(self, request: pb.OpenShotRequest, context: grpc.ServicerContext) -> pb.Shot:
        shot_id = self.limits.shot_id(request.shot_id)
        width, height = self.limits.size(request.width, request.height)
        colorspace = self.limits.colorspace(request.colorspace)
        settings = self.limits.settings(request.settings_json)
        with self._open_lock:  # the max-shots check and the creation are one step
            existing = self.engine.list_shots()
            if shot_id not in existing and len(existing) >= self.limits.max_shots:
                raise WireError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                f"the server holds {len(existing)} shots, its --max-shots; delete shots you no "
                                f"longer need (client.delete_shot) or restart it with a higher --max-shots")
            if settings is None and shot_id in existing and not request.reset:
                settings = self.engine.get_shot(shot_id).settings.to_dict()  # keep what the shot has
            else:
                settings = {**self.default_settings, **(settings or {})}
            shot = self.engine.open_shot(shot_id, width, height, colorspace, settings=settings, reset=request.reset)
        if request.reset:
            self.counters.forget(shot_id)
        return self._shot_message(shot)

    def get_shot(self, shot_id: str) -> Any:
        """The engine shot for a wire shot id (validated first)."""
        return self.engine.get_shot(self.limits.shot_id(shot_id))

    @_unary
    def GetShot(self, request: pb.ShotRef, context: grpc.ServicerContext) -> pb.Shot:
        return self._shot_message(self.get_shot(request.shot_id))

    @_unary
    def ListShots(self, request: pb.ListShotsRequest, context: grpc.ServicerContext) -> pb.ListShotsResponse:
        from ftpvm_core.errors import ShotNotFound, StateError

        shots = []
        for shot_id in self.engine.list_shots():  # every shot --max-shots counts is listed, damaged or not
            try:
                shots.append(self._shot_message(self.engine.get_shot(shot_id)))
            except ShotNotFound:
                continue  # deleted while we listed
            except StateError as exc:
                shots.append(pb.Shot(shot_id=shot_id, damaged=str(exc)))
            except Exception as exc:  # noqa: BLE001 - one unreadable shot must not hide the others
                log.warning("shot %s could not be listed: %s", shot_id, exc)
                shots.append(pb.Shot(shot_id=shot_id, damaged="the server could not read this shot (see its log); "
                                                              "delete it (DeleteShot) and open it again"))
        return pb.ListShotsResponse(shots=shots)

    @_unary
    def DeleteShot(self, request: pb.ShotRef, context: grpc.ServicerContext) -> pb.DeleteShotResponse:
        from ftpvm_core.errors import ShotNotFound

        shot_id = self.limits.shot_id(request.shot_id)
        try:
            self.engine.delete_shot(shot_id)
        except ShotNotFound:
            return pb.DeleteShotResponse(deleted=False)
        self.counters.forget(shot_id)
        log.info("shot deleted shot=%s", shot_id)
        return pb.DeleteShotResponse(deleted=True)

    @_unary
    def ResetCache(self, request: pb.ShotRef, context: grpc.ServicerContext) -> pb.Shot:
        shot = self.get_shot(request.shot_id)
        shot.reset_cache()
        return self._shot_message(shot)

    # -- keyframes -----------------------------------------------------------------------
    @_unary
    def SetKeyframe(self, request_iterator: Iterator[pb.SetKeyframeRequest],
                    context: grpc.ServicerContext) -> pb.Keyframe:
        requests = Peekable(request_iterator)
        first = requests.next()
        if first is None or first.WhichOneof("kind") != "start":
            raise invalid("SetKeyframe must begin with a `start` message (shot, frame, image and trimap or "
                          "outer roto matte)")
        start = first.start
        shot = self.get_shot(start.shot_id)
        frame = self.limits.frame(start.frame)
        guides = keyframe_guides(start)
        band = self.limits.band(start.band)
        size = (shot.width, shot.height)
        raw = start.image.encoding not in (pb.ENCODING_EXR, pb.ENCODING_PATH)
        self.limits.image_header(start.image, "keyframe image", shot=size, channels=3 if raw else None)
        for name, header in guides:
            raw = header.encoding not in (pb.ENCODING_EXR, pb.ENCODING_PATH)
            self.limits.image_header(header, f"keyframe {name}", shot=size,
                                     channels=1 if name == "trimap" and raw else None)
        reader = ChunkReader(requests)
        receive = functools.partial(receive_image, reader, size=size, guard=self.guard, limits=self.limits,
                                    budget=self.scheduler.decode_budget, temp_dir=self.temp_dir)
        image, bad = receive(start.image, "keyframe image", channels=3)
        planes: Dict[str, Any] = {}
        for name, header in guides:
            plane, bad_plane = receive(header, f"keyframe {name}", channels=1 if name == "trimap" else None)
            planes[name] = plane.max(axis=2)  # a trimap has one channel; several roto mattes are united
            bad += bad_plane
        reader.finish("keyframe")
        info = self.scheduler.run(f"keyframe:{shot.id}",
                                  lambda cancel: shot.set_keyframe(frame, image, band=band or None, **planes),
                                  deadline=deadline_of(context), is_active=context.is_active)
        log.info("keyframe set shot=%s frame=%d source=%s nonfinite=%d", shot.id, frame, info.source, bad)
        return pb.Keyframe(frame=frame, source=info.source, band=band if info.source == "mask" else 0)

    @_unary
    def RemoveKeyframe(self, request: pb.RemoveKeyframeRequest, context: grpc.ServicerContext) -> pb.Shot:
        from ftpvm_core.errors import NoKeyframe

        shot = self.get_shot(request.shot_id)
        frame = self.limits.frame(request.frame)
        try:
            shot.remove_keyframe(frame)
        except NoKeyframe as exc:
            raise WireError(grpc.StatusCode.NOT_FOUND, str(exc)) from None
        return self._shot_message(shot)

    @_unary
    def ListKeyframes(self, request: pb.ShotRef, context: grpc.ServicerContext) -> pb.ListKeyframesResponse:
        shot = self.get_shot(request.shot_id)
        return pb.ListKeyframesResponse(keyframes=[pb.Keyframe(frame=k.frame, source=getattr(k, "source", ""))
                                                   for k in shot.keyframes()])

    # -- matte ---------------------------------------------------------------------------
    def Matte(self, request_iterator: Iterator[pb.MatteRequest], context: grpc.ServicerContext
              ) -> Iterator[pb.MatteResponse]:
        requests = Peekable(request_iterator)
        try:
            stream = MatteStream(self, requests, context)
        except Exception as exc:  # noqa: BLE001 - refused before any frame: the whole call fails
            abort(context, exc)
            return
        yield from stream.run()

    # -- shot usage and pruning ------------------------------------------------------------
    @_unary
    def ShotUsage(self, request: pb.ShotUsageRequest, context: grpc.ServicerContext) -> pb.ShotUsageResponse:
        shots = [_usage(s) for s in self.engine.shot_usage()]
        return pb.ShotUsageResponse(shots=shots, total_bytes=sum(s.size_bytes for s in shots))

    @_unary
    def PruneShots(self, request: pb.PruneShotsRequest, context: grpc.ServicerContext) -> pb.PruneShotsResponse:
        older = request.older_than_s if request.HasField("older_than_s") else None
        biggest = request.max_total_bytes if request.HasField("max_total_bytes") else None
        if older is None and biggest is None:
            raise invalid("PruneShots needs older_than_s and/or max_total_bytes; nothing was removed")
        with self._open_lock:  # not while a shot is being created
            removed = self.engine.prune_shots(older, biggest, dry_run=request.dry_run)
        if not request.dry_run:
            for s in removed:
                self.counters.forget(s.id)
            if removed:
                log.info("shots pruned: %s", ", ".join(s.id for s in removed))
        return pb.PruneShotsResponse(removed=[_usage(s) for s in removed], dry_run=request.dry_run,
                                     freed_bytes=sum(s.size_bytes for s in removed))


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _usage(s: Any) -> pb.ShotUsage:
    """An engine ``ShotSummary`` on the wire."""
    return pb.ShotUsage(shot_id=s.id, width=s.width, height=s.height, colorspace=s.colorspace,
                        size_bytes=s.size_bytes, modified_unix=s.modified, keyframes=list(s.keyframes),
                        keyframe_sources=list(s.keyframes.values()))
