"""Fake Resolve objects modelled on the documented scripting API (signatures from fusionscript-stubs).

What is modelled: the current project and timeline; clips with frame ranges on video tracks
(start, duration, left offset) backed by real EXR sequences; track enable/lock; project colour
settings; render settings, EXR codecs, render jobs that really write EXR frames of the timeline
composite on a background thread (with failure, stop and progress); media-pool bins, ImportMedia
(fails for files that do not exist), AppendToTimeline; Fusion comps with tools and inputs.
Like Resolve, calls report failure by returning False/None/empty rather than raising.
"""
from __future__ import annotations

import itertools
import os
import threading
import time
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import OpenImageIO as oiio

from ftpvm_wire.sequences import Sequence, is_sequence

_ids = itertools.count(1)


def _uid(prefix: str) -> str:
    return f"{prefix}-{next(_ids):06d}"


def read_rgb(path: str) -> np.ndarray:
    buf = oiio.ImageBuf(path)
    px = np.asarray(buf.get_pixels(oiio.FLOAT), dtype=np.float32)
    return px.reshape(buf.spec().height, buf.spec().width, -1)[:, :, :3]


def write_exr(path: str, rgb: np.ndarray) -> None:
    h, w, _ = rgb.shape
    spec = oiio.ImageSpec(w, h, 3, oiio.HALF)
    out = oiio.ImageOutput.create(path)
    out.open(path, spec)
    out.write_image(np.ascontiguousarray(rgb, dtype=np.float32))
    out.close()


class MediaPoolItem:
    """A clip in the media pool: a file or a numbered sequence ``first..last``."""

    def __init__(self, name: str, file_path: str, files: Dict[int, str], input_colour_space: str = ""):
        self._name, self._file_path, self.files = name, file_path, files
        self._uid = _uid("mpi")
        self.properties = {"File Path": file_path, "Clip Name": name, "Frames": str(len(files)),
                           "Input Color Space": input_colour_space}

    def GetName(self) -> str:
        return self._name

    def GetUniqueId(self) -> str:
        return self._uid

    def GetMediaId(self) -> str:
        return self._uid

    def GetClipProperty(self, propertyName: Optional[str] = None) -> Any:
        if not propertyName:
            return dict(self.properties)
        return self.properties.get(propertyName, "")

    def SetClipProperty(self, propertyName: str, propertyValue: Any) -> bool:
        if propertyName not in self.properties or propertyName in ("File Path", "Frames"):
            return False
        self.properties[propertyName] = str(propertyValue)
        return True

    def frame_file(self, index: int) -> Optional[str]:
        """The file of the ``index``-th frame (0-based)."""
        numbers = sorted(self.files)
        return self.files[numbers[index]] if 0 <= index < len(numbers) else None


def sequence_item(directory: str, prefix: str, first: int, last: int, padding: int = 4, suffix: str = ".exr",
                  name: Optional[str] = None, input_colour_space: str = "") -> MediaPoolItem:
    """A media-pool item for an on-disk sequence, named and pathed as Resolve shows them."""
    files = {f: os.path.join(directory, f"{prefix}{f:0{padding}d}{suffix}") for f in range(first, last + 1)}
    shown = f"{prefix}[{first:0{padding}d}-{last:0{padding}d}]{suffix}"
    return MediaPoolItem(name or shown, os.path.join(directory, shown), files, input_colour_space)


