"""The one shot-id rule: what is valid, the messages, and ids derived from host names."""
from __future__ import annotations

import pytest

from ftpvm_wire.shots import SHOT_ID_MAX, ShotIdError, check_shot_id, is_valid_shot_id, shot_id_from


@pytest.mark.parametrize("good", ["sh010", "sh010.a-b_c", "_x", "-x", "9", "x" * SHOT_ID_MAX])
def test_valid_ids(good):
    assert check_shot_id(good) == good and is_valid_shot_id(good)


@pytest.mark.parametrize("bad", ["", ".hidden", "a/b", "../etc", "a b", "é", "x" * (SHOT_ID_MAX + 1), None, 5])
def test_invalid_ids_are_explained(bad):
    assert not is_valid_shot_id(bad)
    with pytest.raises(ShotIdError, match="letters, digits") as info:
        check_shot_id(bad)
    assert isinstance(info.value, ValueError)
    with pytest.raises(ShotIdError, match="^shot_id "):
        check_shot_id(bad, "shot_id")


@pytest.mark.parametrize("text, expected", [
    ("my shot (final)", "my_shot_final"), ("..hidden", "hidden"), ("%%%", "shot"), ("", "shot"),
    ("a__b", "a_b"), ("sh010.comp", "sh010.comp"), ("x" * 300, "x" * SHOT_ID_MAX), ("é clip", "clip"),
])
def test_ids_derived_from_names_are_valid(text, expected):
    assert shot_id_from(text) == expected and is_valid_shot_id(expected)


def test_derived_ids_respect_a_shorter_limit_and_a_fallback():
    assert shot_id_from("a" * 100, max_length=40) == "a" * 40
    assert shot_id_from("???", fallback="untitled") == "untitled"
    with pytest.raises(ShotIdError):
        shot_id_from("???", fallback=".bad")
