"""Frame sequences and frame ranges: the one parser every layer uses, built on ``fileseq``.

A sequence pattern names numbered files with one frame field. Its spellings, and how many digits each pads to
(the least number written; longer frame numbers are written whole, a negative frame as printf writes it, so
frame -1 at four digits is ``-001``):

============================  =========================  ==========================================
spelling                      digits                     convention of
============================  =========================  ==========================================
``%04d``, ``%d``              N; ``%d`` is unpadded       printf: Nuke, Resolve, ffmpeg
``@``, ``@@@@``               one per ``@``               fileseq, oiiotool
``#`` alone                   four                        fileseq, oiiotool (``plate.1001-1100#.exr``)
``##``, ``####``, ...         one per ``#``               Nuke, Houdini, Blender
``$F4``                       N                           Houdini
============================  =========================  ==========================================

So ``plate.####.exr``, ``plate.%04d.exr``, ``plate.@@@@.exr`` and ``plate.#.exr`` name the same sequence, and
:func:`canonical` spells each of them ``plate.%04d.exr`` (the form used for keys and sent to the server).
A pattern may name its frames just before the field (``plate.1001-1100#.exr``, ``plate.1001-1100x2#.exr``,
``plate.1001,1005#.exr``) or in brackets as Resolve writes it (``plate.[1001-1100].exr``, padded to the digits
of the first number).

A frame range (:func:`parse_frames`) is ``A``, ``A-B`` (inclusive), ``A-BxN`` (every Nth frame) or a comma list
of those (``1001,1005,1010-1020``); negative frames are written ``-5--1``. A range must not run backwards.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence as Seq, Tuple

import fileseq

#: Any frame-field spelling (to refuse a second field in one pattern).
_ANY_FIELD = re.compile(r"[#@]|%0?\d*d|\$F\d*")
_PRINTF = re.compile(r"%(0?)(\d*)d")
_HOUDINI = re.compile(r"\$F(\d*)")
_BRACKETS = re.compile(r"^(?P<head>.*)\[(?P<frames>[-0-9,x ]+)\](?P<tail>[^\[\]]*)$")
EXAMPLES = "name.%04d.exr, name.####.exr, name.@@@@.exr or name.1001-1100#.exr"


class SequenceError(ValueError):
    """A pattern or frame range that cannot be read; the message says what to write instead."""


# ----------------------------------------------------------------------------- frame ranges
def parse_frames(text: str) -> List[int]:
    """The frames of a range such as ``1001-1100``, ``1001-1100x2`` or ``1001,1005``: sorted, unique."""
    items = [item.strip() for item in str(text or "").split(",")]
    if not any(items):
        raise SequenceError("the frame range is empty; write it like 1001-1100, 1001-1100x2 or 1001,1005")
    frames = set()
    for item in items:
        words = item.split()
        if not item or any(a[-1].isdigit() and b[0].isdigit() for a, b in zip(words, words[1:])):
            raise SequenceError(f"frame range {text!r} is not valid: separate frames with commas and write "
                                f"ranges as FIRST-LAST, e.g. 1001-1100, 1001-1100x2 or 1001,1005")
        try:
            part = list(fileseq.FrameSet("".join(words)))
        except (fileseq.ParseException, ValueError, TypeError):
            raise SequenceError(f"frame range {text!r} is not valid: write it like 1001-1100, 1001-1100x2 "
                                f"or 1001,1005") from None
        if not part or any(isinstance(f, float) or f != int(f) for f in part):
            raise SequenceError(f"frame range {text!r} is not valid: frames are whole numbers, e.g. 1001-1100")
        if part != sorted(part):
            raise SequenceError(f"frame range {item!r} ends before it starts: write FIRST-LAST with "
                                f"FIRST <= LAST")
        frames.update(int(f) for f in part)
    return sorted(frames)


def format_frames(frames: Iterable[int]) -> str:
    """The shortest range text for some frames, e.g. ``1001-1049,1052-1100`` ('' for none)."""
    frames = sorted(set(int(f) for f in frames))
    return fileseq.framesToFrameRange(frames, compress=True) if frames else ""


def missing_frames(requested: Iterable[int], available: Iterable[int]) -> List[int]:
    """The requested frames that are not available, sorted (the gaps of a requested range)."""
    return sorted(set(requested) - set(available))


# ----------------------------------------------------------------------------- patterns
def _padding(field: str, pattern: str) -> int:
    """Digits of a frame field (see the table above)."""
    printf = _PRINTF.fullmatch(field)
    if printf:
        return int(printf.group(2) or 1)
    houdini = _HOUDINI.fullmatch(field)
    if houdini:
        return int(houdini.group(1) or 1)
    if set(field) == {"@"}:
        return len(field)
    if set(field) == {"#"}:
        return 4 if len(field) == 1 else len(field)
    raise SequenceError(f"{pattern!r}: {field!r} is not one frame field; a pattern needs exactly one frame "
                        f"field, such as {'#' * 4} or %04d")


def _one_field(pattern: str, head: str, tail: str) -> None:
    found = len(_ANY_FIELD.findall(os.path.basename(head))) + len(_ANY_FIELD.findall(tail))
    if found:
        raise SequenceError(f"{pattern!r} has {found + 1} frame fields; a pattern needs exactly one frame field, "
                            f"such as %04d or ####")


@dataclass(frozen=True)
class Sequence:
    """Numbered files ``head + frame (padded) + tail``; ``frames``: the frames the pattern named, if any."""

    head: str
    padding: int
    tail: str
    frames: Tuple[int, ...] = ()

    @classmethod
    def parse(cls, pattern: str) -> "Sequence":
        """Read a pattern in any spelling above; :class:`SequenceError` when it has no (or two) frame fields."""
        pattern = os.fspath(pattern)
        directory, name = os.path.split(pattern)
        brackets = _BRACKETS.match(name)
        if brackets and not _ANY_FIELD.search(brackets.group("tail")):
            frames = parse_frames(brackets.group("frames"))
            first = brackets.group("frames").split(",")[0].strip().lstrip("-").split("-")[0]
            head, tail = os.path.join(directory, brackets.group("head")), brackets.group("tail")
            _one_field(pattern, head, tail)
            return cls(head, len(first), tail, tuple(frames))
        try:  # only the file name holds the frame field; the folder may hold any character
            fs = fileseq.FileSequence(name, pad_style=fileseq.PAD_STYLE_HASH4)
        except fileseq.ParseException:
            fs = None
        field = fs.padding() if fs is not None else ""
        if not field or not name.endswith(field + fs.extension()):
            raise SequenceError(f"{pattern!r} has no frame number: a pattern needs exactly one frame field, "
                                f"such as {EXAMPLES}")
        head = pattern[:len(pattern) - len(name)] + fs.dirname() + fs.basename()
        named = pattern[len(head):len(pattern) - len(field) - len(fs.extension())]
        _one_field(pattern, head, fs.extension())
        frames = tuple(parse_frames(named)) if named else ()
        return cls(head, _padding(field, pattern), fs.extension(), frames)

    @property
    def directory(self) -> str:
        """The folder of the files ('' for the current one)."""
        return os.path.dirname(self.head)

    @property
    def template(self) -> str:
        """The canonical spelling, printf: ``plate.%04d.exr`` (``%d`` when unpadded); no frames."""
        field = "%d" if self.padding == 1 else f"%0{self.padding}d"
        return f"{self.head}{field}{self.tail}"

    @property
    def hashes(self) -> str:
        """The spelling with one ``#`` per digit (Nuke's): ``plate.####.exr``; ``@`` when unpadded, since a lone
        ``#`` is four digits."""
        return f"{self.head}{'#' * self.padding if self.padding > 1 else '@'}{self.tail}"

    def path(self, frame: int) -> str:
        """The file of ``frame``."""
        return f"{self.head}{int(frame):0{self.padding}d}{self.tail}"

    def on_disk(self) -> List[int]:
        """Frames whose files exist, sorted (a file's number must have at least ``padding`` characters)."""
        directory = self.directory or "."
        base = os.path.basename(self.head)
        if not os.path.isdir(directory):
            return []
        found = set()
        for entry in os.listdir(directory):
            if not (entry.startswith(base) and entry.endswith(self.tail)) or len(entry) <= len(base) + len(self.tail):
                continue
            number = entry[len(base):len(entry) - len(self.tail)]
            digits = number[1:] if number.startswith("-") else number
            if digits.isascii() and digits.isdigit() and len(number) >= self.padding:
                found.add(int(number))
        return sorted(found)

    def missing(self, frames: Optional[Iterable[int]] = None) -> List[int]:
        """Frames (default: the frames the pattern named) whose files are not on disk."""
        wanted = self.frames if frames is None else frames
        return missing_frames(wanted, self.on_disk())


