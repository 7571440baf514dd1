"""The Resolve adapter: every call into DaVinci Resolve's scripting API lives here, and nothing else does.

It reads the clip under the playhead, renders a frame range to an EXR sequence, imports the
results into the ``FTPVM`` bin and, on request, places them on a track above the clip or in a
Fusion comp. Decisions (paths, ranges, codec, tracks) come from :mod:`.plan`.
"""
from __future__ import annotations

import importlib
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, cast

if TYPE_CHECKING:  # the documented API's types (fusionscript-stubs); the static check in CI reads them
    from fusionscript import MediaPoolItem, Project, Resolve, Timeline, TimelineItem

from . import locations, plan as planning, sequences
from .errors import HostError, JobCancelled, ResolveNotRunning

COLOUR_KEYS = ("colorScienceMode", "colorSpaceInput", "colorSpaceTimeline", "colorSpaceTimelineGamma",
               "colorSpaceOutput", "colorSpaceOutputGamma", "colorAcesIDT", "colorAcesODT")

NOT_RUNNING = ("No DaVinci Resolve answered this script from outside Resolve (scriptapp('Resolve') gave None): "
               "either DaVinci Resolve is not running, or it is the free DaVinci Resolve, which answers no external "
               "scripts. Running FTPVM Matte from a terminal needs DaVinci Resolve Studio, running, with Preferences > "
               "System > General > External scripting using set to 'Local'; on the free Resolve run FTPVM Matte from "
               "Workspace > Scripts inside Resolve.")


def load_scripting_module(env: Optional[Dict[str, str]] = None) -> Any:
    """``DaVinciResolveScript``, found the documented way (RESOLVE_SCRIPT_API/Modules on sys.path)."""
    try:
        return importlib.import_module("DaVinciResolveScript")
    except ImportError:
        pass
    for folder in locations.module_search_paths(env):
        if os.path.isdir(folder) and folder not in sys.path:
            sys.path.append(folder)
    try:
        return importlib.import_module("DaVinciResolveScript")
    except ImportError:
        raise ResolveNotRunning(
            "Cannot find Resolve's scripting module DaVinciResolveScript. Set RESOLVE_SCRIPT_API to Resolve's "
            "Developer/Scripting folder and RESOLVE_SCRIPT_LIB to its fusionscript library (see docs/resolve.md), "
            "or run FTPVM Matte from Workspace > Scripts inside Resolve.") from None


def connect(resolve: Optional["Resolve"] = None) -> "ResolveHost":
    """The adapter for ``resolve`` (the global Resolve gives its scripts), else the running Resolve."""
    if resolve is None:
        resolve = load_scripting_module().scriptapp("Resolve")
    if resolve is None:
        raise ResolveNotRunning(NOT_RUNNING)
    return ResolveHost(resolve)