class Tool:
    """A Fusion tool: attributes, inputs and connections; a mask tool also has ``matte(time) -> (H, W)``."""

    def __init__(self, tool_id: str, name: str, comp: Optional["FusionComp"] = None,
                 matte: Optional[Callable[[int], np.ndarray]] = None):
        self.ID = tool_id
        # TOOLB_PassThrough: the pass-through attribute a script sets to keep a Saver from writing (Fusion 8
        # Scripting Guide, "The Real Script": Savers other than the chosen one are set to PassedThrough)
        self.attrs: Dict[str, Any] = {"TOOLS_Name": name, "TOOLS_RegID": tool_id, "TOOLB_PassThrough": False}
        self.inputs: Dict[str, Any] = {}
        self.connections: Dict[str, Optional["Tool"]] = {}
        self.comp, self.matte = comp, matte

    def SetAttrs(self, attrs: Dict[str, Any]) -> None:
        self.attrs.update(attrs)

    def GetAttrs(self, key: Optional[str] = None) -> Any:
        return self.attrs.get(key) if key else dict(self.attrs)

    def SetInput(self, name: str, value: Any, time: Optional[float] = None) -> bool:
        self.inputs[name] = value
        return True

    def GetInput(self, name: str, time: Optional[float] = None) -> Any:
        return self.inputs.get(name)

    def ConnectInput(self, name: str, tool: Optional["Tool"]) -> bool:
        """Fusion's ``Tool:ConnectInput(inputID, tool)``: the tool's main output feeds ``name`` (None disconnects)."""
        self.connections[name] = tool
        return True

    def GetConnectedOutput(self, name: str) -> Optional["Tool"]:
        return self.connections.get(name)

    def menu(self, name: str) -> Optional[str]:
        """The label of menu input ``name``'s value (MatteControl's menus, below), e.g. "Combine Alpha"."""
        labels = MATTE_CONTROL_MENUS.get(name, ()) if self.ID == "MatteControl" else ()
        value = self.inputs.get(name)
        return labels[value] if isinstance(value, int) and 0 <= value < len(labels) else None

    def Delete(self) -> None:
        """Fusion 8 Scripting Reference, ``Operator.Delete()``: removes the tool from the composition."""
        if self.comp is not None and self in self.comp.tools:
            self.comp.tools.remove(self)
        self.comp = None


#: MatteControl's menu inputs by id, items in menu order (a menu input's value is the item's index from 0). Ids: as a
#: saved MatteControl writes them (KartaVR's PTGui Project Importer: ``MatteCombine = Input { Value = 4 }``,
#: ``CombineOp = Input { Value = 5 }``, ``Background``/``Foreground`` wired to two mask tools). Items: the DaVinci
#: Resolve manual's Matte Control node, Matte tab: Combine (None, Combine Red, Green, Blue, Alpha, Solid, Clear) and
#: Combine Operation (Copy, Add, Subtract, Inverse Subtract, ...; the rest is not modelled).
MATTE_CONTROL_MENUS: Dict[str, tuple] = {
    "MatteCombine": ("None", "Combine Red", "Combine Green", "Combine Blue", "Combine Alpha", "Solid", "Clear"),
    "CombineOp": ("Copy", "Add", "Subtract", "Inverse Subtract"),
}

#: Mask tools by registry id. Fusion's mask tools' ids end in "Mask": PolylineMask (the Polygon; Fusion 8 Scripting
#: Reference, class PolylineMask), BSplineMask, EllipseMask and RectangleMask (saved under these ids in KartaVR's PTGui
#: importer and other public .setting files). "MagicMask" stands for the Studio-only Magic Mask node (DaVinci Resolve 18
#: manual, "Magic Mask [MagM]"; the id itself is assumed, see ftpvm_resolve.plan.STUDIO_ONLY_MASKS).
MASK_TOOLS = ("PolylineMask", "BSplineMask", "EllipseMask", "RectangleMask", "MagicMask")


