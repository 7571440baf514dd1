"""The one frame-sequence and range parser: each spelling, padding conventions, gaps, normalisation, errors."""
from __future__ import annotations

import os

import pytest

from ftpvm_wire import sequences as seq
from ftpvm_wire.sequences import Sequence, SequenceError


@pytest.mark.parametrize("pattern, padding", [
    ("plate.%04d.exr", 4), ("plate.%d.exr", 1), ("plate.%06d.exr", 6),
    ("plate.####.exr", 4), ("plate.###.exr", 3), ("plate.##.exr", 2),   # Nuke/Houdini: one digit per '#'
    ("plate.#.exr", 4),                                                # fileseq/oiiotool: a lone '#' is four
    ("plate.@@@@.exr", 4), ("plate.@.exr", 1),                         # one digit per '@'
    ("plate.$F4.exr", 4),                                              # Houdini
])
def test_each_spelling_pads_as_documented(pattern, padding):
    s = Sequence.parse(pattern)
    assert (s.head, s.padding, s.tail, s.frames) == ("plate.", padding, ".exr", ())
    assert s.path(7) == f"plate.{7:0{padding}d}.exr"


def test_spellings_of_one_sequence_normalise_to_one_form():
    names = ["/show/sh010/plate.####.exr", "/show/sh010/plate.%04d.exr", "/show/sh010/plate.@@@@.exr",
             "/show/sh010/plate.#.exr", "/show/sh010/plate.1001-1100#.exr", "/show/sh010/plate.1001,1005@@@@.exr",
             "/show/sh010/plate.[1001-1100].exr"]
    assert {seq.canonical(n) for n in names} == {"/show/sh010/plate.%04d.exr"}
    assert seq.canonical("a/b.%d.png") == seq.canonical("a/b.@.png") == "a/b.%d.png"
    assert seq.canonical("plate.###.exr") == "plate.%03d.exr" != seq.canonical("plate.####.exr")
    assert Sequence.parse("/x/p.%04d.exr").hashes == "/x/p.####.exr"
    for pattern in ("/x/p.%d.exr", "/x/p.%03d.exr", "/x/p.%04d.exr"):  # each spelling reads back as itself
        assert seq.canonical(Sequence.parse(pattern).hashes) == pattern
    assert Sequence.parse("/x/shot[1].####.exr").template == "/x/shot[1].%04d.exr"  # brackets in a name


@pytest.mark.parametrize("pattern, frames", [
    ("plate.1001-1005#.exr", [1001, 1002, 1003, 1004, 1005]),
    ("plate.1001-1009x2#.exr", [1001, 1003, 1005, 1007, 1009]),
    ("plate.1001,1005#.exr", [1001, 1005]),
    ("plate.1001-1003@@@@.exr", [1001, 1002, 1003]),
    ("plate.-3--1#.exr", [-3, -2, -1]),
    ("plate.[0998-1001].exr", [998, 999, 1000, 1001]),               # Resolve's form
])
def test_patterns_that_name_their_frames(pattern, frames):
    s = Sequence.parse(pattern)
    assert list(s.frames) == frames and s.padding == 4 and s.template == "plate.%04d.exr"


def test_expand_long_and_negative_frames_like_printf():
    assert seq.expand("/r/a.####.exr", 7) == "/r/a.0007.exr"
    assert seq.expand("/r/a.@@@@.exr", 123456) == "/r/a.123456.exr"
    assert seq.expand("/r/a.%04d.exr", -1) == "/r/a.-001.exr" == "/r/a.%04d.exr" % -1
    assert seq.expand("/r/a.%d.exr", -3) == "/r/a.-3.exr"
    assert seq.expand("/r/v#1/a.%04d.exr", 2) == "/r/v#1/a.0002.exr"  # only the file name holds the field


@pytest.mark.parametrize("frames, expected", [
    ("1001-1100x2", list(range(1001, 1101, 2))), ("1001,1005", [1001, 1005]), ("1001", [1001]),
    (" 5 ", [5]), ("-5--1", [-5, -4, -3, -2, -1]), ("1001 - 1003", [1001, 1002, 1003]),
    ("1005,1001-1003,1002", [1001, 1002, 1003, 1005]),
])
def test_frame_ranges(frames, expected):
    assert seq.parse_frames(frames) == expected


@pytest.mark.parametrize("frames, message", [
    ("10-1", "ends before it starts"), ("ten", "not valid"), ("", "empty"), ("1 5", "separate frames with commas"),
    ("1.5", "whole numbers"), ("1001,,1005", "not valid"),
])
def test_bad_frame_ranges_say_what_to_write(frames, message):
    with pytest.raises(SequenceError, match=message) as info:
        seq.parse_frames(frames)
    assert "1001-1100" in str(info.value) or "FIRST-LAST" in str(info.value)


@pytest.mark.parametrize("pattern, message", [
    ("plate.exr", "no frame number"), ("plate.0001.exr", "no frame number"), ("/x/y", "no frame number"),
    ("p.%04d.####.exr", "exactly one frame field"), ("p.#@.exr", "exactly one frame field"),
    ("p.####.v@@.exr", "exactly one frame field"), ("p.10-1#.exr", "ends before"),
])
def test_bad_patterns_say_what_to_write(pattern, message):
    with pytest.raises(SequenceError, match=message):
        Sequence.parse(pattern)
    assert not seq.is_sequence(pattern)


def _touch(folder, *names):
    for name in names:
        (folder / name).write_bytes(b"x")


def test_frames_on_disk_and_gaps(tmp_path):
    _touch(tmp_path, "p.1001.exr", "p.1002.exr", "p.1004.exr", "p.10000.exr", "p.-001.exr", "p.5.exr", "p.x.exr",
           "q.1003.exr", "p.1003.exr.tmp")
    s = Sequence.parse(str(tmp_path / "p.####.exr"))
    assert s.on_disk() == [-1, 1001, 1002, 1004, 10000]      # p.5.exr has fewer digits than the padding
    assert s.missing(range(1001, 1006)) == [1003, 1005]
    named = Sequence.parse(str(tmp_path / "p.1001-1004#.exr"))
    assert named.missing() == [1003]
    assert seq.missing_frames([1, 2, 3, 7], [2, 7]) == [1, 3]
    assert seq.format_frames([1005, 1001, 1002, 1003, 1007]) == "1001-1003,1005,1007" and seq.format_frames([]) == ""
    assert Sequence.parse(str(tmp_path / "none" / "p.####.exr")).on_disk() == []


def test_scan_directory_finds_each_sequence_with_its_padding(tmp_path):
    _touch(tmp_path, "r_00000007.exr", "r_00000008.exr", "r_00000010.exr", "a.0001.png", "a.0002.png", "notes.txt")
    found = seq.scan_directory(str(tmp_path), ".exr")
    assert [(os.path.basename(s.head), s.padding, s.tail, s.frames) for s in found] == [("r_", 8, ".exr", (7, 8, 10))]
    assert [os.path.basename(s.head) for s in seq.scan_directory(str(tmp_path))] == ["a.", "r_"]
    assert seq.scan_directory(str(tmp_path / "nope")) == []


@pytest.mark.parametrize("name, stem", [
    ("plate.0001.exr", "plate"), ("sh010_plate.####.exr", "sh010_plate"), ("my shot.mov", "my shot"),
    ("/a/b/plate.%04d.exr", "plate"), ("clip", "clip"), ("A-b_c.9", "A-b_c"),
])
def test_sequence_stem(name, stem):
    assert seq.sequence_stem(name) == stem
