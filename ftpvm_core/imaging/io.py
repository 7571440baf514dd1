"""Image I/O through OpenImageIO: read anything OIIO reads, write multi-channel EXRs.

Frame-sequence patterns are read by ``ftpvm_wire.sequences`` (the one parser).

Reading places the data window into the display window (pixels outside the data window are 0), so every image
comes back as (H, W, C) float32 over its display window with its channel names. Layers are EXR channel-name
prefixes (``plate.R`` is channel ``R`` of layer ``plate``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import OpenImageIO as oiio

from ftpvm_core.atomic import atomic_output
from ftpvm_core.errors import InvalidInput

PIXEL_TYPES = {"half": oiio.HALF, "float": oiio.FLOAT}
COMPRESSIONS = ("none", "zip", "zips", "piz", "pxr24", "rle", "b44", "b44a", "dwaa", "dwab")
_RGB_NAMES = (("R", "G", "B"), ("r", "g", "b"), ("red", "green", "blue"))


@dataclass
class ImageData:
    """Pixels over the display window and what the file said about them."""

    pixels: np.ndarray  # (H, W, C) float32
    channels: tuple[str, ...]
    metadata: dict[str, object] = field(default_factory=dict)
    data_window: tuple[int, int, int, int] = (0, 0, 0, 0)  # x, y, width, height
    display_window: tuple[int, int, int, int] = (0, 0, 0, 0)

    def channel(self, name: str) -> np.ndarray:
        """One channel by exact name, (H, W)."""
        try:
            return self.pixels[..., self.channels.index(name)]
        except ValueError:
            raise InvalidInput(f"no channel {name!r}; the image has {', '.join(self.channels)}") from None

    def layers(self) -> list[str]:
        """Layer names (channel prefixes before the last dot), '' for unprefixed channels."""
        return sorted({c.rpartition(".")[0] for c in self.channels})


def read_image(path: str | os.PathLike) -> ImageData:
    """Read every channel of the first subimage of ``path`` (any format OIIO reads)."""
    path = str(path)
    if not os.path.isfile(path):
        raise InvalidInput(f"image not found: {path}")
    inp = oiio.ImageInput.open(path)
    if inp is None:
        raise InvalidInput(f"cannot read image {path}: {oiio.geterror().strip() or 'unknown format'}")
    try:
        spec = inp.spec()
        data = inp.read_image(0, 0, 0, spec.nchannels, "float")
        if data is None:
            raise InvalidInput(f"cannot read pixels of {path}: {inp.geterror().strip() or 'corrupt file'}")
    finally:
        inp.close()
    data = np.asarray(data, dtype=np.float32).reshape(spec.height, spec.width, spec.nchannels)
    full = (spec.full_x, spec.full_y, spec.full_width or spec.width, spec.full_height or spec.height)
    dw = (spec.x, spec.y, spec.width, spec.height)
    if dw != full:
        canvas = np.zeros((full[3], full[2], spec.nchannels), np.float32)
        x0, y0 = spec.x - full[0], spec.y - full[1]
        sx0, sy0 = max(0, -x0), max(0, -y0)
        dx0, dy0 = max(0, x0), max(0, y0)
        w = min(spec.width - sx0, full[2] - dx0)
        h = min(spec.height - sy0, full[3] - dy0)
        if w > 0 and h > 0:
            canvas[dy0:dy0 + h, dx0:dx0 + w] = data[sy0:sy0 + h, sx0:sx0 + w]
        data = canvas
    meta = {a.name: a.value for a in spec.extra_attribs}
    return ImageData(data, tuple(spec.channelnames), meta, dw, full)


def read_unassociated(path: str | os.PathLike, fmt: str = "float") -> np.ndarray:
    """(H, W, C) pixels of ``path`` with alpha un-premultiplied, as OIIO ``fmt`` ("float" or "uint8").

    The training and evaluation readers use this: dataset PNGs store straight alpha. Raises ``OSError``.
    """
    cfg = oiio.ImageSpec()
    cfg.attribute("oiio:UnassociatedAlpha", 1)
    inp = oiio.ImageInput.open(str(path), cfg)
    if inp is None:
        raise OSError(f"cannot read image {path}: {oiio.geterror()}")
    try:
        n = inp.spec().nchannels
        px = inp.read_image(0, 0, 0, n, fmt)
    finally:
        inp.close()
    if px is None:
        raise OSError(f"cannot decode image {path}")
    px = np.asarray(px)
    return px.reshape(px.shape[0], px.shape[1], n)


def _rgb_indices(channels: tuple[str, ...], layer: str | None) -> list[int]:
    prefix = f"{layer}." if layer else ""
    for names in _RGB_NAMES:
        want = [prefix + n for n in names]
        if all(w in channels for w in want):
            return [channels.index(w) for w in want]
    if not layer and len(channels) in (1, 2):  # grey (+alpha): replicate
        return [0, 0, 0]
    layers = sorted({c.rpartition(".")[0] for c in channels if "." in c})
    hint = f"; layers with channels: {', '.join(layers)}" if layers else ""
    where = f"layer {layer!r}" if layer else "the image"
    raise InvalidInput(f"no R, G, B channels in {where} (channels: {', '.join(channels)}){hint}")


def read_rgb(path: str | os.PathLike, layer: str | None = None) -> np.ndarray:
    """(H, W, 3) float32 colour of ``path`` (``layer`` picks ``layer.R/G/B``)."""
    img = read_image(path)
    return np.ascontiguousarray(img.pixels[..., _rgb_indices(img.channels, layer)])


def read_mask(path: str | os.PathLike, channel: str | None = None) -> np.ndarray:
    """(H, W) float32 single channel: ``channel`` if given, else A, alpha, Y, the only channel, or R."""
    img = read_image(path)
    if channel:
        return np.ascontiguousarray(img.channel(channel))
    for name in ("A", "a", "alpha", "Y", "mask", "trimap"):
        if name in img.channels:
            return np.ascontiguousarray(img.channel(name))
    if len(img.channels) >= 3 and img.channels[:3] in (("R", "G", "B"), ("r", "g", "b")):
        return np.ascontiguousarray(img.pixels[..., 0])
    return np.ascontiguousarray(img.pixels[..., 0])


def write_exr(
    path: str | os.PathLike,
    channels: Mapping[str, np.ndarray],
    pixel_type: str | Mapping[str, str] = "half",
    compression: str = "zip",
    metadata: Mapping[str, object] | None = None,
) -> None:
    """Write named (H, W) channels to an OpenEXR file atomically.

    ``pixel_type`` is "half" or "float", or a mapping channel -> type. ``metadata`` values may be str, int, float;
    keys without a namespace are written under ``ftpvm:`` (e.g. ``ftpvm:shot``).
    """
    path = str(path)
    if not channels:
        raise InvalidInput("write_exr needs at least one channel")
    names = list(channels)
    planes = [np.asarray(channels[n], dtype=np.float32) for n in names]
    shape = planes[0].shape
    if len(shape) != 2 or any(p.shape != shape for p in planes):
        raise InvalidInput(f"all EXR channels must be (H, W) of one size; got {[p.shape for p in planes]}")
    if compression not in COMPRESSIONS:
        raise InvalidInput(f"unknown EXR compression {compression!r}; choose one of {', '.join(COMPRESSIONS)}")
    types = {n: (pixel_type[n] if isinstance(pixel_type, Mapping) else pixel_type) for n in names}
    for n, t in types.items():
        if t not in PIXEL_TYPES:
            raise InvalidInput(f"pixel type for {n!r} must be 'half' or 'float', not {t!r}")
    h, w = shape
    mixed = len(set(types.values())) > 1
    # one type goes in the spec's format: OpenImageIO ignores channelformats that are all alike
    spec = oiio.ImageSpec(w, h, len(names), oiio.FLOAT if mixed else PIXEL_TYPES[types[names[0]]])
    spec.channelnames = tuple(names)
    if mixed:
        spec.channelformats = tuple(oiio.TypeDesc(PIXEL_TYPES[types[n]]) for n in names)
    spec.attribute("compression", compression)
    for key, value in (metadata or {}).items():
        key = key if ":" in key else f"ftpvm:{key}"
        if isinstance(value, bool):
            value = int(value)
        spec.attribute(key, value if isinstance(value, (int, float)) else str(value))
    with atomic_output(path, os.path.splitext(path)[1]) as tmp:
        out = oiio.ImageOutput.create(str(tmp))
        if out is None or not out.open(str(tmp), spec):
            raise InvalidInput(f"cannot write {path}: {oiio.geterror().strip() or 'the image library refused it'}")
        ok = out.write_image(np.ascontiguousarray(np.stack(planes, -1)))
        out.close()
        if not ok:
            raise InvalidInput(f"cannot write {path}: {out.geterror().strip() or 'the image library refused it'}")


#: ``write_image`` pixel formats by name
PIXEL_FORMATS = {"uint8": oiio.UINT8, "uint16": oiio.UINT16, "half": oiio.HALF, "float": oiio.FLOAT}


def write_image(path: str | os.PathLike, pixels: np.ndarray, pixel_format: str | None = None) -> None:
    """Write (H, W, C) float pixels in [0, 1] to any format by extension, atomically. ``pixel_format`` (uint8,
    uint16, half, float; the format must hold it) defaults to 8-bit for PNG/JPEG and half otherwise."""
    path = str(path)
    pixels = np.ascontiguousarray(np.asarray(pixels, dtype=np.float32))
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    with atomic_output(path, os.path.splitext(path)[1]) as tmp:
        buf = oiio.ImageBuf(pixels)
        ext = os.path.splitext(path)[1].lower()
        if pixel_format is not None and pixel_format not in PIXEL_FORMATS:
            raise InvalidInput(f"pixel format must be one of {', '.join(PIXEL_FORMATS)}, not {pixel_format!r}")
        fmt = PIXEL_FORMATS[pixel_format] if pixel_format else oiio.UINT8 if ext in (".png", ".jpg", ".jpeg") \
            else oiio.HALF
        if not buf.write(str(tmp), fmt):
            raise InvalidInput(f"cannot write {path}: {buf.geterror().strip() or 'the image library refused it'}")


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name the same file (resolving links), without requiring either to exist."""
    return Path(a).resolve() == Path(b).resolve()
