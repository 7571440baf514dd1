"""Resolve's numbered image sequences: its ``name.[1001-1100].exr`` media paths and folders of rendered frames.

Patterns and ranges are read by ``ftpvm_wire.sequences`` (the one parser); this module adds Resolve's rules: media
must be an image format, and a rendered folder must hold one sequence without holes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, List, Optional

from ftpvm_wire import sequences as wire

IMAGE_EXTENSIONS = (".exr", ".dpx", ".tif", ".tiff", ".png", ".jpg", ".jpeg")


@dataclass(frozen=True)
class Sequence:
    """Frames ``first..last`` of one numbered pattern."""

    pattern: wire.Sequence
    first: int
    last: int

    @property
    def directory(self) -> str:
        return self.pattern.directory

    @property
    def prefix(self) -> str:
        """The file name before the frame number."""
        return os.path.basename(self.pattern.head)

    @property
    def padding(self) -> int:
        return self.pattern.padding

    @property
    def suffix(self) -> str:
        return self.pattern.tail

    def path(self, frame: int) -> str:
        """The file of ``frame``."""
        return self.pattern.path(frame)

    @property
    def printf(self) -> str:
        """``dir/prefix%04d.exr`` (Resolve's ImportMedia and the server understand it)."""
        return self.pattern.template

    @property
    def hashes(self) -> str:
        """``dir/prefix####.exr``."""
        return self.pattern.hashes

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    def frames(self) -> Iterator[int]:
        return iter(range(self.first, self.last + 1))

    def missing(self) -> List[int]:
        """Frames in the range whose file is not on disk."""
        return self.pattern.missing(self.frames())


def parse(path: str) -> Optional[Sequence]:
    """A sequence from Resolve's ``name.[1001-1100].exr`` form of an image format; None for anything else."""
    if "[" not in os.path.basename(path):
        return None
    try:
        pattern = wire.Sequence.parse(path)
    except wire.SequenceError:
        return None
    if not pattern.frames or pattern.tail.lower() not in IMAGE_EXTENSIONS:
        return None
    return Sequence(pattern, pattern.frames[0], pattern.frames[-1])


def scan(directory: str, extension: str = ".exr") -> Optional[Sequence]:
    """The one numbered sequence with ``extension`` in ``directory`` (None if there is none).

    Raises ValueError when several sequences are there or frames are missing inside the range.
    """
    found = wire.scan_directory(directory, extension)
    if not found:
        return None
    if len(found) > 1:
        raise ValueError(f"{directory} holds several image sequences "
                         f"({', '.join(os.path.basename(s.head) for s in found)}); expected one")
    pattern = found[0]
    seq = Sequence(pattern, pattern.frames[0], pattern.frames[-1])
    holes = wire.missing_frames(seq.frames(), pattern.frames)
    if holes:
        raise ValueError(f"{seq.hashes} has {len(holes)} missing frame(s), first {holes[0]}")
    return seq
