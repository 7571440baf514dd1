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