class FusionComp:
    """A Fusion comp on a timeline item; its render range starts at 0 like Resolve's clip comps."""

    KNOWN_TOOLS = ("Loader", "Saver", "MediaIn", "MediaOut", "Merge", "MatteControl", "ChannelBoolean") + MASK_TOOLS

    def __init__(self, name: str, duration: int):
        self.name = name
        media_in, media_out = Tool("MediaIn", "MediaIn1", self), Tool("MediaOut", "MediaOut1", self)
        media_out.ConnectInput("Input", media_in)  # a new clip comp shows the clip: MediaIn1 -> MediaOut1
        self.tools: List[Tool] = [media_in, media_out]
        self.attrs = {"COMPN_RenderStart": 0.0, "COMPN_RenderEnd": float(duration - 1), "COMPS_Name": name}
        self.locked = 0
        self.renders: List[Dict[str, Any]] = []

    def GetAttrs(self, key: Optional[str] = None) -> Any:
        return self.attrs.get(key) if key else dict(self.attrs)

    def Lock(self) -> None:
        self.locked += 1

    def Unlock(self) -> None:
        self.locked -= 1

    def AddTool(self, tool_id: str, x: int = -32768, y: int = -32768) -> Optional[Tool]:
        if tool_id not in self.KNOWN_TOOLS:
            return None
        count = sum(t.ID == tool_id for t in self.tools) + 1
        tool = Tool(tool_id, f"{tool_id}{count}", self)
        self.tools.append(tool)
        return tool

    def add_mask(self, tool_id: str, name: str, matte: Callable[[int], np.ndarray]) -> Tool:
        """A mask tool the user drew: ``matte(comp time)`` is its (H, W) shape, 1 inside."""
        tool = self.AddTool(tool_id)
        assert tool is not None and tool_id in MASK_TOOLS
        tool.SetAttrs({"TOOLS_Name": name})
        tool.matte = matte
        return tool

    def FindTool(self, name: str) -> Optional[Tool]:
        return next((t for t in self.tools if t.attrs["TOOLS_Name"] == name), None)

    def GetToolList(self, selected: bool = False, tool_type: Optional[str] = None) -> Dict[int, Tool]:
        """Fusion's ``Composition:GetToolList(selected, type)``: a 1-based table of tools."""
        tools = [t for t in self.tools if tool_type is None or t.ID == tool_type]
        return {n: t for n, t in enumerate(tools, 1)}

    def Render(self, args: Optional[Dict[str, Any]] = None) -> bool:
        """Fusion's ``Composition:Render`` in its table form ({Start, End, Wait, ...}: VFXPedia, Composition/Render;
        End is inclusive): every Saver not passed through writes each frame of the image at its ``Input``.

        The fake knows mask images only; it writes them as EXRs with the shape in A and black RGB, and numbers the
        files by inserting the comp frame before the extension. False when a Saver has nothing to write.
        """
        args = dict(args or {})
        self.renders.append(args)
        start = int(args.get("Start", self.attrs["COMPN_RenderStart"]))
        end = int(args.get("End", self.attrs["COMPN_RenderEnd"]))
        savers = [t for t in self.tools if t.ID == "Saver" and not t.attrs["TOOLB_PassThrough"]]
        for saver in savers:
            source, clip = saver.connections.get("Input"), str(saver.inputs.get("Clip") or "")
            if source is None or source.matte is None or not clip:
                return False
            stem, ext = os.path.splitext(clip)
            for time in range(start, end + 1):
                shape = np.asarray(source.matte(time), np.float32)
                rgba = np.zeros(shape.shape + (4,), np.float32)
                rgba[:, :, 3] = shape
                buf = oiio.ImageBuf(np.ascontiguousarray(rgba))
                if not buf.write(f"{stem}{time:04d}{ext}", oiio.HALF):
                    return False
        return True

    def shown(self) -> Optional[Tool]:
        """What MediaOut1 shows (the tool feeding it)."""
        out = self.FindTool("MediaOut1")
        return out.GetConnectedOutput("Input") if out else None


