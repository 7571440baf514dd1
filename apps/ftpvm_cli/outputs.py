"""What ``ftpvm matte`` writes per frame, checked before any weights load: patterns, extensions, folders.

``--out`` is one multi-channel EXR per frame (A, trimap, fg.R/G/B); ``--output-alpha``, ``--output-foreground``
and ``--output-trimap`` are separate sequences (EXR, or PNG / TIFF where the pass allows), the way
RobustVideoMatting's ``--output-alpha`` / ``--output-foreground`` are; ``--preview`` is a movie of the foreground
over a checkerboard (PyAV, ``pip install "ftpvm[movie]"``).
"""
from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ftpvm_wire.sequences import Sequence, SequenceError

from .errors import CLIError

#: per output flag: the extensions it writes, and the pixel format of each (None = EXR, half or float)
FORMATS: dict[str, dict[str, str | None]] = {
    "--out": {".exr": None},
    "--output-alpha": {".exr": None, ".png": "uint16", ".tif": "uint16", ".tiff": "uint16"},
    "--output-foreground": {".exr": None, ".tif": "float", ".tiff": "float"},
    "--output-trimap": {".exr": None, ".png": "uint8", ".tif": "uint8", ".tiff": "uint8"},
}
PREVIEW_EXTENSIONS = (".mp4", ".mov", ".m4v", ".mkv")
PREVIEW_INSTALL = 'pip install "ftpvm[movie]"'


def check_folder(target: str, flag: str) -> None:
    """Whether ``target``'s folder exists or could be made, and takes a new file; creates nothing that stays.
    CLIError naming the flag and the reason otherwise."""
    folder = Path(os.path.abspath(target)).parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise CLIError(f"{flag}: cannot write {target}: {existing} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise CLIError(f"{flag}: cannot write in {existing}: {exc.strerror or exc}; choose a folder you can "
                       f"write to") from None


@dataclass
class Output:
    flag: str
    text: str  # as the user wrote it
    pattern: Sequence
    fmt: str | None  # None: EXR

    def path(self, frame: int) -> str:
        return self.pattern.path(frame)


@dataclass
class Outputs:
    """The checked outputs of one ``ftpvm matte`` run."""

    exr: Output | None = None
    alpha: Output | None = None
    foreground: Output | None = None
    trimap: Output | None = None
    preview: str | None = None
    pixel_type: str = "half"
    compression: str = "zip"
    _movie: Any = field(default=None, repr=False)

    @property
    def sequences(self) -> list[Output]:
        return [o for o in (self.exr, self.alpha, self.foreground, self.trimap) if o is not None]

    def needs_foreground(self, foreground_flag: bool) -> bool:
        return self.foreground is not None or self.preview is not None or (self.exr is not None and foreground_flag)

    def write(self, frame: int, alpha: np.ndarray, trimap: np.ndarray, foreground: np.ndarray | None,
              fg_in_exr: bool, metadata: dict) -> None:
        from ftpvm_core.imaging.io import write_exr, write_image

        meta = {**metadata, "frame": frame}
        if self.exr is not None:
            channels = {"A": alpha, "trimap": trimap}
            if fg_in_exr and foreground is not None:
                channels.update({f"fg.{c}": foreground[..., i] for i, c in enumerate("RGB")})
            write_exr(self.exr.path(frame), channels, pixel_type=self.pixel_type, compression=self.compression,
                      metadata=meta)
        for out, plane, names in ((self.alpha, alpha, ("A",)), (self.trimap, trimap, ("Y",)),
                                  (self.foreground, foreground, ("R", "G", "B"))):
            if out is None or plane is None:
                continue
            if out.fmt is None:
                planes = [plane] if plane.ndim == 2 else [plane[..., i] for i in range(plane.shape[-1])]
                write_exr(out.path(frame), dict(zip(names, planes)), pixel_type=self.pixel_type,
                          compression=self.compression, metadata=meta)
            else:
                write_image(out.path(frame), plane, pixel_format=out.fmt)

    def open_preview(self, width: int, height: int, colorspace: str, fps: float = 24.0) -> None:
        if self.preview is not None:
            self._movie = PreviewMovie(self.preview, width, height, colorspace, fps)

    def add_preview(self, foreground: np.ndarray | None, alpha: np.ndarray, premultiplied: bool) -> None:
        if self._movie is not None and foreground is not None:
            if premultiplied:  # the preview shows the straight colour over the checkerboard
                a = alpha[..., None]
                foreground = np.where(a > 1e-4, foreground / np.maximum(a, 1e-4), 0.0).astype(np.float32)
            self._movie.add(foreground, alpha)

    def close(self, ok: bool) -> None:
        if self._movie is not None:
            self._movie.close(ok)
            self._movie = None


