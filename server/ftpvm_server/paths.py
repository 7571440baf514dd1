"""Path mode's guard: files are read and written only under the ``--allow-root`` directories.

Paths are made absolute and resolved (symlinks, ``..``) before the check, so neither a
symlink nor ``..`` escapes a root.
"""
from __future__ import annotations

import os
import re
from typing import Iterable, Sequence

import grpc

from .limits import WireError

_HASHES = re.compile(r"#+")
_PRINTF = re.compile(r"%0?(\d*)d")


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
    """Put ``frame`` into a ``####`` or ``%04d`` template (or append nothing when it has neither)."""
    if _PRINTF.search(template):
        return _PRINTF.sub(lambda m: f"{frame:0{m.group(1) or 1}d}", template, count=1)
    if _HASHES.search(template):
        return _HASHES.sub(lambda m: f"{frame:0{len(m.group(0))}d}", template, count=1)
    raise WireError(grpc.StatusCode.INVALID_ARGUMENT,
                    f"output template {template!r} has no frame number; add #### or %04d")