class TimelineItem:
    """A clip on a video track: timeline frames ``start .. start+duration-1`` show media frames from ``left_offset``."""

    def __init__(self, media: MediaPoolItem, start: int, duration: int, left_offset: int = 0, name: str = ""):
        self.media, self.start, self.duration, self.left_offset = media, start, duration, left_offset
        self._name = name or media.GetName()
        self._uid = _uid("ti")
        self.comps: List[FusionComp] = []
        self.track = 0

    def GetName(self) -> str:
        return self._name

    def GetUniqueId(self) -> str:
        return self._uid

    def GetStart(self, subframe_precision: bool = False) -> int:
        return self.start

    def GetEnd(self, subframe_precision: bool = False) -> int:
        return self.start + self.duration

    def GetDuration(self, subframe_precision: bool = False) -> int:
        return self.duration

    def GetLeftOffset(self, subframe_precision: bool = False) -> int:
        return self.left_offset

    def GetMediaPoolItem(self) -> MediaPoolItem:
        return self.media

    def GetTrackTypeAndIndex(self) -> list:
        return ["video", self.track]

    def AddFusionComp(self) -> FusionComp:
        comp = FusionComp(f"Composition {len(self.comps) + 1}", self.duration)
        self.comps.append(comp)
        return comp

    def GetFusionCompCount(self) -> int:
        return len(self.comps)

    def GetFusionCompByIndex(self, compIndex: int) -> Optional[FusionComp]:
        return self.comps[compIndex - 1] if 1 <= compIndex <= len(self.comps) else None

    def covers(self, frame: int) -> bool:
        return self.start <= frame < self.start + self.duration

    def pixels(self, frame: int) -> Optional[np.ndarray]:
        path = self.media.frame_file(self.left_offset + frame - self.start)
        return read_rgb(path) if path and os.path.isfile(path) else None


class Timeline:
    def __init__(self, name: str, width: int, height: int, start_frame: int = 86400):
        self.name, self._uid = name, _uid("tl")
        self.tracks: Dict[int, List[TimelineItem]] = {1: []}
        self.enabled: Dict[int, bool] = {1: True}
        self.settings = {"timelineResolutionWidth": str(width), "timelineResolutionHeight": str(height)}
        self.start_frame = start_frame
        self.playhead = start_frame
        self.enable_log: List[tuple] = []

    def GetName(self) -> str:
        return self.name

    def GetUniqueId(self) -> str:
        return self._uid

    def GetStartFrame(self) -> int:
        return self.start_frame

    def GetEndFrame(self) -> int:
        return max([i.start + i.duration for items in self.tracks.values() for i in items] or [self.start_frame])

    def GetSetting(self, settingName: Optional[str] = None) -> Any:
        return dict(self.settings) if not settingName else self.settings.get(settingName, "")

    def GetTrackCount(self, trackType: str) -> int:
        return len(self.tracks) if trackType == "video" else 0

    def AddTrack(self, trackType: str, *args: Any) -> bool:
        if trackType != "video":
            return False
        n = len(self.tracks) + 1
        self.tracks[n], self.enabled[n] = [], True
        return True

    def GetItemListInTrack(self, trackType: str, index: int) -> List[TimelineItem]:
        return list(self.tracks.get(index, [])) if trackType == "video" else []

    def SetTrackEnable(self, trackType: str, trackIndex: int, Bool: bool) -> bool:
        if trackType != "video" or trackIndex not in self.tracks:
            return False
        self.enabled[trackIndex] = bool(Bool)
        self.enable_log.append((trackIndex, bool(Bool)))
        return True

    def GetIsTrackEnabled(self, trackType: str, trackIndex: int) -> bool:
        return trackType == "video" and self.enabled.get(trackIndex, False)

    def GetCurrentVideoItem(self) -> Optional[TimelineItem]:
        for index in sorted(self.tracks, reverse=True):
            for item in self.tracks[index]:
                if item.covers(self.playhead):
                    return item
        return None

    def put(self, item: TimelineItem, track: int) -> Optional[TimelineItem]:
        """Place ``item`` on ``track`` (None if the track is missing or the frames are taken)."""
        if track not in self.tracks:
            return None
        if any(o.start < item.start + item.duration and item.start < o.start + o.duration for o in self.tracks[track]):
            return None
        item.track = track
        self.tracks[track].append(item)
        return item

    def composite(self, frame: int, width: int, height: int) -> np.ndarray:
        """What a render shows at ``frame``: the top-most enabled clip there, else black."""
        for index in sorted(self.tracks, reverse=True):
            if not self.enabled[index]:
                continue
            for item in self.tracks[index]:
                if item.covers(frame):
                    px = item.pixels(frame)
                    if px is not None:
                        return px
        return np.zeros((height, width, 3), np.float32)


