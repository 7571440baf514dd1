"""Image files in and out of the engine, for callers that hold bytes or paths (the server).

``decode_image`` is the one way such a caller turns a frame or a keyframe guide into pixels; ``write_pass``
writes one result pass as an EXR with the channel names of the wire (``ftpvm_wire.passes.EXR_CHANNELS``).
"""
from __future__ import annotations

import os
import tempfile
from typing import Mapping, Optional, Tuple, Union

import numpy as np

from ftpvm_core.errors import InvalidInput
from ftpvm_core.imaging import io
from ftpvm_wire.passes import EXR_CHANNELS

ImageSource = Union[bytes, str, "os.PathLike[str]"]
KINDS = ("frame", "guide")
#: Prefix of the temp files ``decode_image`` writes for bytes.
TEMP_PREFIX = "ftpvm-bytes-"


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
    which go through a temp file ``TEMP_PREFIX*.exr`` in ``temp_dir`` (the system's by default; the server gives
    its locked state directory, where start-up removes what a killed process left).
    Raises ``InvalidInput`` when the image cannot be read.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    read = io.read_rgb if kind == "frame" else io.read_mask
    if not isinstance(source, (bytes, bytearray, memoryview)):
        return read(source)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".exr", dir=temp_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(source)
        return read(tmp)
    except InvalidInput as exc:
        raise InvalidInput(str(exc).replace(tmp, "<bytes>")) from None
    finally:
        os.unlink(tmp)


def write_pass(path: str, name: str, image: np.ndarray, metadata: Mapping[str, object]) -> None:
    """Write pass ``name`` ((H, W) or (H, W, C) float) to ``path`` as a half EXR, atomically."""
    planes = image[:, :, None] if image.ndim == 2 else image
    io.write_exr(path, {c: planes[:, :, i] for i, c in enumerate(EXR_CHANNELS[name])}, metadata=metadata)