def is_sequence(text: str) -> bool:
    """Whether ``text`` is a sequence pattern (has one frame field)."""
    try:
        Sequence.parse(text)
    except SequenceError:
        return False
    return True


def canonical(pattern: str) -> str:
    """One spelling per sequence: ``####``, ``@@@@``, ``#`` and ``%04d`` all become ``%04d``; frames dropped."""
    return Sequence.parse(pattern).template


def expand(template: str, frame: int) -> str:
    """The path of ``frame`` in a pattern of any spelling."""
    return Sequence.parse(template).path(frame)


def scan_directory(directory: str, extension: str = "") -> List[Sequence]:
    """The numbered sequences in ``directory`` (those ending in ``extension``, any case), each with its frames."""
    if not os.path.isdir(directory):
        return []
    found = []
    names = [os.path.join(directory, n) for n in sorted(os.listdir(directory))]
    for fs in fileseq.FileSequence.yield_sequences_in_list(names, pad_style=fileseq.PAD_STYLE_HASH4):
        if not fs.padding() or not fs.extension().lower().endswith(extension.lower()):
            continue
        found.append(Sequence(fs.dirname() + fs.basename(), fs.zfill(), fs.extension(),
                              tuple(int(f) for f in fs.frameSet())))
    return sorted(found, key=lambda s: s.head)


def sequence_stem(name: str) -> str:
    """A file or pattern name without its folder, extension, frame number or field: ``plate.0001.exr`` -> ``plate``."""
    base = os.path.basename(name or "")
    try:
        fs = fileseq.FileSequence(base, pad_style=fileseq.PAD_STYLE_HASH4)
        stem = fs.basename()
    except fileseq.ParseException:
        stem = base
    return stem.rstrip("._-") or base


__all__: Seq[str] = ("Sequence", "SequenceError", "parse_frames", "format_frames", "missing_frames", "is_sequence",
                     "canonical", "expand", "scan_directory", "sequence_stem")