class Folder:
    def __init__(self, name: str):
        self.name, self._uid = name, _uid("bin")
        self.clips: List[MediaPoolItem] = []
        self.subfolders: List["Folder"] = []

    def GetName(self) -> str:
        return self.name

    def GetUniqueId(self) -> str:
        return self._uid

    def GetClipList(self) -> List[MediaPoolItem]:
        return list(self.clips)

    def GetSubFolderList(self) -> List["Folder"]:
        return list(self.subfolders)


class MediaPool:
    def __init__(self, project: "Project"):
        self.project = project
        self.root = Folder("Master")
        self.current = self.root
        self.import_log: List[Any] = []

    def GetRootFolder(self) -> Folder:
        return self.root

    def AddSubFolder(self, folder: Folder, name: str) -> Optional[Folder]:
        if not name:
            return None
        sub = Folder(name)
        folder.subfolders.append(sub)
        return sub

    def GetCurrentFolder(self) -> Folder:
        return self.current

    def SetCurrentFolder(self, folder: Folder) -> bool:
        if not isinstance(folder, Folder):
            return False
        self.current = folder
        return True

    def ImportMedia(self, items: List[Any]) -> List[MediaPoolItem]:
        """Paths, or clip-info dicts {FilePath: 'x_%04d.exr', StartIndex, EndIndex}; [] if any file is missing."""
        self.import_log.append(items)
        made: List[MediaPoolItem] = []
        for entry in items:
            if isinstance(entry, dict):
                pattern, first, last = entry.get("FilePath", ""), entry.get("StartIndex"), entry.get("EndIndex")
                if "%" not in os.path.basename(pattern or "") or not is_sequence(pattern) or first is None \
                        or last is None or first > last:
                    return []  # Resolve's clip-info import reads printf patterns only
                seq = Sequence.parse(pattern)
                if seq.missing(range(first, last + 1)):
                    return []
                made.append(sequence_item(seq.directory, os.path.basename(seq.head), first, last, seq.padding,
                                          seq.tail))
            else:
                if not os.path.isfile(entry):
                    return []
                made.append(MediaPoolItem(os.path.basename(entry), entry, {0: entry}))
        self.current.clips.extend(made)
        return made

    def AppendToTimeline(self, clips: List[Any]) -> List[TimelineItem]:
        timeline = self.project.timeline
        placed: List[TimelineItem] = []
        for info in clips:
            if not isinstance(info, dict):
                return []
            media = info["mediaPoolItem"]
            # endFrame is exclusive from Resolve 19 on: the README's example (Blackmagic forum t=216063) appends
            # "the first 25 frames" with startFrame 0, endFrame 25, and live read-backs on Studio 20.3 and 21.0
            # measure GetDuration() == endFrame - startFrame (samuelgursky/davinci-resolve-mcp #80, #82, PR #35);
            # Resolve 18.6 took it as the last frame (nakano000/Resolve_Script PR #23: "changed between 18 and 19").
            exclusive = self.project.resolve_major >= 19
            default_end = len(media.files) if exclusive else len(media.files) - 1
            start, end = int(info.get("startFrame", 0)), int(info.get("endFrame", default_end))
            count = end - start if exclusive else end - start + 1
            if start < 0 or count < 1 or start + count > len(media.files):
                return []
            item = TimelineItem(media, int(info.get("recordFrame", timeline.GetEndFrame())), count, start)
            if timeline.put(item, int(info.get("trackIndex", 1))) is None:
                return []
            placed.append(item)
        return placed

    def GetSelectedClips(self) -> List[MediaPoolItem]:
        return []


RENDER_KEYS = {"SelectAllFrames": bool, "MarkIn": int, "MarkOut": int, "TargetDir": str, "CustomName": str,
               "UniqueFilenameStyle": int, "ExportVideo": bool, "ExportAudio": bool, "FormatWidth": int,
               "FormatHeight": int, "FrameRate": float, "VideoQuality": object, "ColorSpaceTag": str,
               "GammaTag": str, "ExportAlpha": bool}


