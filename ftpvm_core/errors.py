"""The exceptions of the engine and its imaging helpers; each message is one line that says what to fix.

The server maps them to gRPC codes (see docs/engine-api.md); the CLI prints them as one line with exit 2.
"""
from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class InvalidInput(EngineError, ValueError):
    """Bad id, size, colour space, trimap, image, settings or frame number."""


class ShotNotFound(EngineError, KeyError):
    """No shot with that id in the state directory."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "shot not found"


class NoKeyframe(EngineError):
    """The operation needs a keyframe that is not there."""


class ShotConflict(EngineError):
    """A shot with that id exists with different settings (pass reset=True to replace it)."""


class Cancelled(EngineError):
    """The caller's cancel event was set."""


class StateError(EngineError):
    """The state directory cannot be used (permissions, disk full, unreadable files)."""


class ShotDamaged(StateError):
    """A shot's record (``shot.json``) cannot be read: the shot must be deleted and opened again."""


class IndexDamaged(StateError):
    """A shot's frame index (``index.json``) cannot be read, so earlier frames' states cannot be found: the shot's
    cache must be reset (keyframes stay) and the frames matted again from the start of their range."""


class StateLost(EngineError):
    """The recurrent state before ``frame`` is no longer stored (evicted by the cache size limit, or damaged) and
    cannot be replayed from what is stored: send ``frames`` again, in order, then ``frame``, for the exact result."""

    def __init__(self, frame: int, frames: list[int]):
        self.frame, self.frames = int(frame), [int(f) for f in frames]
        super().__init__(f"the recurrent state before frame {frame} is no longer stored (evicted by the cache size "
                         f"limit, or damaged); send frame(s) {_span(self.frames)} again, in order, then frame {frame}, "
                         f"for the same result as an uninterrupted run")


def _span(frames: list[int]) -> str:
    """``4-11`` for a run of consecutive frames, else a comma list."""
    if frames and frames == list(range(frames[0], frames[-1] + 1)) and len(frames) > 1:
        return f"{frames[0]}-{frames[-1]}"
    return ",".join(map(str, frames))
