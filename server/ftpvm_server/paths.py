"""Path mode's guard: files are read and written only under the ``--allow-root`` directories.

A wire path must name, lexically, a place under a root (``..`` is resolved as text first). It is
then opened component by component from the root's directory descriptor with ``O_NOFOLLOW``, so
no symlink is ever followed below a root and the check and the use are one step: swapping a
folder for a symlink while a request runs cannot lead outside. Callers get the open file (or
folder) as a ``/proc/self/fd`` path that names the object already opened. Refusals echo the
client's own path, never a resolved server path.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
from typing import Iterable, Iterator, List, Sequence, Tuple

import grpc

from ftpvm_wire.sequences import Sequence as FrameSequence
from ftpvm_wire.sequences import SequenceError, expand

from .limits import WireError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
#: Most digits of frame-number padding an output template may ask for (frame numbers have at most 10).
MAX_TEMPLATE_PADDING = 16


def fd_path(fd: int) -> str:
    """A path naming the object behind ``fd`` itself (Linux's magic links), for libraries that want a name."""
    return f"/proc/self/fd/{fd}"


class PathGuard:
    """Checks wire paths against the allowed roots and opens them without following symlinks."""

    def __init__(self, roots: Iterable[str]):
        given = [os.path.normpath(os.path.abspath(os.path.expanduser(r))) for r in roots]
        self.roots: Sequence[str] = tuple(os.path.realpath(r) for r in given)
        # a root may be spelled through a symlink of its own (e.g. /tmp); both spellings name it
        self._spellings: Tuple[Tuple[str, str], ...] = tuple(
            (spelling, real) for g, real in zip(given, self.roots) for spelling in dict.fromkeys((g, real)))

    @property
    def enabled(self) -> bool:
        return bool(self.roots)

    def _denied(self, path: str, what: str, why: str) -> WireError:
        return WireError(grpc.StatusCode.PERMISSION_DENIED,
                         f"{what} {path!r} {why}, outside the server's --allow-root directories "
                         f"({', '.join(self.roots)}); symlinks below a root are not followed")

    def check(self, path: str, what: str) -> Tuple[str, List[str]]:
        """(real root, components below it) for ``path``; PERMISSION_DENIED outside the roots or without path mode."""
        if not self.enabled:
            raise WireError(grpc.StatusCode.PERMISSION_DENIED,
                            f"{what} {path!r}: path mode is off on this server; start ftpvm-server with "
                            f"--allow-root DIR, or send pixels inline")
        if not os.path.isabs(path):
            raise WireError(grpc.StatusCode.INVALID_ARGUMENT, f"{what} {path!r} is relative; send an absolute path")
        norm = os.path.normpath(path)
        for spelling, real in self._spellings:
            if norm == spelling or norm.startswith(spelling.rstrip(os.sep) + os.sep):
                rest = norm[len(spelling):].strip(os.sep)
                return real, [part for part in rest.split(os.sep) if part]
        raise self._denied(path, what, "is")

    def _open_dir(self, path: str, what: str, parts: List[str], root: str) -> int:
        """A descriptor of the folder ``root/parts...``, walked without following symlinks (caller closes it)."""
        fd = os.open(root, _DIR_FLAGS & ~os.O_NOFOLLOW)
        try:
            for part in parts:
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if _is_link(fd, part):
                        raise self._denied(path, what, "goes through a symlink") from None
                    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                        raise _Missing() from None
                    raise
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    @contextlib.contextmanager
    def open_readable(self, path: str, what: str) -> Iterator[str]:
        """Open a regular file under a root; yields a path naming the opened file, valid in the block."""
        root, parts = self.check(path, what)
        missing = WireError(grpc.StatusCode.NOT_FOUND, f"{what} {path!r} does not exist on the server")
        if not parts:
            raise missing
        try:
            dfd = self._open_dir(path, what, parts[:-1], root)
        except _Missing:
            raise missing from None
        try:
            fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=dfd)
        except OSError:
            if _is_link(dfd, parts[-1]):
                raise self._denied(path, what, "is a symlink") from None
            raise missing from None
        finally:
            os.close(dfd)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise missing
            os.set_blocking(fd, True)
            yield fd_path(fd)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def open_writable(self, path: str, what: str) -> Iterator[str]:
        """Open the folder of ``path`` under a root; yields a path for the file inside that opened folder."""
        root, parts = self.check(path, what)
        if not parts:
            raise WireError(grpc.StatusCode.INVALID_ARGUMENT, f"{what} {path!r} names a root, not a file")
        try:
            dfd = self._open_dir(path, what, parts[:-1], root)
        except _Missing:
            raise WireError(grpc.StatusCode.INVALID_ARGUMENT, f"{what} {path!r}: its folder does not exist on the "
                                                              f"server; create it first") from None
        try:
            if _is_link(dfd, parts[-1]):
                raise self._denied(path, what, "is a symlink")
            yield os.path.join(fd_path(dfd), parts[-1])
        finally:
            os.close(dfd)

    def check_writable(self, path: str, what: str) -> None:
        """Refuse now what ``open_writable`` would refuse (used when a call starts)."""
        with self.open_writable(path, what):
            pass


class _Missing(Exception):
    """A folder on the way to a path does not exist."""


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def expand_template(template: str, frame: int) -> str:
    """Put ``frame`` into an output template in any spelling the wire reads (``####``, ``%04d``, ``@@@@``, ``#``)."""
    try:
        padding = FrameSequence.parse(template).padding
    except SequenceError as exc:
        raise WireError(grpc.StatusCode.INVALID_ARGUMENT, f"output template: {exc}") from None
    if padding > MAX_TEMPLATE_PADDING:
        raise WireError(grpc.StatusCode.INVALID_ARGUMENT,
                        f"output template pads frame numbers to {padding} digits; the most is "
                        f"{MAX_TEMPLATE_PADDING} (e.g. %04d or ####)")
    try:
        return expand(template, frame)
    except SequenceError as exc:
        raise WireError(grpc.StatusCode.INVALID_ARGUMENT, f"output template: {exc}") from None
