"""The one way this library writes a file: whole or not at all, with the permissions a plain ``open()`` gives.

A temp file in the target's folder is written, fsynced and renamed over the target (then the folder is fsynced), so a
killed process leaves the old file or the new one, never a torn one. ``tempfile.mkstemp`` creates files readable by
their owner only; the finished file gets ``0o666 & ~umask`` instead, so other users and render-farm nodes can read
outputs and state as they could any file the user writes.
"""
from __future__ import annotations

import functools
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

TEMP_PREFIX = ".tmp-"


@functools.lru_cache(maxsize=1)
def process_umask() -> int:
    """The process's umask, read without changing it where the platform allows (Linux's /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read by setting, then restore at once
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_output(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temp path beside ``path`` to write by name (e.g. an image library); on success it becomes ``path``.

    ``suffix`` keeps an extension for writers that choose the format by it. On an exception the temp file is removed
    and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~process_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see the module docstring)."""
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


__all__ = ["TEMP_PREFIX", "atomic_output", "atomic_write_bytes", "process_umask"]
