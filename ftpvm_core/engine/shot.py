"""A shot: its metadata, keyframes, settings and public surface; the work lives in its parts.

Parts: :mod:`~ftpvm_core.engine.chain` (chain keys and the index), :mod:`~ftpvm_core.engine.caches` (states,
inputs, results), :mod:`~ftpvm_core.engine.memory_bank` (encoded keyframe memory) and
:mod:`~ftpvm_core.engine.matting` (the matte loop over the model-layer streaming step). A shot gets what it needs
from the engine as a :class:`~ftpvm_core.engine.context.ShotContext`.
"""
from __future__ import annotations

import io
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

import numpy as np
import torch

from ftpvm_core.engine.caches import ShotCaches
from ftpvm_core.engine.chain import ChainIndex, image_hash, sha1
from ftpvm_core.engine.context import ShotContext
from ftpvm_core.engine.matting import FrameResult, MatteLoop, frame_tensor, model_input
from ftpvm_core.engine.inventory import read_shot_record
from ftpvm_core.engine.memory_bank import MemoryBank, select_memory
from ftpvm_core.engine.settings import PASSES, ShotSettings
from ftpvm_core.atomic import atomic_write_bytes
from ftpvm_core.engine.store import atomic_write_json
from ftpvm_core.errors import Cancelled, IndexDamaged, InvalidInput, NoKeyframe, ShotNotFound, StateLost
from ftpvm_core.imaging.colour import ColourConverter
from ftpvm_core.imaging.trimap import keyframe_trimap
from ftpvm_core.model.precision import DTYPES
from ftpvm_core.model.step_types import Memory

DTYPES_BY_NAME = {"float16": torch.float16, "float32": torch.float32}

SHOT_SCHEMA = 1
ENGINE_ALGORITHM = 4  # bump when a change alters results or keys for the same inputs (3: state checkpoints; 4:
#                      input hash SHA-256 over chunks)


@dataclass(frozen=True)
class KeyframeInfo:
    frame: int
    content_hash: str
    width: int
    height: int
    source: str  # "trimap" | "mask" | "inner_outer"


