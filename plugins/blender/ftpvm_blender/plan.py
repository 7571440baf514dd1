"""Everything the add-on decides without Blender: shot ids, frame ranges, paths, settings, checks.

No ``bpy`` here; the bpy-facing modules read the UI, call these functions and act on the answers.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ftpvm_wire.schema import Schema, SchemaError
from ftpvm_wire.sequences import scan_directory, sequence_stem
from ftpvm_wire.shots import ShotIdError, check_shot_id as _check_shot_id, shot_id_from

#: Quality presets -> shot settings sent to the server (names from the server's settings schema).
QUALITY_SETTINGS: Dict[str, Dict[str, object]] = {
    "DRAFT": {"downsample_ratio": 0.25},
    "STANDARD": {"downsample_ratio": "auto"},
    "HIGH": {"downsample_ratio": 1.0},
}

#: Shot settings with a panel property of their own, built from the settings schema (default, choices, range).
#: Only those the artist set are sent: the others take the server's advertised defaults.
SETTING_PROPS = ("memory_size", "memory_policy", "precision", "highlights")

#: Passes the add-on can write, in the order files are written.
OUTPUT_PASSES = ("alpha", "foreground")

#: The node group the add-on inserts into the compositor.
GROUP_NAME = "FTPVM Matte"

#: A Process run renders plates and sends them in batches (see ``runner``): at most this many frames per batch,
BATCH_FRAMES = 24
#: and at most about this many bytes of plates and results (float32) held per batch.
BATCH_BYTES = 512 << 20


class PlanError(ValueError):
    """A setting that makes the job impossible; the message tells the artist what to change."""


#: Host names that never leave this computer.
LOOPBACK_NAMES = ("localhost", "ip6-localhost")


def is_loopback(address: str) -> bool:
    """Whether ``host:port`` (``[v6]:port``, ``unix:path``) names this computer."""
    address = address.strip()
    if address.startswith(("unix:", "unix-abstract:")):
        return True
    host = address[1:address.find("]")] if address.startswith("[") else address.rpartition(":")[0] or address
    host = host.strip().lower()
    return host in LOOPBACK_NAMES or host == "::1" or host.startswith("127.")


def network_refusal(address: str, online_access: bool, overridden: bool = False) -> Optional[str]:
    """Why the add-on must not connect to ``address`` now, or None when it may.

    Blender's manual (Extensions > Add-ons > Internet Access): an add-on that uses the internet must check
    ``bpy.app.online_access`` (Preferences > System > Network > Allow Online Access, or --offline-mode /
    --online-mode). A server on this computer is not the internet, so loopback addresses are always allowed;
    any other address needs online access.
    """
    if online_access or is_loopback(address):
        return None
    how = ("Blender was started with --offline-mode" if overridden
           else "turn on Preferences > System > Network > Allow Online Access")
    return (f"Online access is off, so the add-on does not connect to {address.strip()} ({how}); "
            f"a server on this computer (127.0.0.1:PORT) needs no online access")


def shot_id_from_name(name: str) -> str:
    """A valid server shot id from a clip name: 'plate.0001.exr' -> 'plate', 'my shot' -> 'my_shot'."""
    return shot_id_from(sequence_stem(name))


def check_shot_id(shot_id: str) -> str:
    """The id unchanged when the server would accept it; PlanError saying why not otherwise."""
    if not shot_id:
        raise PlanError("the shot id is empty; type one or pick a clip")
    try:
        return _check_shot_id(shot_id)
    except ShotIdError as exc:
        raise PlanError(str(exc)) from None


def frame_range(clip_start: int, clip_duration: int, limit: Optional[Tuple[int, int]] = None) -> List[int]:
    """Scene frames the clip covers, optionally clipped to ``limit`` (first, last), in order."""
    if clip_duration < 1:
        raise PlanError("the clip has no frames")
    first, last = clip_start, clip_start + clip_duration - 1
    if limit is not None:
        first, last = max(first, limit[0]), min(last, limit[1])
    if first > last:
        raise PlanError(f"the frame range {limit[0]}-{limit[1]} does not overlap the clip "  # type: ignore[index]
                        f"({clip_start}-{clip_start + clip_duration - 1})")
    return list(range(first, last + 1))


def check_keyframes(keyframes: Iterable[int], frames: Sequence[int]) -> List[int]:
    """Sorted unique keyframes; PlanError when there are none or one lies outside the frames."""
    keys = sorted(set(int(k) for k in keyframes))
    if not keys:
        raise PlanError("add at least one keyframe (the frame where the mask or trimap is drawn)")
    outside = [k for k in keys if k < frames[0] or k > frames[-1]]
    if outside:
        raise PlanError(f"keyframe(s) {outside} lie outside the frames {frames[0]}-{frames[-1]}")
    return keys


def add_keyframe(keyframes: Iterable[int], frame: int) -> List[int]:
    """The keyframe list with ``frame`` added (sorted, no duplicate)."""
    return sorted(set(int(k) for k in keyframes) | {int(frame)})


def quality_settings(quality: str) -> Dict[str, object]:
    """Shot settings for a quality preset."""
    try:
        return dict(QUALITY_SETTINGS[quality])
    except KeyError:
        raise PlanError(f"unknown quality {quality!r}; choose one of {', '.join(QUALITY_SETTINGS)}") from None


def chosen_settings(schema: Schema, values: Dict[str, object]) -> Dict[str, object]:
    """The settings the artist set, checked against ``schema``; PlanError naming the one to fix."""
    try:
        return schema.validate_all(values)
    except SchemaError as exc:
        raise PlanError(str(exc)) from None


def output_folder(blend_path: str, chosen: str, shot_id: str) -> str:
    """Where the EXR sequences go: the chosen folder, else ``ftpvm/<shot>`` next to the .blend file."""
    if chosen:
        return os.path.join(os.path.abspath(chosen), shot_id) if not chosen.rstrip("/\\").endswith(shot_id) \
            else os.path.abspath(chosen)
    if not blend_path:
        raise PlanError("save the .blend file first, or choose an output folder")
    return os.path.join(os.path.dirname(os.path.abspath(blend_path)), "ftpvm", shot_id)


def output_path(folder: str, shot_id: str, pass_name: str, frame: int) -> str:
    """The EXR of one pass at one scene frame: ``<folder>/<shot>_<pass>.<frame:04d>.exr``."""
    return os.path.join(folder, f"{shot_id}_{pass_name}.{frame:04d}.exr")


def image_sequence_range(path: str) -> Optional[Tuple[int, int]]:
    """(first frame, frame count) of the numbered files ``path`` is one of (``plate.1001.exr`` and its siblings
    on disk), or None when its name has no frame number."""
    name = os.path.basename(path)
    found = re.search(r"(\d+)(\.[^.]+)$", name)
    if not found:
        return None
    head = os.path.join(os.path.dirname(path), name[:found.start(1)])
    for seq in scan_directory(os.path.dirname(path), found.group(2)):
        if os.path.normpath(seq.head) == os.path.normpath(head) and seq.frames:
            return seq.frames[0], seq.frames[-1] - seq.frames[0] + 1
    return None


def sequence_offset(first_frame: int) -> int:
    """Image-node frame offset so scene frame f shows file number f when the sequence starts at ``first_frame``."""
    return first_frame - 1


def check_mask_raster(matte: np.ndarray, mask_name: str, frame: int) -> np.ndarray:
    """The rasterised Mask, or PlanError when Blender drew nothing of it on this frame (the shape lies off-frame
    or is not keyed there). How the matte becomes a trimap is the engine's rule, not checked here."""
    if not (np.asarray(matte) > 0).any():
        raise PlanError(f"mask {mask_name!r} covers nothing at frame {frame}: draw a closed shape around the "
                        f"subject on that keyframe (in the Movie Clip editor, Mask mode)")
    return matte