class ResolveHost:
    """One running Resolve: its current project, timeline and clip."""

    poll_seconds = 0.25

    def __init__(self, resolve: "Resolve"):
        self.resolve = resolve

    # -- reading -------------------------------------------------------------------------
    def major_version(self) -> int:
        """Resolve's major version (``GetVersion()``: [major, minor, patch, build, suffix]); 0 when unknown."""
        try:
            return int((self.resolve.GetVersion() or [0])[0])
        except (AttributeError, TypeError, ValueError, IndexError):
            try:
                return int(str(self.resolve.GetVersionString()).split(".")[0])
            except (AttributeError, ValueError):
                return 0

    def is_studio(self) -> bool:
        """Whether this is DaVinci Resolve Studio (``GetProductName()``)."""
        try:
            return "studio" in str(self.resolve.GetProductName()).lower()
        except AttributeError:
            return False

    def product(self) -> str:
        """Product and version, e.g. "DaVinci Resolve 19.1.0.0" (for messages)."""
        try:
            return f"{self.resolve.GetProductName()} {self.resolve.GetVersionString()}".strip()
        except AttributeError:
            return "This Resolve"

    def project(self) -> "Project":
        project = self.resolve.GetProjectManager().GetCurrentProject()
        if not project:
            raise HostError("No project is open in Resolve; open one and run FTPVM Matte again.")
        return project

    def timeline(self) -> "Timeline":
        timeline = self.project().GetCurrentTimeline()
        if not timeline:
            raise HostError("No timeline is open; open the timeline with the clip to matte.")
        return timeline

    def current_clip(self) -> "TimelineItem":
        """The video clip under the playhead."""
        item = self.timeline().GetCurrentVideoItem()
        if not item:
            raise HostError("No video clip under the playhead: move the playhead onto the clip to matte "
                            "(the top-most clip there is used).")
        return item

    def track_of(self, item: "TimelineItem") -> int:
        timeline = self.timeline()
        if hasattr(item, "GetTrackTypeAndIndex"):
            found = item.GetTrackTypeAndIndex()
            if found and found[0] == "video":
                return int(found[1])
        uid = item.GetUniqueId()
        for index in range(1, int(timeline.GetTrackCount("video")) + 1):
            if any(i.GetUniqueId() == uid for i in timeline.GetItemListInTrack("video", index) or []):
                return index
        raise HostError(f"Cannot find the clip {item.GetName()!r} on a video track of the timeline.")

    def clip_facts(self, item: "TimelineItem") -> planning.ClipFacts:
        """Everything the planner needs about ``item``."""
        project, timeline = self.project(), self.timeline()
        media_item = item.GetMediaPoolItem()
        file_path = (media_item.GetClipProperty("File Path") or "") if media_item else ""
        colours = {k: str(project.GetSetting(k) or "") for k in COLOUR_KEYS}
        if media_item:
            colours["clipInputColorSpace"] = str(media_item.GetClipProperty("Input Color Space") or "")

        def resolution(key: str) -> int:
            value = timeline.GetSetting(key) or project.GetSetting(key)
            try:
                return int(value)
            except (TypeError, ValueError):
                raise HostError(f"Resolve did not report the timeline's {key}; check the timeline settings.") from None

        return planning.ClipFacts(
            media_id=str(media_item.GetUniqueId()) if media_item else "",
            name=item.GetName(), unique_id=str(item.GetUniqueId()), project=project.GetName(),
            timeline=timeline.GetName(), start=int(item.GetStart(False)), duration=int(item.GetDuration(False)),
            track=self.track_of(item), width=resolution("timelineResolutionWidth"),
            height=resolution("timelineResolutionHeight"), file_path=str(file_path),
            left_offset=int(item.GetLeftOffset(False) or 0), colour_settings=colours)

    def find_media_pool_clip(self, name: str) -> "MediaPoolItem":
        """The media-pool clip called ``name`` (searched in every bin)."""
        pool = self.project().GetMediaPool()
        folders = [pool.GetRootFolder()]
        while folders:
            folder = folders.pop(0)
            for clip in folder.GetClipList() or []:
                if clip.GetName() == name:
                    return clip
            folders.extend(folder.GetSubFolderList() or [])
        raise HostError(f"No media-pool clip named {name!r}; check the keyframe line 'FRAME mediapool:NAME'.")

    def media_pool_clip_file(self, name: str, offset: int) -> str:
        """The file of a matte clip from the media pool, ``offset`` frames from its first frame."""
        clip = self.find_media_pool_clip(name)
        path = str(clip.GetClipProperty("File Path") or "")
        seq = sequences.parse(path)
        if seq is None:
            if not os.path.isfile(path):
                raise HostError(f"Media-pool clip {name!r} has no readable file ({path or 'none'}).")
            return path
        frame = seq.first + offset
        if not seq.first <= frame <= seq.last:
            raise HostError(f"Media-pool clip {name!r} has {seq.count} frame(s); it has no frame for this keyframe.")
        return seq.path(frame)

    # -- rendering -----------------------------------------------------------------------
    def render_plate(self, job: planning.JobPlan, cancel: Optional[threading.Event] = None,
                     progress: Optional[Callable[[float], Any]] = None) -> sequences.Sequence:
        """Render the job's range (the clip alone: tracks above are muted meanwhile) to EXRs in ``plate_dir``."""
        enabled = self._tracks_enabled()
        mute = {i: False for i in planning.tracks_to_mute(enabled, job.track)}
        self._render(job, job.first, job.last, job.plate_dir, "plate", mute, cancel, progress, "the plate")
        try:
            seq = sequences.scan(job.plate_dir, ".exr")
        except ValueError as exc:
            raise HostError(f"The rendered plate is incomplete: {exc}") from None
        if seq is None or seq.count != len(job.frames):
            got = 0 if seq is None else seq.count
            raise HostError(f"Resolve rendered {got} frame(s) into {job.plate_dir}, expected {len(job.frames)}.")
        return seq

    def render_track_frame(self, job: planning.JobPlan, track: int, frame: int, target_dir: str,
                           cancel: Optional[threading.Event] = None) -> str:
        """Render timeline ``frame`` of video track ``track`` alone (a matte clip there, e.g. a rendered Magic Mask,
        lined up with the plate) to one EXR in ``target_dir``; its path."""
        timeline = self.timeline()
        if track == job.track:
            raise HostError(f"Keyframe {frame}: 'track:{track}' is the plate's own track; put the matte clip on "
                            f"another video track and name that one.")
        if track > int(timeline.GetTrackCount("video")):
            raise HostError(f"Keyframe {frame}: the timeline has no video track {track} ('track:{track}').")
        if not any(int(i.GetStart(False)) <= frame < int(i.GetStart(False)) + int(i.GetDuration(False))
                   for i in timeline.GetItemListInTrack("video", track) or []):
            raise HostError(f"Keyframe {frame}: video track {track} has no clip at frame {frame}. Put the matte clip "
                            f"(e.g. the rendered Magic Mask) on V{track}, lined up with the plate.")
        solo = planning.solo_track(self._tracks_enabled(), track)
        self._render(job, frame, frame, target_dir, f"guide_{frame}_V{track}", solo, cancel, None,
                     f"the matte on V{track} at frame {frame}")
        found = sorted(n for n in os.listdir(target_dir) if n.lower().endswith(".exr"))
        if len(found) != 1:
            raise HostError(f"Resolve rendered {len(found)} file(s) for the matte on V{track} at frame {frame} "
                            f"into {target_dir}, expected one.")
        return os.path.join(target_dir, found[0])

    def _tracks_enabled(self) -> Dict[int, bool]:
        timeline = self.timeline()
        count = int(timeline.GetTrackCount("video"))
        return {i: bool(timeline.GetIsTrackEnabled("video", i)) for i in range(1, count + 1)}

    def _render(self, job: planning.JobPlan, first: int, last: int, target_dir: str, name: str,
                enable: Dict[int, bool], cancel: Optional[threading.Event],
                progress: Optional[Callable[[float], Any]], what: str) -> None:
        """One EXR render job of timeline frames ``first..last`` with the video tracks in ``enable`` switched
        meanwhile; the render format, codec, mode and tracks are restored and the job deleted afterwards."""
        project, timeline = self.project(), self.timeline()
        self._check_exr_render(project)
        before = project.GetCurrentRenderFormatAndCodec() or {}
        before_mode = project.GetCurrentRenderMode()
        job_id = None
        os.makedirs(target_dir, exist_ok=True)
        try:
            for index, on in enable.items():
                timeline.SetTrackEnable("video", index, on)
            codec = planning.choose_exr_codec(dict(project.GetRenderCodecs("exr") or {}))
            if not project.SetCurrentRenderFormatAndCodec("exr", codec):
                raise HostError(f"Resolve refused the EXR render format (codec {codec!r}); check the Deliver page.")
            project.SetCurrentRenderMode(1)
            settings = planning.render_settings(job, first, last, target_dir, name)
            if not project.SetRenderSettings(cast(Any, settings)):  # a RenderSettings dict
                raise HostError("Resolve refused the render settings (range, folder, size); check the Deliver page.")
            job_id = project.AddRenderJob()
            if not job_id:
                raise HostError("Resolve did not add the render job; open the Deliver page once and run again.")
            if not project.StartRendering([job_id], False):
                raise HostError("Resolve did not start rendering; is another render running?")
            self._wait_for_render(project, job_id, cancel, progress)
            status = project.GetRenderJobStatus(job_id) or {}
            if str(status.get("JobStatus") or "").lower() != "complete":
                detail = status.get("Error") or status.get("JobStatus") or "no status"
                raise HostError(f"Resolve's render of {what} failed ({detail}). Check the render queue on the "
                                f"Deliver page and free space in {target_dir}, then run again.")
        finally:
            if job_id:
                project.DeleteRenderJob(job_id)
            for index, on in enable.items():
                timeline.SetTrackEnable("video", index, not on)
            if before.get("format") and before.get("codec"):
                project.SetCurrentRenderFormatAndCodec(before["format"], before["codec"])
            if before_mode is not None:
                project.SetCurrentRenderMode(before_mode)

    def _check_exr_render(self, project: "Project") -> None:
        """HostError naming the product when this Resolve lists no OpenEXR render format (GetRenderFormats())."""
        formats = dict(project.GetRenderFormats() or {})
        if "exr" not in {str(v).lower() for v in formats.values()}:
            raise HostError(f"{self.product()} lists no OpenEXR render format (Project.GetRenderFormats(): "
                            f"{', '.join(sorted(formats)) or 'none'}), and FTPVM Matte renders plates and 'track:' "
                            f"mattes as EXR. Use a clip that is an EXR sequence with Frames from 'Clip's own EXRs' "
                            f"and file or 'mediapool:' keyframes, or a Resolve that renders OpenEXR.")

    def _wait_for_render(self, project: Any, job_id: str, cancel: Optional[threading.Event],
                         progress: Optional[Callable[[float], Any]]) -> None:
        while project.IsRenderingInProgress():
            if cancel is not None and cancel.is_set():
                project.StopRendering()
                while project.IsRenderingInProgress():
                    time.sleep(self.poll_seconds)
                raise JobCancelled("Cancelled while Resolve rendered the plate; nothing was imported.")
            if progress is not None:
                status = project.GetRenderJobStatus(job_id) or {}
                progress(float(status.get("CompletionPercentage") or 0) / 100.0)
            time.sleep(self.poll_seconds)

    # -- guides drawn in Resolve ---------------------------------------------------------
    def fusion_masks(self, item: "TimelineItem") -> List[Tuple[Any, Any]]:
        """(comp, tool) for each mask tool in the clip's Fusion comps (README: GetFusionCompCount /
        GetFusionCompByIndex; Fusion: Composition.GetToolList, the tool's TOOLS_RegID and TOOLS_Name)."""
        found: List[Tuple[Any, Any]] = []
        for index in range(1, int(item.GetFusionCompCount() or 0) + 1):
            comp: Any = item.GetFusionCompByIndex(index)  # Any: the stubs' FusionComp lists no Composition methods
            for tool in (comp.GetToolList(False) or {}).values() if comp else ():
                if planning.is_mask_tool(str(tool.GetAttrs("TOOLS_RegID") or "")):
                    found.append((comp, tool))
        return found

    def render_fusion_mask(self, item: "TimelineItem", name: str, frame: int, clip_start: int,
                           target_dir: str) -> str:
        """Render the clip's Fusion mask tool ``name`` ("" = its only one) at timeline ``frame`` into one linear EXR
        in ``target_dir`` through a temporary Saver, and remove the Saver again; the file's path."""
        masks = self.fusion_masks(item)
        names = [str(tool.GetAttrs("TOOLS_Name")) for _, tool in masks]
        where = f"Keyframe {frame}: the clip {item.GetName()!r}"
        if not masks:
            raise HostError(f"{where} has no mask tool in a Fusion comp. Draw a Polygon or B-Spline mask on the "
                            f"Fusion page (the clip's comp), or give the keyframe a matte file.")
        chosen = [m for m, n in zip(masks, names) if n == name] if name else masks
        if not chosen:
            raise HostError(f"{where} has no Fusion mask tool named {name!r}; its masks: {', '.join(names)}.")
        if len(chosen) > 1:
            raise HostError(f"{where} has {len(chosen)} Fusion mask tools ({', '.join(names)}); name one in the "
                            f"keyframe line, e.g. 'fusion:{names[0]}'.")
        comp, tool = chosen[0]
        label = str(tool.GetAttrs("TOOLS_Name"))
        if str(tool.GetAttrs("TOOLS_RegID")) in planning.STUDIO_ONLY_MASKS and not self.is_studio():
            raise HostError(f"{where}: {label} is a Fusion Magic Mask, which needs DaVinci Resolve Studio (this is "
                            f"{self.product()}). Draw a Polygon or B-Spline mask instead, or render the Magic Mask on "
                            f"Studio and give it as 'track:N' or 'mediapool:CLIP'.")
        time = planning.comp_time(int((comp.GetAttrs() or {}).get("COMPN_RenderStart") or 0), frame, clip_start)
        os.makedirs(target_dir, exist_ok=True)
        others = [t for t in (comp.GetToolList(False, "Saver") or {}).values() if not t.GetAttrs("TOOLB_PassThrough")]
        saver, rendered = None, False
        try:
            comp.Lock()  # no file dialogs while the Saver is set up
            try:
                saver = comp.AddTool("Saver", -32768, -32768)
                if saver:
                    saver.SetAttrs({"TOOLS_Name": "FTPVM_Guide"})
                    saver.SetInput("Clip", os.path.join(target_dir, f"guide_{frame}.exr"))
                    saver.SetInput("OutputFormat", "OpenEXRFormat")
                    saver.ConnectInput("Input", tool)
                    for other in others:  # only our Saver writes (TOOLB_PassThrough, Fusion 8 Scripting Guide)
                        other.SetAttrs({"TOOLB_PassThrough": True})
            finally:
                comp.Unlock()
            if not saver:
                raise HostError("Fusion did not add a Saver tool to render the mask; render it by hand instead.")
            rendered = bool(comp.Render({"Start": time, "End": time, "Wait": True}))
        finally:
            for other in others:
                other.SetAttrs({"TOOLB_PassThrough": False})
            if saver:
                saver.Delete()
        files = sorted(n for n in os.listdir(target_dir) if n.lower().endswith(".exr"))
        if not rendered or len(files) != 1:
            raise HostError(f"{where}: Fusion did not render the mask {label} at comp frame {time} into {target_dir} "
                            f"(Composition.Render gave {rendered}, {len(files)} file(s)). Check the mask on the Fusion "
                            f"page, or give the keyframe a matte file.")
        return os.path.join(target_dir, files[0])

    # -- results back --------------------------------------------------------------------
    def results_bin(self) -> Any:
        """The ``FTPVM`` bin under the media pool's root (made when missing)."""
        pool = self.project().GetMediaPool()
        root = pool.GetRootFolder()
        for folder in root.GetSubFolderList() or []:
            if folder.GetName() == planning.BIN_NAME:
                return folder
        folder = pool.AddSubFolder(root, planning.BIN_NAME)
        if not folder:
            raise HostError(f"Cannot make the {planning.BIN_NAME!r} bin in the media pool.")
        return folder

    def import_results(self, job: planning.JobPlan) -> Dict[str, Any]:
        """Import each result sequence into the FTPVM bin; pass name -> media-pool item."""
        pool = self.project().GetMediaPool()
        target = self.results_bin()
        previous = pool.GetCurrentFolder()
        items: Dict[str, Any] = {}
        pool.SetCurrentFolder(target)
        try:
            for name in job.passes:
                # the README's ImportMedia([{clipInfo}]) form, which the stubs leave out
                imported = pool.ImportMedia(cast(Any, [planning.import_clip_info(job, name)])) or []
                if len(imported) != 1:
                    raise HostError(f"Resolve did not import the {name} sequence {job.outputs[name]}; the files "
                                    f"are in {job.work_dir}, import them by hand.")
                items[name] = imported[0]
        finally:
            if previous:
                pool.SetCurrentFolder(previous)
        return items

    def place_on_tracks(self, job: planning.JobPlan, items: Dict[str, Any]) -> Dict[str, int]:
        """Put each result on a free video track above the clip, on the clip's frames; pass -> track."""
        timeline = self.timeline()
        pool = self.project().GetMediaPool()
        placed: Dict[str, int] = {}
        major = self.major_version()
        for name in job.passes:
            track = self._free_track_above(timeline, job, exclude=set(placed.values()))
            info = planning.append_clip_info(items[name], len(job.frames), track, job.first, major)
            if not pool.AppendToTimeline(cast(Any, [info])):  # the [{clipInfo}] form (a MediaPoolClipInfo)
                raise HostError(f"Resolve did not place the {name} clip on video track {track}; it is in the "
                                f"{planning.BIN_NAME} bin.")
            placed[name] = track
        return placed

    @staticmethod
    def _free_track_above(timeline: "Timeline", job: planning.JobPlan, exclude: set) -> int:
        count = int(timeline.GetTrackCount("video"))
        for index in range(job.track + 1, count + 1):
            if index in exclude:
                continue
            busy = any(i.GetStart(False) <= job.last and i.GetStart(False) + i.GetDuration(False) - 1 >= job.first
                       for i in timeline.GetItemListInTrack("video", index) or [])
            if not busy:
                return index
        if not cast(Any, timeline).AddTrack("video"):  # the README's subTrackType is optional; the stubs require it
            raise HostError("Cannot add a video track for the results; they are in the FTPVM bin.")
        return count + 1

    def add_fusion_comp(self, job: planning.JobPlan, item: "TimelineItem", clip_start: int) -> Any:
        """A new Fusion comp on ``item`` that shows the matted clip: one Loader per result, lined up with the
        plate, and the clip (MediaIn1) given the alpha Loader's matte by a MatteControl feeding MediaOut1."""
        # Any: fusionscript-stubs' FusionComp lists none of Fusion's Composition methods (AddTool, Lock, GetAttrs)
        comp: Any = item.AddFusionComp()
        if not comp:
            raise HostError("Resolve did not add a Fusion comp to the clip; the results are in the FTPVM bin.")
        start = int((comp.GetAttrs() or {}).get("COMPN_RenderStart") or 0)
        global_in = planning.loader_global_in(start, job, clip_start)
        comp.Lock()
        try:
            loaders = {}
            for name in job.passes:
                loader = comp.AddTool("Loader", -32768, -32768)
                if not loader:
                    raise HostError("Fusion did not add a Loader tool.")
                loader.SetAttrs({"TOOLS_Name": f"FTPVM_{name}"})
                loader.SetInput("Clip", job.output_path(name, job.first))
                loader.SetInput("GlobalIn", global_in)
                loader.SetInput("GlobalOut", global_in + len(job.frames) - 1)
                loaders[name] = loader
            if "alpha" in loaders:
                self._wire_matte(comp, loaders["alpha"])
        finally:
            comp.Unlock()
        return comp

    @staticmethod
    def _wire_matte(comp: Any, alpha: Any) -> None:
        """MediaIn1 -> MatteControl (its matte from ``alpha``) -> MediaOut1, so the comp shows the matted clip.

        MatteControl's inputs (ids as Fusion saves them): ``Background`` (the image whose alpha is set),
        ``Foreground`` (the matte), ``MatteCombine`` and ``CombineOp``. A menu input's value is the item's index
        from 0. The DaVinci Resolve manual's Matte Control chapter ("Matte Nodes", Matte tab) lists Combine as None,
        Combine Red, Combine Green, Combine Blue, Combine Alpha, Solid, Clear, so 4 = Combine Alpha (the alpha files
        hold one channel, ``A``), and Combine Operation as Copy, Add, Subtract, Inverse Subtract, ..., so 0 = Copy
        (the matte replaces the clip's alpha). A public Fusion script writes the same ids and this numbering:
        KartaVR's "PTGui Project Importer" (Andrew Hazelden, Reactor atom com.AndrewHazelden.KartaVR.Scripts.Stitching)
        saves a MatteControl with ``MatteCombine = Input { Value = 4 }`` (Combine Alpha of two mask tools wired to
        ``Background`` and ``Foreground``) and ``CombineOp = Input { Value = 5 }``.
        """
        media_in, media_out = comp.FindTool("MediaIn1"), comp.FindTool("MediaOut1")
        if not media_in or not media_out:
            raise HostError("The clip's Fusion comp has no MediaIn1/MediaOut1; the Loaders are there, wire them "
                            "by hand.")
        matte = comp.AddTool("MatteControl", -32768, -32768)
        if not matte:
            raise HostError("Fusion did not add a MatteControl tool; the Loaders are in the comp, wire them by hand.")
        matte.SetAttrs({"TOOLS_Name": "FTPVM_Matte"})
        matte.ConnectInput("Background", media_in)
        matte.ConnectInput("Foreground", alpha)
        matte.SetInput("MatteCombine", 4)
        matte.SetInput("CombineOp", 0)
        media_out.ConnectInput("Input", matte)


__all__: List[str] = ["ResolveHost", "connect", "load_scripting_module", "NOT_RUNNING"]