class Project:
    """The current project: colour settings, media pool, timeline and the render queue."""

    FORMATS = {"OpenEXR": "exr", "QuickTime": "mov", "TIFF": "tif"}
    CODECS = {"exr": {"RGB float (No compression)": "RGBFloat", "RGB half (No compression)": "RGBHalf",
                      "RGB half (ZIP)": "RGBHalfZIP", "RGB half (PIZ)": "RGBHalfPIZ"},
              "mov": {"Apple ProRes 422 HQ": "ProRes422HQ"}, "tif": {"RGB 16 bits": "RGB16"}}

    def __init__(self, name: str, timeline: Timeline, colour: Optional[Dict[str, str]] = None):
        self.name, self.timeline = name, timeline
        self.media_pool = MediaPool(self)
        self.colour = dict(colour or {"colorScienceMode": "davinciYRGBColorManagedv2",
                                      "colorSpaceTimeline": "DaVinci WG", "colorSpaceOutput": "Rec.709 Gamma 2.4"})
        self.format_codec = {"format": "mov", "codec": "ProRes422HQ"}
        self.render_mode = 0
        self.resolve_major = 19  # set by Resolve(version=...)
        self.render_settings: Dict[str, Any] = {}
        self.jobs: Dict[str, Dict[str, Any]] = {}
        self.fail_render: Optional[str] = None     # an error message: the next render fails after one frame
        self.seconds_per_frame = 0.0
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self.started: List[List[str]] = []

    def GetName(self) -> str:
        return self.name

    def GetMediaPool(self) -> MediaPool:
        return self.media_pool

    def GetCurrentTimeline(self) -> Timeline:
        return self.timeline

    def GetSetting(self, settingName: Optional[str] = None) -> Any:
        settings = {"timelineResolutionWidth": self.timeline.settings["timelineResolutionWidth"],
                    "timelineResolutionHeight": self.timeline.settings["timelineResolutionHeight"], **self.colour}
        return dict(settings) if not settingName else settings.get(settingName, "")

    # -- render settings -----------------------------------------------------------------
    def GetRenderFormats(self) -> Dict[str, str]:
        return dict(self.FORMATS)

    def GetRenderCodecs(self, renderFormat: str) -> Dict[str, str]:
        return dict(self.CODECS.get(renderFormat, {}))

    def GetCurrentRenderFormatAndCodec(self) -> Dict[str, str]:
        return dict(self.format_codec)

    def SetCurrentRenderFormatAndCodec(self, format: str, codec: str) -> bool:
        if codec not in self.CODECS.get(format, {}).values():
            return False
        self.format_codec = {"format": format, "codec": codec}
        return True

    def GetCurrentRenderMode(self) -> int:
        return self.render_mode

    def SetCurrentRenderMode(self, renderMode: int) -> bool:
        if renderMode not in (0, 1):
            return False
        self.render_mode = renderMode
        return True

    def SetRenderSettings(self, settings: Dict[str, Any]) -> bool:
        for key, value in settings.items():
            kind = RENDER_KEYS.get(key)
            if kind is None or (kind is not object and not isinstance(value, kind)):
                return False
        self.render_settings.update(settings)
        return True

    # -- render queue --------------------------------------------------------------------
    def AddRenderJob(self) -> str:
        if not self.render_settings.get("TargetDir"):
            return ""
        job_id = _uid("job")
        self.jobs[job_id] = {"settings": dict(self.render_settings), "format": dict(self.format_codec),
                             "mode": self.render_mode, "JobStatus": "Ready", "CompletionPercentage": 0}
        return job_id

    def DeleteRenderJob(self, jobId: str) -> bool:
        return self.jobs.pop(jobId, None) is not None

    def GetRenderJobList(self) -> List[Dict[str, Any]]:
        return [dict(j["settings"], JobId=k) for k, j in self.jobs.items()]

    def GetRenderJobStatus(self, jobId: str) -> Dict[str, Any]:
        job = self.jobs.get(jobId)
        if job is None:
            return {}
        status = {"JobStatus": job["JobStatus"], "CompletionPercentage": job["CompletionPercentage"]}
        if job.get("Error"):
            status["Error"] = job["Error"]
        return status

    def StartRendering(self, *args: Any) -> bool:
        ids = args[0] if args and isinstance(args[0], list) else [a for a in args if isinstance(a, str)]
        if not ids or any(i not in self.jobs for i in ids) or self.IsRenderingInProgress():
            return False
        self.started.append(list(ids))
        self._stop.clear()
        self._thread = threading.Thread(target=self._render, args=(ids,), daemon=True)
        self._thread.start()
        return True

    def IsRenderingInProgress(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def StopRendering(self) -> None:
        self._stop.set()

    def _render(self, ids: List[str]) -> None:
        for job_id in ids:
            job = self.jobs[job_id]
            s, fmt = job["settings"], job["format"]
            job["JobStatus"] = "Rendering"
            first, last = (self.timeline.GetStartFrame(), self.timeline.GetEndFrame() - 1) \
                if s.get("SelectAllFrames") else (s["MarkIn"], s["MarkOut"])
            width = s.get("FormatWidth") or int(self.timeline.settings["timelineResolutionWidth"])
            height = s.get("FormatHeight") or int(self.timeline.settings["timelineResolutionHeight"])
            os.makedirs(s["TargetDir"], exist_ok=True)
            for n, frame in enumerate(range(first, last + 1)):
                if self._stop.is_set():
                    job["JobStatus"] = "Cancelled"
                    return
                if self.fail_render and n == 1:
                    job["JobStatus"], job["Error"] = "Failed", self.fail_render
                    self.fail_render = None
                    return
                base = os.path.join(s["TargetDir"], f"{s.get('CustomName') or 'render'}_{frame:08d}")
                if fmt["format"] == "exr":
                    write_exr(base + ".exr", self.timeline.composite(frame, width, height))
                else:
                    open(base + "." + fmt["format"], "wb").close()
                job["CompletionPercentage"] = int(100 * (n + 1) / (last - first + 1))
                time.sleep(self.seconds_per_frame)
            job["JobStatus"] = "Complete"


class ProjectManager:
    def __init__(self, project: Optional[Project]):
        self.project = project

    def GetCurrentProject(self) -> Optional[Project]:
        return self.project


class Resolve:
    """``studio``: the paid DaVinci Resolve Studio. The scripting README introduces "the Scripting API for DaVinci
    Resolve Studio"; the free Resolve 19.1+ runs scripts only from Workspace > Scripts and gives them no
    UIManager (issue 15; build it with ``fake_uimanager.Fusion(None)``)."""

    def __init__(self, project: Optional[Project], fusion: Any = None, version: tuple = (19, 1, 0, 0, ""),
                 studio: bool = False):
        self.project_manager = ProjectManager(project)
        self.fusion = fusion
        self.page = "edit"
        self.version, self.studio = tuple(version), studio
        if project is not None:
            project.resolve_major = int(self.version[0])

    def GetProjectManager(self) -> ProjectManager:
        return self.project_manager

    def Fusion(self) -> Any:
        return self.fusion

    def GetProductName(self) -> str:
        return "DaVinci Resolve Studio" if self.studio else "DaVinci Resolve"

    def GetVersion(self) -> list:
        """[major, minor, patch, build, suffix], as the README documents."""
        return list(self.version)

    def GetVersionString(self) -> str:
        return ".".join(str(v) for v in self.version[:4]) + (f" {self.version[4]}" if self.version[4] else "")

    def GetCurrentPage(self) -> str:
        return self.page

    def OpenPage(self, pageName: str) -> bool:
        if pageName not in ("media", "cut", "edit", "fusion", "color", "fairlight", "deliver"):
            return False
        self.page = pageName
        return True
