"""The keyframes of each timeline clip, kept between runs in one small text file per clip the user can edit.

Resolve (free) 19.1+ gives scripts no UIManager, so the keyframes cannot be typed into a window there. Each clip
gets ``<config>/resolve-keyframes/<timeline item id>.txt``: comment lines naming the clip (and its media-pool
item id, so a copy of the clip on the timeline finds them too), then one ``FRAME PATH`` line per keyframe, the
same lines the Studio window's keyframe box takes. The dialog and the console mode read and write the same file.
"""
from __future__ import annotations

import os
import re
from typing import Optional, Tuple

from .plan import ClipFacts
from .settings import KeyframeSpec, config_dir, format_keyframes, parse_keyframes

MEDIA_TAG = "# media pool item: "

HELP = """\
# FTPVM Matte keyframes for one clip. One line per keyframe:
#   FRAME PATH                a trimap (white = subject, grey = unknown, black = background)
#   FRAME PATH | roto         a roto matte (white = subject); the server draws the unknown band
#   FRAME mediapool:CLIP      that frame of a matte clip from the media pool
#   FRAME fusion:TOOL         a mask drawn in the clip's Fusion comp (Polygon, B-Spline, ...), rendered at FRAME;
#                             'fusion:' alone takes the comp's only mask tool
#   FRAME track:N             the matte clip on video track N at FRAME (e.g. a rendered Magic Mask)
# FRAME is the timeline frame (as in the timeline's frame display). Save, then run FTPVM Matte again.
"""


def folder(base: Optional[str] = None) -> str:
    """Where the per-clip files live."""
    return os.path.join(base or config_dir(), "resolve-keyframes")


def path_for(clip: ClipFacts, base: Optional[str] = None) -> str:
    """The file of ``clip`` (named by its timeline item's unique id)."""
    return os.path.join(folder(base), re.sub(r"[^A-Za-z0-9._-]", "_", clip.unique_id) + ".txt")


def _media_id_of(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith(MEDIA_TAG):
                    return line[len(MEDIA_TAG):].strip()
    except OSError:
        pass
    return ""


def find(clip: ClipFacts, base: Optional[str] = None) -> Optional[str]:
    """The clip's file, else one written for another timeline item of the same media-pool item, else None."""
    own = path_for(clip, base)
    if os.path.isfile(own):
        return own
    if clip.media_id and os.path.isdir(folder(base)):
        for name in sorted(os.listdir(folder(base))):
            path = os.path.join(folder(base), name)
            if name.endswith(".txt") and _media_id_of(path) == clip.media_id:
                return path
    return None


def load(clip: ClipFacts, kind: str = "trimap", base: Optional[str] = None) -> Tuple[KeyframeSpec, ...]:
    """The keyframes kept for ``clip`` (none when there is no file); SettingsError names a bad line."""
    path = find(clip, base)
    if path is None:
        return ()
    with open(path, encoding="utf-8") as f:
        return parse_keyframes(f.read(), kind)


def save(clip: ClipFacts, keyframes: Tuple[KeyframeSpec, ...], kind: str = "trimap",
         base: Optional[str] = None) -> str:
    """Write the clip's file atomically (a template with only the help when there are no keyframes); its path."""
    path = path_for(clip, base)
    head = (f"# clip: {clip.name} (timeline {clip.timeline!r}, project {clip.project!r}, "
            f"frames {clip.start}-{clip.last})\n" + (f"{MEDIA_TAG}{clip.media_id}\n" if clip.media_id else ""))
    body = format_keyframes(keyframes, kind)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(head + HELP + (body + "\n" if body else ""))
    os.replace(tmp, path)
    return path


__all__ = ["folder", "path_for", "find", "load", "save"]
