"""Frame sources for the CLI: an image sequence pattern or a movie file (decoded with PyAV)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ftpvm_core.errors import InvalidInput
from ftpvm_core.imaging.io import SequencePattern, is_sequence_pattern, read_rgb

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


def parse_range(text: str | None) -> tuple[int, int] | None:
    """``A-B`` (inclusive; negative numbers allowed as ``-5--1``) or a single frame ``A``."""
    if not text:
        return None
    import re

    m = re.fullmatch(r"\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?", text)
    if not m:
        raise InvalidInput(f"--range {text!r} must look like A-B (e.g. 1001-1100) or a single frame")
    a = int(m.group(1))
    b = int(m.group(2)) if m.group(2) is not None else a
    if b < a:
        raise InvalidInput(f"--range {text!r} ends before it starts")
    return a, b


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


def open_source(spec: str, frame_range: tuple[int, int] | None = None) -> FrameSource:
    """A sequence pattern (``plate.%04d.exr``, ``plate.####.exr``) or a movie file (mp4/mov/...)."""
    if spec.lower().endswith(MOVIE_EXTENSIONS) and not is_sequence_pattern(spec):
        if not os.path.isfile(spec):
            raise InvalidInput(f"movie not found: {spec}")
        src = _movie_source(spec)
    elif is_sequence_pattern(spec):
        pattern = SequencePattern.parse(spec)
        numbers = pattern.frames()
        if not numbers:
            raise InvalidInput(f"no frames match {spec!r} (looked for {pattern.path(1001)}-style files)")
        src = FrameSource(f"sequence {spec}", numbers, lambda f: read_rgb(pattern.path(f)),
                          paths={f: pattern.path(f) for f in numbers})
    else:
        raise InvalidInput(f"{spec!r} is neither a sequence pattern (name.%04d.exr or name.####.exr) "
                           f"nor a movie file ({', '.join(MOVIE_EXTENSIONS)})")
    if frame_range is not None:
        a, b = frame_range
        src.frames = [f for f in src.frames if a <= f <= b]
        if not src.frames:
            raise InvalidInput(f"no frames of {spec!r} in range {a}-{b}")
    return src
