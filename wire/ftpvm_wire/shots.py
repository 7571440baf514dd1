"""The shot-id rule: what a shot id may be, and how to make one from a host's name for a shot.

A shot id is 1 to 128 letters, digits, ``.``, ``_`` or ``-``, not starting with ``.``: safe as a folder name on
every platform and in a URL. The engine, the server and every plugin check ids with :func:`check_shot_id` and
derive default ids with :func:`shot_id_from`.
"""
from __future__ import annotations

import re

SHOT_ID_MAX = 128
_VALID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,%d}" % (SHOT_ID_MAX - 1))
_INVALID_RUN = re.compile(r"[^A-Za-z0-9._-]+")
RULE = f"use 1-{SHOT_ID_MAX} letters, digits, '.', '_' or '-', not starting with '.'"


class ShotIdError(ValueError):
    """A shot id that breaks the rule; the message says what a valid one looks like."""


def is_valid_shot_id(value: object) -> bool:
    """Whether ``value`` is a valid shot id."""
    return isinstance(value, str) and _VALID.fullmatch(value) is not None


def check_shot_id(value: object, what: str = "shot id") -> str:
    """``value`` when it is a valid shot id, else :class:`ShotIdError` (its message names the id ``what``)."""
    if not is_valid_shot_id(value):
        if value == "":
            raise ShotIdError(f"{what} is empty; give the shot a name such as 'sh010' ({RULE})")
        shown = value[:64] if isinstance(value, str) else value
        raise ShotIdError(f"{what} {shown!r} is not valid: {RULE}")
    return value  # type: ignore[return-value]


def shot_id_from(text: str, fallback: str = "shot", max_length: int = SHOT_ID_MAX) -> str:
    """A valid shot id made from any text: runs of other characters become one '_', leading dots and
    surrounding '_' are dropped, the result is cut to ``max_length``; ``fallback`` when nothing is left.

    ``shot_id_from("my shot (final)")`` -> ``"my_shot_final"``.
    """
    cleaned = _INVALID_RUN.sub("_", text or "")
    cleaned = re.sub(r"_+", "_", cleaned).strip("_").lstrip(".").strip("_")[:min(max_length, SHOT_ID_MAX)]
    return cleaned if is_valid_shot_id(cleaned) else check_shot_id(fallback)
