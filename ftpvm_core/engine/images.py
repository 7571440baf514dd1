"""Image files in and out of the engine, for callers that hold bytes or paths (the server).

``decode_image`` is the one way such a caller turns a frame or a keyframe guide into pixels; ``write_pass``
writes one result pass as an EXR with the channel names of the wire (``ftpvm_wire.passes.EXR_CHANNELS``).
"""
from __future__ import annotations

import glob
import os
import re
import tempfile
import time
from typing import List, Mapping, Optional, Set, Tuple, Union

import numpy as np

from ftpvm_core.errors import InvalidInput
from ftpvm_core.imaging import io
from ftpvm_wire.passes import EXR_CHANNELS

ImageSource = Union[bytes, str, "os.PathLike[str]"]
KINDS = ("frame", "guide")
#: Prefix of the temp files ``decode_image`` writes for bytes, followed by the writer's PID and a dash.
TEMP_PREFIX = "ftpvm-bytes-"
_OWNED = re.compile(r"^ftpvm-bytes-(\d+)-")
#: What earlier versions named their decode temp files in the system temp folder, without a PID: the server's
#: ``ftpvm-wire-*.exr``, then the engine's ``ftpvm-bytes-<random>.exr``.
LEGACY_PREFIXES = ("ftpvm-wire-", TEMP_PREFIX)
#: A legacy temp file is removed only when no process has it open and it is older than this (a decode that is
#: writing or about to open it is younger).
LEGACY_AGE_S = 60.0


def probe(path: str) -> Tuple[int, int, int]:
    """(width, height, channels) of an image file from its header alone (no pixels are read)."""
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        raise InvalidInput(f"cannot read image <path>: {oiio.geterror().strip() or 'unknown format'}")
    try:
        spec = inp.spec()
        return int(spec.width), int(spec.height), int(spec.nchannels)
    finally:
        inp.close()


def decode_image(source: ImageSource, kind: str, temp_dir: Optional[str] = None) -> np.ndarray:
    """A frame as (H, W, 3) float32, or a guide (trimap or roto matte) as (H, W) float32.

    ``source`` is a file path, or the bytes of an EXR file (their error messages say ``<bytes>`` for the file),
    which go through a temp file ``TEMP_PREFIX<pid>-*.exr`` in ``temp_dir`` (the system's by default, where
    ``remove_stale_temp_files`` finds what a killed process left; the server gives its locked state directory,
    emptied at its start-up).
    Raises ``InvalidInput`` when the image cannot be read.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    read = io.read_rgb if kind == "frame" else io.read_mask
    if not isinstance(source, (bytes, bytearray, memoryview)):
        return read(source)
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=".exr", dir=temp_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(source)
        return read(tmp)
    except InvalidInput as exc:
        raise InvalidInput(str(exc).replace(tmp, "<bytes>")) from None
    finally:
        os.unlink(tmp)


def pid_alive(pid: int) -> bool:
    """True when a process with this PID exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _open_files() -> Set[Tuple[int, int]]:
    """(device, inode) of every file a process this user can see has open (Linux ``/proc``; elsewhere empty)."""
    found: Set[Tuple[int, int]] = set()
    for fd_dir in glob.glob("/proc/[0-9]*/fd"):
        try:
            names = os.listdir(fd_dir)
        except OSError:
            continue
        for name in names:
            try:
                st = os.stat(os.path.join(fd_dir, name))
            except OSError:
                continue
            found.add((st.st_dev, st.st_ino))
    return found


def remove_stale_temp_files(directory: Optional[str] = None) -> List[str]:
    """Remove the decode temp files no live process owns from ``directory`` (default: the system temp folder);
    returns their paths. ``ftpvm-bytes-<pid>-*`` is stale when that PID is gone; a legacy name (no PID, see
    ``LEGACY_PREFIXES``) when no process has it open and it is older than ``LEGACY_AGE_S``. Files of other users
    and files we cannot remove are left alone."""
    directory = directory or tempfile.gettempdir()
    removed: List[str] = []
    in_use: Optional[Set[Tuple[int, int]]] = None
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not name.startswith(LEGACY_PREFIXES) or not entry.is_file(follow_symlinks=False):
            continue
        owned = _OWNED.match(name)
        try:
            st = entry.stat(follow_symlinks=False)
            if st.st_uid != os.getuid():
                continue
            if owned is not None:
                if pid_alive(int(owned.group(1))):
                    continue
            else:
                if time.time() - st.st_mtime < LEGACY_AGE_S:
                    continue
                if in_use is None:
                    in_use = _open_files()
                if (st.st_dev, st.st_ino) in in_use:
                    continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(entry.path)
    return removed


def write_pass(path: str, name: str, image: np.ndarray, metadata: Mapping[str, object]) -> None:
    """Write pass ``name`` ((H, W) or (H, W, C) float) to ``path`` as a half EXR, atomically."""
    planes = image[:, :, None] if image.ndim == 2 else image
    io.write_exr(path, {c: planes[:, :, i] for i, c in enumerate(EXR_CHANNELS[name])}, metadata=metadata)
