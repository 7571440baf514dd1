"""Path mode's guard: files are read and written only under the ``--allow-root`` directories.

Paths are made absolute and resolved (symlinks, ``..``) before the check, so neither a
symlink nor ``..`` escapes a root.
"""
from __future__ import annotations

import os
from typing import Iterable, Sequence

import grpc

from ftpvm_wire.sequences import SequenceError, expand

from .limits import WireError


class PathGuard:
    """Resolves wire paths and refuses anything outside the allowed roots."""

    def __init__(self, roots: Iterable[str]):
        self.roots: Sequence[str] = tuple(os.path.realpath(os.path.abspath(os.path.expanduser(r))) for r in roots)

    @property
    def enabled(self) -> bool:
        return bool(self.roots)

    def _inside(self, real: str) -> bool:
        return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in self.roots)

    def resolve(self, path: str, what: str) -> str:
        """The resolved path; PERMISSION_DENIED outside the roots or when path mode is off."""
        if not self.enabled:
            raise WireError(grpc.StatusCode.PERMISSION_DENIED,
                            f"{what} {path!r}: path mode is off on this server; start ftpvm-server with "
                            f"--allow-root DIR, or send pixels inline")
        if not os.path.isabs(path):
            raise WireError(grpc.StatusCode.INVALID_ARGUMENT, f"{what} {path!r} is relative; send an absolute path")
        real = os.path.realpath(path)
        if not self._inside(real):
            raise WireError(grpc.StatusCode.PERMISSION_DENIED,
                            f"{what} {path!r} resolves to {real!r}, outside the server's --allow-root "
                            f"directories ({', '.join(self.roots)})")
        return real

    def readable(self, path: str, what: str) -> str:
        real = self.resolve(path, what)
        if not os.path.isfile(real):
            raise WireError(grpc.StatusCode.NOT_FOUND, f"{what} {path!r} does not exist on the server")
        return real

    def writable(self, path: str, what: str) -> str:
        real = self.resolve(path, what)
        parent = os.path.dirname(real)
        if not os.path.isdir(parent):
            raise WireError(grpc.StatusCode.INVALID_ARGUMENT,
                            f"{what} {path!r}: the folder {parent!r} does not exist on the server; create it first")
        return real


def expand_template(template: str, frame: int) -> str:
    """Put ``frame`` into an output template in any spelling the wire reads (``####``, ``%04d``, ``@@@@``, ``#``)."""
    try:
        return expand(template, frame)
    except SequenceError as exc:
        raise WireError(grpc.StatusCode.INVALID_ARGUMENT, f"output template: {exc}") from None
