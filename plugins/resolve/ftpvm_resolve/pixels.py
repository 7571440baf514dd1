"""Reading mattes and plates, writing result EXRs (OpenImageIO, imported only when pixels are needed)."""
from __future__ import annotations

import os
from typing import Any, Optional

import numpy as np


class PixelsError(RuntimeError):
    """A file could not be read or written; the message names it and says why."""


def _oiio() -> Any:
    try:
        import OpenImageIO as oiio  # noqa: N813
    except ImportError:
        raise PixelsError("Reading mattes needs OpenImageIO in the Python that Resolve uses: run "
                          "'python3 -m pip install OpenImageIO' with that Python, then restart Resolve.") from None
    return oiio


def read(path: str) -> np.ndarray:
    """(H, W, C) float32 pixels of the first subimage of ``path``, H x W being its display window.

    An EXR's data window may be smaller than its display window (Fusion's Saver writes a tool's domain of
    definition, e.g. a mask's shape) or reach past it: the pixels are placed into the display window, cropped
    where they lie outside it, black where they do not cover it (OpenImageIO's ``roi_full``).
    """
    oiio = _oiio()
    if not os.path.isfile(path):
        raise PixelsError(f"{path} does not exist.")
    buf = oiio.ImageBuf(path)
    if buf.has_error:
        raise PixelsError(f"Cannot read {path}: {buf.geterror()}")
    full = buf.roi_full
    pixels = buf.get_pixels(oiio.FLOAT, full)
    if pixels is None or pixels.size == 0:
        raise PixelsError(f"Cannot read {path}: {buf.geterror() or 'no pixels'}")
    return np.asarray(pixels, dtype=np.float32).reshape(full.height, full.width, -1)


def read_rgb(path: str) -> np.ndarray:
    """(H, W, 3) float32 (grey images are repeated to three channels)."""
    image = read(path)
    if image.shape[2] >= 3:
        return np.ascontiguousarray(image[:, :, :3])
    return np.repeat(image[:, :, :1], 3, axis=2)


def read_guide(path: str, kind: str, shape: Optional[tuple] = None) -> np.ndarray:
    """(H, W) float32 guide as the file holds it: a trimap, or a roto matte (the server builds the trimap).

    A roto matte is taken from the alpha channel when the file has one, else from the first channel.
    """
    image = read(path)
    channel = image[:, :, 3] if kind == "roto" and image.shape[2] == 4 else image[:, :, 0]
    if shape is not None and channel.shape != tuple(shape):
        raise PixelsError(f"{path} is {channel.shape[1]}x{channel.shape[0]} but the plate is "
                          f"{shape[1]}x{shape[0]}; give a matte of the plate's size.")
    return np.ascontiguousarray(channel, dtype=np.float32)


def write_exr(path: str, image: np.ndarray, channels: Optional[tuple] = None) -> str:
    """Write ``image`` ((H, W) or (H, W, C)) as a half-float EXR; refuses to replace an existing file."""
    oiio = _oiio()
    if os.path.exists(path):
        raise PixelsError(f"{path} exists already; results never overwrite files.")
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = image[:, :, None]
    h, w, c = image.shape
    spec = oiio.ImageSpec(w, h, c, oiio.HALF)
    spec.channelnames = channels or (("A",) if c == 1 else ("R", "G", "B", "A")[:c])
    spec.attribute("compression", "zip")
    out = oiio.ImageOutput.create(path)
    if out is None or not out.open(path, spec):
        raise PixelsError(f"Cannot write {path}: {oiio.geterror() if out is None else out.geterror()}")
    try:
        if not out.write_image(np.ascontiguousarray(image)):
            raise PixelsError(f"Cannot write {path}: {out.geterror()}")
    finally:
        out.close()
    return path