def top_down(pixels: np.ndarray, width: int, height: int, channels: int = 4) -> np.ndarray:
    """Blender's flat bottom-up pixel buffer -> (H, W, C) array with row 0 at the top."""
    return np.asarray(pixels, dtype=np.float32).reshape(height, width, channels)[::-1]


def bottom_up(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 3|4) top-down array -> Blender's flat bottom-up RGBA buffer (alpha 1 when absent)."""
    a = np.asarray(image, dtype=np.float32)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.shape[2] == 3:
        a = np.concatenate([a, np.ones(a.shape[:2] + (1,), np.float32)], axis=2)
    return np.ascontiguousarray(a[::-1]).ravel()


def batch_size(width: int, height: int, passes: Iterable[str], most: Optional[int] = None,
               budget: Optional[int] = None) -> int:
    """Frames per batch: plates (RGB) and results (1 channel for alpha, 3 for foreground) within ``budget``.

    ``most`` and ``budget`` default to BATCH_FRAMES and BATCH_BYTES as they are at the call.
    """
    most = BATCH_FRAMES if most is None else most
    budget = BATCH_BYTES if budget is None else budget
    channels = 3 + sum(1 if p == "alpha" else 3 for p in passes)
    per_frame = max(1, int(width) * int(height) * 4 * channels)
    return max(1, min(int(most), int(budget) // per_frame))


@dataclass
class Job:
    """One Process run, decided up front: which frames, which keyframes, where results go."""

    shot_id: str
    width: int
    height: int
    colorspace: str
    frames: List[int]
    keyframes: List[int]
    passes: Tuple[str, ...]
    folder: str
    settings: Dict[str, object] = field(default_factory=dict)
    band: int = 0  # unknown band around the mask's edge in pixels; 0: the shot's roto_band (the server's default)

    def path(self, pass_name: str, frame: int) -> str:
        """The EXR one pass of one frame is written to."""
        return output_path(self.folder, self.shot_id, pass_name, frame)

    def first_path(self, pass_name: str) -> str:
        """The first file of a pass's sequence (what an Image datablock is loaded from)."""
        return self.path(pass_name, self.frames[0])


def plan_job(*, shot_id: str, width: int, height: int, colorspace: str, clip_start: int, clip_duration: int,
             keyframes: Iterable[int], quality: str, want_foreground: bool, blend_path: str,
             chosen_folder: str = "", limit: Optional[Tuple[int, int]] = None, band: int = 0,
             chosen: Optional[Dict[str, object]] = None, schema: Optional[Schema] = None) -> Job:
    """Check the panel's settings and turn them into a Job; PlanError with the fix otherwise.

    ``chosen``: the shot settings the artist set (checked against ``schema``, the shipped snapshot when None);
    ``band`` 0 and settings left out take the server's defaults.
    """
    check_shot_id(shot_id)
    if width < 1 or height < 1:
        raise PlanError("the clip has no image (is its file missing?)")
    if not colorspace:
        raise PlanError("no input colour space: pick the space the clip's pixels are in")
    if band < 0:
        raise PlanError("the band width must be at least 1 pixel (or 0 for the server's default)")
    frames = frame_range(clip_start, clip_duration, limit)
    keys = check_keyframes(keyframes, frames)
    passes = ("alpha", "foreground") if want_foreground else ("alpha",)  # alpha always: the node group needs it
    folder = output_folder(blend_path, chosen_folder, shot_id)
    if schema is None:
        from ftpvm_wire.schema import snapshot

        schema = snapshot()
    settings = {**quality_settings(quality), **chosen_settings(schema, dict(chosen or {}))}
    return Job(shot_id, int(width), int(height), colorspace, frames, keys, passes, folder, settings, int(band))
