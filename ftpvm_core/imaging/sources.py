"""Frame sources for the CLI: an image sequence pattern or a movie file (decoded with PyAV)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ftpvm_core.errors import InvalidInput
from ftpvm_core.imaging.io import read_rgb
from ftpvm_wire.sequences import Sequence, SequenceError, format_frames, is_sequence, missing_frames, parse_frames

MOVIE_EXTENSIONS = (".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm")
MOVIE_COLORSPACE = "sRGB Encoded Rec.709 (sRGB)"  # movies are taken as sRGB display-referred unless told


@dataclass
class FrameSource:
    """Numbered frames and a reader for each: (H, W, 3) float32 in the source's own encoding."""

    description: str
    frames: list[int]
    read: Callable[[int], np.ndarray]
    is_movie: bool = False
    paths: dict[int, str] = field(default_factory=dict)  # sequence frames' files (to refuse overwriting them)
    #: frames asked for (or, with no range, inside the sequence's first..last) that are not on disk
    gaps: list[int] = field(default_factory=list)
    #: how many frames were asked for (the range, or first..last of the sequence)
    wanted: int = 0


def parse_range(text: str | None) -> list[int] | None:
    """The frames of a ``--range`` (``1001-1100``, ``1001-1100x2``, ``1001,1005``, ``-5--1``); None when empty."""
    if not text:
        return None
    try:
        return parse_frames(text)
    except SequenceError as exc:
        raise InvalidInput(f"--range: {exc}") from None


def _movie_source(path: str) -> FrameSource:
    try:
        import av
    except ImportError:  # pragma: no cover
        raise InvalidInput("reading movies needs PyAV: pip install av") from None
    frames: list[np.ndarray] = []
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise InvalidInput(f"{path} has no video stream")
            for frame in container.decode(container.streams.video[0]):
                frames.append(frame.to_ndarray(format="rgb24"))
    except av.error.FFmpegError as exc:
        raise InvalidInput(f"cannot decode movie {path}: {exc}") from None
    if not frames:
        raise InvalidInput(f"movie {path} has no frames")
    return FrameSource(f"movie {path} ({len(frames)} frames)", list(range(len(frames))),
                       lambda i: frames[i].astype(np.float32) / 255.0, is_movie=True)


def open_source(spec: str, frames: list[int] | None = None, layer: str | None = None,
                allow_gaps: bool = False) -> FrameSource:
    """A sequence pattern (any spelling ``ftpvm_wire.sequences`` reads: ``plate.%04d.exr``, ``plate.####.exr``,
    ``plate.1001-1100#.exr``) or a movie file (mp4/mov/...).

    ``frames`` (and frames named in the pattern) select frames; with none, a sequence's frames are first..last of
    what is on disk. A selected frame that does not exist is an error that lists the gaps, unless ``allow_gaps``:
    then the source keeps the frames that exist and lists the others in ``gaps``. ``layer`` picks the EXR layer of
    a sequence's colour.
    """
    wanted = frames
    if spec.lower().endswith(MOVIE_EXTENSIONS) and not is_sequence(spec):
        if not os.path.isfile(spec):
            raise InvalidInput(f"movie not found: {spec}")
        src = _movie_source(spec)
    elif is_sequence(spec):
        pattern = Sequence.parse(spec)
        numbers = pattern.on_disk()
        if not numbers:
            raise InvalidInput(f"no frames match {spec!r} (looked for {pattern.path(1001)}-style files)")
        src = FrameSource(f"sequence {spec}", numbers, lambda f: read_rgb(pattern.path(f), layer=layer),
                          paths={f: pattern.path(f) for f in numbers})
        if pattern.frames:
            wanted = sorted(set(pattern.frames) & set(frames)) if frames is not None else list(pattern.frames)
    else:
        raise InvalidInput(f"{spec!r} is neither a sequence pattern (name.%04d.exr, name.####.exr or "
                           f"name.1001-1100#.exr) nor a movie file ({', '.join(MOVIE_EXTENSIONS)})")
    if wanted is None and not src.is_movie:
        wanted = list(range(src.frames[0], src.frames[-1] + 1))
    if wanted is not None:
        if not wanted:
            raise InvalidInput(f"the frames asked for and the frames named in {spec!r} have none in common")
        have = src.frames
        gaps = missing_frames(wanted, have)
        if gaps and (not allow_gaps or len(gaps) == len(wanted)):
            raise InvalidInput(f"{len(gaps)} of the {len(wanted)} frames asked for are missing from {spec!r}: "
                               f"{format_frames(gaps)} (it has {format_frames(have)})")
        missing = set(gaps)
        src.frames, src.gaps, src.wanted = [f for f in wanted if f not in missing], gaps, len(wanted)
    return src