class Shot:
    """One shot in the engine's store. Use :meth:`Engine.open_shot` / :meth:`Engine.get_shot` to get one."""

    def __init__(self, context: ShotContext, meta: dict):
        self._ctx = context
        self._store = context.store
        self.id: str = meta["id"]
        self.width: int = int(meta["width"])
        self.height: int = int(meta["height"])
        self.colorspace: str = meta["colorspace"]
        self._dir = self._store.shot_dir(self.id)
        self._lock = self._store.lock(self.id)
        #: encoded keyframe memory (``memory_bank.encodes`` counts the network's encodes)
        self.memory_bank = MemoryBank(self._store, self.id, context.fingerprint)
        #: recurrent states, model inputs and results under chain keys
        self.caches = ShotCaches(self._store, self._dir, context.device, context.memory_states,
                                 context.warmup_frames + 2)
        self._chain = ChainIndex(self._store, self._dir / "index.json", self._key)
        self._kf_tensors: dict[int, tuple[str, torch.Tensor, torch.Tensor]] = {}
        self._stamp: tuple | None = None
        #: ``time.monotonic()`` of the last use since the RAM caches were last released (None: nothing held)
        self.last_used: float | None = time.monotonic()
        self._apply_meta(meta)

    # ------------------------------------------------------------------ metadata
    @property
    def _meta_path(self) -> Path:
        return self._dir / "shot.json"

    def _apply_meta(self, meta: dict) -> None:
        self.settings = ShotSettings.from_dict(meta["settings"])
        self._keyframes: dict[int, dict] = {int(k): v for k, v in meta.get("keyframes", {}).items()}
        self._colour = ColourConverter(self.colorspace, self.settings.highlights)
        self._step = self._ctx.step(self.settings.precision, self.settings.downsample_ratio)
        self.ratio = self._step.ratio_for(self.height, self.width)
        self.dtype = DTYPES[self._step.precision]
        self._static = sha1(json.dumps({
            "fingerprint": self._ctx.fingerprint, "algorithm": ENGINE_ALGORITHM, "size": [self.width, self.height],
            "colorspace": self.colorspace, "settings": self.settings.model_dict(), "ratio": self.ratio,
            "dtype": str(self.dtype), "state": [self._ctx.state_every, self._ctx.state_dtype]},
            sort_keys=True))[:16]
        self._loop = MatteLoop(self._step, _KeyframeView(self), self._colour, self.settings, self._chain,
                               self.caches, self._key, self._input_name, self._ctx.warmup_frames,
                               self._ctx.state_every, DTYPES_BY_NAME[self._ctx.state_dtype])
        self._chain.invalidate()
        try:
            st = os.stat(self._meta_path)
            self._stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            self._stamp = None

    def meta(self) -> dict:
        return {"schema": SHOT_SCHEMA, "id": self.id, "width": self.width, "height": self.height,
                "colorspace": self.colorspace, "settings": self.settings.to_dict(),
                "keyframes": {str(k): v for k, v in sorted(self._keyframes.items())}}

    def _write_meta(self) -> None:
        atomic_write_json(self._meta_path, self.meta())
        st = os.stat(self._meta_path)
        self._stamp = (st.st_mtime_ns, st.st_size, st.st_ino)

    def _refresh(self) -> None:
        """Reload shot.json if another process or engine changed it (call with the lock held)."""
        try:
            st = os.stat(self._meta_path)
        except OSError:
            raise ShotNotFound(f"shot {self.id!r} was deleted") from None
        if (st.st_mtime_ns, st.st_size, st.st_ino) != self._stamp:
            self._apply_meta(read_shot_record(self._store, self.id))

    def _keyframes_changed(self, frame: int) -> None:
        self._chain.invalidate()
        self._kf_tensors.pop(frame, None)

    def touch(self) -> None:
        """The shot is in use (its RAM caches may fill): an idle timer counts from now."""
        self.last_used = time.monotonic()

    def release_ram(self) -> None:
        """Drop this shot's RAM copies (recurrent states, inputs, keyframe tensors, encoded memory); the disk
        copies stay, so the next frame loads or replays them exactly."""
        with self._lock.hold():
            self.caches.clear_ram()
            self._kf_tensors.clear()
            self.memory_bank.forget_unused(set())
            self.last_used = None

    # ------------------------------------------------------------------ keyframes
    def _check_frame(self, frame) -> int:
        if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)):
            raise InvalidInput(f"frame numbers are integers, got {frame!r}")
        return int(frame)

    def _check_image(self, image, what: str = "image") -> np.ndarray:
        arr = np.asarray(image, dtype=np.float32)
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise InvalidInput(f"{what} must be (H, W, 3) RGB, got shape {tuple(arr.shape)}")
        if arr.shape[:2] != (self.height, self.width):
            raise InvalidInput(f"{what} is {arr.shape[1]}x{arr.shape[0]} but shot {self.id!r} is "
                               f"{self.width}x{self.height}; send frames of the shot's size")
        return np.ascontiguousarray(arr)

    def set_keyframe(self, frame: int, image, trimap=None, *, outer=None, inner=None,
                     band: float | None = None) -> KeyframeInfo:
        """Add or replace the keyframe at ``frame`` from a trimap or roto mattes (see docs/engine-api.md)."""
        frame = self._check_frame(frame)
        image = self._check_image(image, "keyframe image")
        # --- the guide -> trimap: the rules and their parameters are the shot's settings (imaging/trimap.py)
        s = self.settings
        tri, source = keyframe_trimap(trimap=trimap, outer=outer, inner=inner,
                                      band=s.roto_band if band is None else band, tolerance=s.trimap_tolerance,
                                      combine=s.roto_combine, size=(self.height, self.width))
        # --- end of the guide
        image = ColourConverter.sanitize(image)
        content = sha1(memoryview(image).cast("B"), memoryview(np.ascontiguousarray(tri)).cast("B"))[:24]
        buf = io.BytesIO()
        np.savez(buf, image=image, trimap=tri)
        with self._lock.hold():
            self._refresh()
            old = self._keyframes.get(frame)
            # content-named file first, then the metadata that points at it: a crash leaves an orphan at worst
            atomic_write_bytes(self._kf_path(frame, content), buf.getvalue())
            self._keyframes[frame] = {"hash": content, "source": source}
            self._write_meta()
            if old is not None and old["hash"] != content:
                self._unlink(self._kf_path(frame, old["hash"]))
            self._keyframes_changed(frame)
        return KeyframeInfo(frame, content, self.width, self.height, source)

    def _kf_arrays(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        """The keyframe's (image, trimap) as stored, checked against the content hash in its name (lock held).

        A file that is unreadable or fails the check is removed with its entry, and ``NoKeyframe`` asks for it again.
        """
        content = self._keyframes[frame]["hash"]
        path = self._kf_path(frame, content)
        try:
            with np.load(path) as z:
                image, tri = z["image"], z["trimap"]
            ok = sha1(memoryview(np.ascontiguousarray(image)).cast("B"),
                      memoryview(np.ascontiguousarray(tri)).cast("B"))[:24] == content
        except Exception:  # noqa: BLE001 - any unreadable file is a damaged keyframe
            ok = False
        if not ok:
            self._keyframes.pop(frame, None)
            self._write_meta()
            self._unlink(path)
            self._keyframes_changed(frame)
            raise NoKeyframe(f"the keyframe at frame {frame} of shot {self.id!r} was damaged on disk and has been "
                             f"removed; set it again (set_keyframe)")
        return image, tri

    def _kf_path(self, frame: int, content_hash: str) -> Path:
        return self._dir / "keyframes" / f"{frame}-{content_hash}.npz"

    @staticmethod
    def _unlink(path: Path) -> None:
        try:
            os.unlink(path)
        except OSError:
            pass

    def remove_keyframe(self, frame: int) -> None:
        frame = self._check_frame(frame)
        with self._lock.hold():
            self._refresh()
            if frame not in self._keyframes:
                have = ", ".join(map(str, sorted(self._keyframes))) or "none"
                raise NoKeyframe(f"shot {self.id!r} has no keyframe at frame {frame} (keyframes: {have})")
            old = self._keyframes.pop(frame)
            self._write_meta()
            self._unlink(self._kf_path(frame, old["hash"]))
            self._keyframes_changed(frame)

    def keyframes(self) -> list[KeyframeInfo]:
        with self._lock.hold():
            self._refresh()
            return [KeyframeInfo(k, v["hash"], self.width, self.height, v["source"])
                    for k, v in sorted(self._keyframes.items())]

    def keyframe_trimap(self, frame: int) -> np.ndarray:
        with self._lock.hold():
            self._refresh()
            if frame not in self._keyframes:
                raise NoKeyframe(f"shot {self.id!r} has no keyframe at frame {frame}")
            return self._kf_arrays(frame)[1].copy()

    def memory_frames(self, frame: int) -> list[int]:
        """The keyframes whose memory ``frame`` reads (a keyframe frame reads only itself)."""
        with self._lock.hold():
            self._refresh()
            if frame in self._keyframes:
                return [frame]
            return select_memory(list(self._keyframes), frame, self.settings.memory_size, self.settings.memory_policy)

    def update_settings(self, settings: "ShotSettings | dict") -> None:
        """Change settings keeping keyframes; results that depend on changed fields are no longer used."""
        new = ShotSettings.coerce(settings) if not isinstance(settings, dict) else \
            ShotSettings.from_dict({**self.settings.to_dict(), **settings})
        with self._lock.hold():
            self._refresh()
            meta = self.meta()
            meta["settings"] = new.to_dict()
            atomic_write_json(self._meta_path, meta)
            self._apply_meta(meta)
            self._kf_tensors.clear()

    def reset_cache(self) -> None:
        """Forget recurrent states, stored inputs and results (keyframes and memory stay)."""
        with self._lock.hold():
            self.release_ram()
            self._chain.clear()
            self._store.clear_cache(self.id)
            return_freed_memory()
            try:
                os.unlink(self._dir / "index.json")
            except OSError:
                pass

    # ------------------------------------------------------------------ keys and caches
    def _mem_sig(self, frame: int) -> str:
        if frame in self._keyframes:
            return "kf:" + self._keyframes[frame]["hash"]
        sel = select_memory(list(self._keyframes), frame, self.settings.memory_size, self.settings.memory_policy)
        return "mem:" + ",".join(f"{k}:{self._keyframes[k]['hash']}" for k in sel)

    def _key(self, prev: str, input_hash: str, frame: int) -> str:
        return sha1(prev, input_hash, self._mem_sig(frame), self._static)[:24]

    def _input_name(self, input_hash: str) -> str:
        return f"{input_hash}-{self._static[:8]}.npy"

    def cached_frames(self) -> int:
        """How many frames have a result cached under their current chain key (what a re-run would not compute)."""
        with self._lock.hold():
            self._refresh()
            count = 0
            for frame in self._chain.frames():
                key = self._chain.valid_key(frame)
                count += key is not None and self.caches.has_result(key)
            return count

    # ------------------------------------------------------------------ keyframe tensors and memory
    def _kf_inputs(self, frame: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The keyframe's model input (1, 1, 3, H, W) and trimap (1, 1, 1, H, W) on the device."""
        h = self._keyframes[frame]["hash"]
        cached = self._kf_tensors.get(frame)
        if cached is not None and cached[0] == h:
            return cached[1], cached[2]
        image, tri = self._kf_arrays(frame)
        dev = self._ctx.device
        img = frame_tensor(model_input(self._colour, image), dev)
        t = torch.as_tensor(tri, dtype=torch.float32).to(dev)[None, None, None]
        self._kf_tensors[frame] = (h, img, t)
        return img, t

    def _kf_memory(self, frame: int) -> Memory:
        key = MemoryBank.key(self._keyframes[frame]["hash"], self.ratio, str(self.dtype))

        def encode() -> Memory:
            return self._step.encode_memory(*self._kf_inputs(frame))
        return self.memory_bank.get(key, encode, self._ctx.device)

    # ------------------------------------------------------------------ matte
    def matte(self, frames: Iterable[tuple[int, np.ndarray]], passes: Iterable[str] = PASSES,
              premultiply: bool = False, cancel: threading.Event | None = None,
              progress: Callable[[int, int | None], None] | None = None,
              refetch: Callable[[int], np.ndarray] | None = None,
              out: Callable[[int], Mapping[str, np.ndarray] | None] | None = None) -> Iterator[FrameResult]:
        """Matte frames in the order given, carrying the recurrent state between consecutive frames.

        ``frames`` yields ``(frame, image)`` or ``(frame, image, input_hash)`` where ``input_hash`` is
        :func:`~ftpvm_core.engine.chain.image_hash` of the image, computed ahead by the caller (the server hashes
        in its reader thread, so the device never waits for it).

        A frame whose predecessor was matted in order is the in-order result, exactly. When the state before it is
        no longer stored and cannot be replayed (the cache size limit evicted it, or it is damaged), ``refetch(frame)
        -> plate`` is asked for the frames :class:`~ftpvm_core.errors.StateLost` names, which are matted again first;
        without ``refetch`` that error is raised.

        ``out(frame) -> {pass: array}`` names, for passes asked for, writable float32 arrays of the pass's shape that
        the frame's last step writes them into (see :meth:`MatteLoop.finish`; the server passes its client's
        shared-memory slot); the results are those arrays. Passes it leaves out come in arrays of their own."""
        passes = tuple(passes)
        bad = [p for p in passes if p not in PASSES]
        if bad:
            raise InvalidInput(f"unknown pass(es) {', '.join(bad)}; choose from {', '.join(PASSES)}")
        with self._lock.hold():
            self._refresh()
            if not self._keyframes:
                raise NoKeyframe(f"shot {self.id!r} has no keyframe: add a trimap or roto on at least one frame")
            if self._chain.damaged:  # a warm-up here would silently differ from the run the cache came from
                raise IndexDamaged(f"shot {self.id!r}: its frame index is damaged, so the states of frames matted "
                                   "before cannot be found; reset the shot's cache (ResetCache from a client, "
                                   "`ftpvm matte --reset`) and matte its frames again from the start of their range")
        total = len(frames) if hasattr(frames, "__len__") else None  # type: ignore[arg-type]
        return self._matte_iter(frames, passes, premultiply, cancel, progress, total, refetch, out)

    def _matte_iter(self, frames, passes, premultiply, cancel, progress, total, refetch,
                    out) -> Iterator[FrameResult]:
        carry = None
        for done, (frame, image, *hashed) in enumerate(frames):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"matte of shot {self.id!r} cancelled before frame {frame}")
            frame = self._check_frame(frame)
            image = self._check_image(image, f"frame {frame}")
            input_hash = hashed[0] if hashed else image_hash(image)
            self.touch()
            with self._lock.hold():
                self._refresh()
                if not self._keyframes:
                    raise NoKeyframe(f"shot {self.id!r} lost its last keyframe while matting")
                loop = self._loop
                result, carry = self._one_frame(loop, frame, image, input_hash, carry, refetch)
            self._store.flush()  # the frame's state, input and index entry are on disk before it is answered
            yield loop.finish(result, image, passes, premultiply, out(frame) if out is not None else None)
            if progress is not None:
                progress(done + 1, total)


    def _one_frame(self, loop: MatteLoop, frame: int, image: np.ndarray, input_hash: str, carry,
                   refetch: Callable[[int], np.ndarray] | None):
        """``loop.one_frame``; on ``StateLost`` the named frames are read with ``refetch`` and matted first
        (a bounded number of rounds), then ``frame`` again (lock held)."""
        todo: list[tuple[int, np.ndarray | None]] = [(frame, image)]
        rounds = 0
        while True:
            f, img = todo[-1]
            if img is None:
                img = self._check_image(refetch(f), f"frame {f} (read again)")  # type: ignore[misc]
            try:
                result, carry = loop.one_frame(f, img, input_hash if f == frame else image_hash(img), carry)
            except StateLost as lost:
                if refetch is None or rounds >= REFETCH_ROUNDS:
                    raise
                rounds += 1
                todo[-1] = (f, img)
                todo.extend((g, None) for g in reversed(lost.frames))  # the first of them on top
                carry = None
                continue
            todo.pop()
            if not todo:
                return result, carry


#: How many times one requested frame may ask ``refetch`` for lost frames before ``StateLost`` is raised.
REFETCH_ROUNDS = 4


def return_freed_memory() -> None:
    """Collect garbage and hand freed heap pages back to the system (glibc's ``malloc_trim``; elsewhere a no-op),
    so RSS falls when shots are released, not only the heap's free lists."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class _KeyframeView:
    """The shot's keyframes as the matte loop reads them (see :class:`~ftpvm_core.engine.matting.Keyframes`)."""

    def __init__(self, shot: Shot) -> None:
        self._shot = shot

    def numbers(self) -> list[int]:
        return list(self._shot._keyframes)

    def memory(self, frame: int) -> Memory:
        return self._shot._kf_memory(frame)

    def inputs(self, frame: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self._shot._kf_inputs(frame)
