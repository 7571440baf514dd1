"""Numbered image sequences: Resolve's ``name.[1001-1100].exr`` paths, folders of rendered frames."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional

IMAGE_EXTENSIONS = (".exr", ".dpx", ".tif", ".tiff", ".png", ".jpg", ".jpeg")
_BRACKETS = re.compile(r"^(?P<prefix>.*?)\[(?P<first>\d+)-(?P<last>\d+)\](?P<suffix>\.[A-Za-z0-9]+)$")
_PRINTF = re.compile(r"^(?P<prefix>.*?)%0?(?P<pad>\d*)d(?P<suffix>\.[A-Za-z0-9]+)$")
_HASHES = re.compile(r"^(?P<prefix>.*?)(?P<hashes>#+)(?P<suffix>\.[A-Za-z0-9]+)$")
_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)(?P<suffix>\.[A-Za-z0-9]+)$")


@dataclass(frozen=True)
class Sequence:
    """Frames ``first..last`` named ``directory/prefix + number padded to padding + suffix``."""

    directory: str
    prefix: str
    padding: int
    suffix: str
    first: int
    last: int

    def path(self, frame: int) -> str:
        """The file of ``frame``."""
        return os.path.join(self.directory, f"{self.prefix}{frame:0{self.padding}d}{self.suffix}")

    @property
    def printf(self) -> str:
        """``dir/prefix%04d.exr`` (Resolve's ImportMedia and the server understand it)."""
        return os.path.join(self.directory, f"{self.prefix}%0{self.padding}d{self.suffix}")

    @property
    def hashes(self) -> str:
        """``dir/prefix####.exr``."""
        return os.path.join(self.directory, f"{self.prefix}{'#' * self.padding}{self.suffix}")

    @property
    def count(self) -> int:
        return self.last - self.first + 1

    def frames(self) -> Iterator[int]:
        return iter(range(self.first, self.last + 1))

    def missing(self) -> List[int]:
        """Frames in the range whose file is not on disk."""
        return [f for f in self.frames() if not os.path.isfile(self.path(f))]


def parse(path: str) -> Optional[Sequence]:
    """A sequence from Resolve's ``name.[1001-1100].exr`` form; None for anything else."""
    directory, name = os.path.split(path)
    m = _BRACKETS.match(name)
    if not m or m.group("suffix").lower() not in IMAGE_EXTENSIONS:
        return None
    first, last = m.group("first"), m.group("last")
    return Sequence(directory, m.group("prefix"), len(first), m.group("suffix"), int(first), int(last))


def template(path: str) -> Optional[tuple]:
    """(prefix, padding, suffix) of a ``%04d`` or ``####`` template, else None."""
    directory, name = os.path.split(path)
    m = _PRINTF.match(name)
    if m:
        return os.path.join(directory, m.group("prefix")), int(m.group("pad") or 1), m.group("suffix")
    m = _HASHES.match(name)
    if m:
        return os.path.join(directory, m.group("prefix")), len(m.group("hashes")), m.group("suffix")
    return None


def scan(directory: str, extension: str = ".exr") -> Optional[Sequence]:
    """The one numbered sequence with ``extension`` in ``directory`` (None if there is none).

    Raises ValueError when several sequences are there or frames are missing inside the range.
    """
    groups: Dict[tuple, Dict[int, str]] = {}
    for name in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
        m = _NUMBERED.match(name)
        if m and m.group("suffix").lower() == extension.lower():
            key = (m.group("prefix"), len(m.group("number")), m.group("suffix"))
            groups.setdefault(key, {})[int(m.group("number"))] = name
    if not groups:
        return None
    if len(groups) > 1:
        raise ValueError(f"{directory} holds several image sequences ({', '.join(k[0] for k in groups)}); "
                         f"expected one")
    (prefix, padding, suffix), frames = next(iter(groups.items()))
    seq = Sequence(directory, prefix, padding, suffix, min(frames), max(frames))
    holes = seq.missing()
    if holes:
        raise ValueError(f"{seq.hashes} has {len(holes)} missing frame(s), first {holes[0]}")
    return seq