def _pattern(flag: str, text: str) -> Output:
    try:
        pattern = Sequence.parse(text)
    except SequenceError as exc:
        raise CLIError(f"{flag}: {exc}") from None
    ext = os.path.splitext(pattern.path(0))[1].lower()
    formats = FORMATS[flag]
    if ext not in formats:
        raise CLIError(f"{flag} {text!r}: cannot write {ext or 'files without an extension'} here; "
                       f"use {', '.join(formats)}")
    return Output(flag, text, pattern, formats[ext])


def plan_outputs(args: argparse.Namespace) -> Outputs:
    """Every output flag parsed and checked (extension, compression, PyAV for a preview); folders are checked
    with :func:`check_folder` once the frames are known."""
    from ftpvm_core.imaging.io import COMPRESSIONS

    if args.compression not in COMPRESSIONS:
        raise CLIError(f"--compression {args.compression!r} is not an EXR compression; choose one of "
                       f"{', '.join(COMPRESSIONS)}")
    outs = Outputs(pixel_type=args.pixel_type, compression=args.compression)
    for flag, attr in (("--out", "exr"), ("--output-alpha", "alpha"), ("--output-foreground", "foreground"),
                       ("--output-trimap", "trimap")):
        text = getattr(args, flag[2:].replace("-", "_"))
        if text:
            setattr(outs, attr, _pattern(flag, text))
    if args.preview:
        if not args.preview.lower().endswith(PREVIEW_EXTENSIONS):
            raise CLIError(f"--preview {args.preview!r}: write a movie ({', '.join(PREVIEW_EXTENSIONS)})")
        try:
            import av  # noqa: F401
        except ImportError:
            raise CLIError(f"--preview needs PyAV, which is not installed: {PREVIEW_INSTALL}") from None
        outs.preview = args.preview
    if not outs.sequences and outs.preview is None:
        raise CLIError("say what to write: --out PATTERN (multi-channel EXR), --output-alpha, --output-foreground, "
                       "--output-trimap or --preview")
    targets = [o.path(0) for o in outs.sequences] + ([outs.preview] if outs.preview else [])
    if len(set(map(os.path.abspath, targets))) < len(targets):
        raise CLIError("two outputs would write the same files; give each output its own pattern")
    return outs


class PreviewMovie:
    """Foreground over a checkerboard, display-referred, H.264 (or MPEG-4 part 2) through PyAV; atomic."""

    def __init__(self, path: str, width: int, height: int, colorspace: str, fps: float) -> None:
        import av

        from ftpvm_core.atomic import atomic_output
        from ftpvm_core.imaging.colour import ColourConverter

        self._display = ColourConverter(colorspace)  # plate colour space -> the model's sRGB (display)
        self._atomic = atomic_output(path, os.path.splitext(path)[1])
        tmp = self._atomic.__enter__()
        self._container = av.open(str(tmp), "w")
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        self._stream = self._container.add_stream(codec, rate=int(round(fps)))
        self._stream.width, self._stream.height = width - width % 2, height - height % 2
        self._stream.pix_fmt = "yuv420p"
        yy, xx = np.mgrid[0:height, 0:width]
        self._checker = np.repeat((0.18 + 0.25 * (((yy // 16) + (xx // 16)) % 2))[..., None], 3, -1)

    def add(self, foreground: np.ndarray, alpha: np.ndarray) -> None:
        import av

        a = alpha[..., None]
        rgb = np.clip(self._display.to_model(foreground) * a + self._checker * (1 - a), 0, 1)
        rgb = (rgb[: self._stream.height, : self._stream.width] * 255 + 0.5).astype(np.uint8)
        for packet in self._stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")):
            self._container.mux(packet)

    def close(self, ok: bool) -> None:
        try:
            if ok:
                for packet in self._stream.encode():
                    self._container.mux(packet)
            self._container.close()
        finally:
            if ok:
                self._atomic.__exit__(None, None, None)
            else:
                err = RuntimeError("matte stopped")
                self._atomic.__exit__(type(err), err, None)
