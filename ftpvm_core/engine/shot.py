"""A shot: its keyframes, memory bank, recurrent-state chain and result cache.

Every processed frame gets a *chain key*: a hash of the previous frame's key (or ``fresh`` at the start of a
chain), the frame's input hash, the memory it read (keyframe contents by policy) and the shot's static signature
(model fingerprint, size, colour space, model-affecting settings). States and results are stored under that key,
so a key names exactly the computation that produced it: editing a keyframe or a setting changes the keys of the
frames that depend on it and nothing else, and an undo finds the old entries again.

``index.json`` records, per frame, the key of the last chain that processed it (with its previous key and input
hash); an entry is trusted only if its key recomputes under the current keyframes and settings.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import numpy as np
import torch

from ftpvm_core.engine.memory_bank import MemoryBank, concat_memory, select_memory
from ftpvm_core.engine.runner import StepOutput, rec_to_cpu, rec_to_device, resolve_dtype
from ftpvm_core.engine.settings import PASSES, ShotSettings
from ftpvm_core.engine.store import atomic_write_bytes, atomic_write_json, read_json, tensor_bytes, tensor_load
from ftpvm_core.errors import Cancelled, InvalidInput, NoKeyframe, ShotNotFound
from ftpvm_core.imaging.colour import ColourConverter
from ftpvm_core.imaging.foreground import estimate_foreground_torch
from ftpvm_core.imaging.trimap import keyframe_trimap

if TYPE_CHECKING:  # pragma: no cover
    from ftpvm_core.engine.engine import Engine

SHOT_SCHEMA = 1
ENGINE_ALGORITHM = 1  # bump when a change alters results for the same inputs
FRESH = "fresh"


@dataclass(frozen=True)
class KeyframeInfo:
    frame: int
    content_hash: str
    width: int
    height: int
    source: str  # "trimap" | "mask" | "inner_outer"


@dataclass
class FrameResult:
    """One frame's passes (numpy float32); passes not asked for are None."""

    frame: int
    alpha: np.ndarray
    foreground: np.ndarray | None
    trimap: np.ndarray | None
    boundary: np.ndarray | None
    from_cache: bool


@dataclass
class _State:
    rec: list
    self_memory: tuple | None
    since_start: int


class _Unrecoverable(Exception):
    pass


def _sha1(*parts: bytes | str) -> str:
    h = hashlib.sha1()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()


def image_hash(image: np.ndarray) -> str:
    """Content hash of a frame as sent (shape + float32 bytes)."""
    a = np.ascontiguousarray(image, dtype=np.float32)
    return _sha1(str(a.shape), memoryview(a).cast("B"))[:24]


class Shot:
    """One shot in the engine's store. Use :meth:`Engine.open_shot` / :meth:`Engine.get_shot` to get one."""

    def __init__(self, engine: "Engine", meta: dict):
        self._engine = engine
        self._store = engine.store
        self.id: str = meta["id"]
        self.width: int = int(meta["width"])
        self.height: int = int(meta["height"])
        self.colorspace: str = meta["colorspace"]
        self._dir = self._store.shot_dir(self.id)
        self._lock = self._store.lock(self.id)
        self._bank = MemoryBank(self._store, self.id, engine.fingerprint)
        self._states: "OrderedDict[str, _State]" = OrderedDict()
        self._inputs: "OrderedDict[str, torch.Tensor]" = OrderedDict()
        self._kf_tensors: dict[int, tuple[str, torch.Tensor, torch.Tensor]] = {}
        self._index: dict[int, dict] = {}
        self._index_version = 0
        self._pending: dict[str, tuple] = {}  # results queued for the writer, readable before they land
        self._pending_lock = threading.Lock()
        self._valid: dict[int, bool] = {}
        self._stamp: tuple | None = None
        self._apply_meta(meta)
        self._load_index()

    # ------------------------------------------------------------------ metadata
    @property
    def _meta_path(self) -> Path:
        return self._dir / "shot.json"

    def _apply_meta(self, meta: dict) -> None:
        self.settings = ShotSettings.from_dict(meta["settings"])
        self._keyframes: dict[int, dict] = {int(k): v for k, v in meta.get("keyframes", {}).items()}
        self._colour = ColourConverter(self.colorspace, self.settings.highlights)
        self.ratio = self.settings.ratio_for(self.height, self.width)
        self.dtype = resolve_dtype(self.settings.precision, self._engine.device)
        self._static = _sha1(json.dumps({
            "fingerprint": self._engine.fingerprint, "algorithm": ENGINE_ALGORITHM, "size": [self.width, self.height],
            "colorspace": self.colorspace, "settings": self.settings.model_dict(), "ratio": self.ratio,
            "dtype": str(self.dtype)}, sort_keys=True))[:16]
        self._valid.clear()
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
            self._apply_meta(read_json(self._meta_path))

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
        content = _sha1(memoryview(image).cast("B"), memoryview(np.ascontiguousarray(tri)).cast("B"))[:24]
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
            self._valid.clear()
            self._kf_tensors.pop(frame, None)
        return KeyframeInfo(frame, content, self.width, self.height, source)

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
            self._valid.clear()
            self._kf_tensors.pop(frame, None)

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
            with np.load(self._kf_path(frame, self._keyframes[frame]["hash"])) as z:
                return z["trimap"].copy()

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
            self._states.clear()
            self._inputs.clear()
            self._index.clear()
            self._index_version += 1
            self._valid.clear()
            self._store.clear_cache(self.id)
            try:
                os.unlink(self._dir / "index.json")
            except OSError:
                pass

    # ------------------------------------------------------------------ keys and validity
    def _mem_sig(self, frame: int) -> str:
        if frame in self._keyframes:
            return "kf:" + self._keyframes[frame]["hash"]
        sel = select_memory(list(self._keyframes), frame, self.settings.memory_size, self.settings.memory_policy)
        return "mem:" + ",".join(f"{k}:{self._keyframes[k]['hash']}" for k in sel)

    def _key(self, prev: str, input_hash: str, frame: int) -> str:
        return _sha1(prev, input_hash, self._mem_sig(frame), self._static)[:24]

    def _valid_key(self, frame: int) -> str | None:
        """The index's key for ``frame`` if it still describes the current keyframes and settings."""
        path, ok, k = [], False, frame
        while True:
            if k in self._valid:
                ok = self._valid[k]
                break
            e = self._index.get(k)
            if e is None:
                self._valid[k] = ok = False
                break
            path.append(k)
            if e["prev"] == FRESH:
                ok = True
                break
            k -= 1
        for m in reversed(path):
            e = self._index[m]
            if e["prev"] != FRESH:
                ok = ok and self._index.get(m - 1, {}).get("key") == e["prev"]
            ok = ok and self._key(e["prev"], e["input"], m) == e["key"]
            self._valid[m] = ok
        return self._index[frame]["key"] if self._valid.get(frame) else None

    def _record(self, frame: int, key: str, prev: str, input_hash: str) -> None:
        self._index[frame] = {"key": key, "prev": prev, "input": input_hash}
        self._valid = {k: v for k, v in self._valid.items() if k < frame}
        self._valid[frame] = True
        self._index_version += 1
        version, snapshot = self._index_version, {str(k): v for k, v in self._index.items()}
        path = self._dir / "index.json"

        def write() -> None:
            if version == self._index_version:
                atomic_write_json(path, {"schema": SHOT_SCHEMA, "frames": snapshot})
        self._store.submit(write)

    def _load_index(self) -> None:
        try:
            data = read_json(self._dir / "index.json")
            self._index = {int(k): v for k, v in data.get("frames", {}).items()}
        except (OSError, ValueError):
            self._index = {}

    # ------------------------------------------------------------------ cached files
    def _cache_path(self, kind: str, name: str) -> Path:
        return self._dir / "cache" / kind / name

    def _input_name(self, input_hash: str) -> str:
        return f"{input_hash}-{self._static[:8]}.npy"

    def _save_input(self, input_hash: str, x16: torch.Tensor) -> None:
        name = self._input_name(input_hash)
        self._inputs[name] = x16
        while len(self._inputs) > self._engine.warmup_frames + 2:
            self._inputs.popitem(last=False)
        path = self._cache_path("inputs", name)
        if path.is_file():
            return

        def write() -> None:
            buf = io.BytesIO()
            np.save(buf, x16.numpy())
            self._store.cache_put(path, buf.getvalue())
        self._store.submit(write)

    def _load_input(self, input_hash: str) -> torch.Tensor | None:
        name = self._input_name(input_hash)
        x = self._inputs.get(name)
        if x is not None:
            return x
        data = self._store.cache_get(self._cache_path("inputs", name))
        if data is None:
            return None
        try:
            return torch.from_numpy(np.load(io.BytesIO(data)))
        except ValueError:
            return None

    def _has_input(self, input_hash: str) -> bool:
        name = self._input_name(input_hash)
        return name in self._inputs or self._cache_path("inputs", name).is_file()

    def _save_state(self, key: str, state: _State) -> None:
        self._states[key] = state
        while len(self._states) > self._engine.memory_states:
            self._states.popitem(last=False)
        path = self._cache_path("states", f"{key}.pt")

        def write() -> None:
            mem = None if state.self_memory is None else [t.cpu() for t in state.self_memory]
            self._store.cache_put(path, tensor_bytes({"rec": rec_to_cpu(state.rec), "self_memory": mem,
                                                      "since_start": state.since_start}))
        self._store.submit(write)

    def _load_state(self, key: str) -> _State | None:
        st = self._states.get(key)
        if st is not None:
            self._states.move_to_end(key)
            return st
        data = self._store.cache_get(self._cache_path("states", f"{key}.pt"))
        if data is None:
            return None
        try:
            obj = tensor_load(data)
        except Exception:
            return None
        dev = self._engine.device
        mem = None if obj["self_memory"] is None else tuple(t.to(dev) for t in obj["self_memory"])
        st = _State(rec_to_device(obj["rec"], dev), mem, int(obj["since_start"]))
        self._states[key] = st
        return st

    def _save_result(self, key: str, out: StepOutput) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        alpha = out.alpha.float().cpu().numpy()
        trimap = out.trimap.float().cpu().numpy()
        boundary = out.boundary.to(torch.float16).float().cpu().numpy()
        path = self._cache_path("results", f"{key}.npz")
        with self._pending_lock:
            self._pending[key] = (alpha, trimap, boundary)

        def write() -> None:
            try:
                buf = io.BytesIO()
                np.savez(buf, alpha=alpha, trimap=(trimap * 2).astype(np.uint8),
                         boundary=boundary.astype(np.float16))
                self._store.cache_put(path, buf.getvalue())
            finally:
                with self._pending_lock:
                    self._pending.pop(key, None)
        self._store.submit(write)
        return alpha, trimap, boundary

    def _load_result(self, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        with self._pending_lock:
            pending = self._pending.get(key)
        if pending is not None:
            return pending
        data = self._store.cache_get(self._cache_path("results", f"{key}.npz"))
        if data is None:
            return None
        try:
            with np.load(io.BytesIO(data)) as z:
                return z["alpha"], z["trimap"].astype(np.float32) / 2, z["boundary"].astype(np.float32)
        except (ValueError, KeyError, OSError):
            return None

    # ------------------------------------------------------------------ model work
    def _kf(self, frame: int) -> tuple[torch.Tensor, torch.Tensor]:
        h = self._keyframes[frame]["hash"]
        cached = self._kf_tensors.get(frame)
        if cached is not None and cached[0] == h:
            return cached[1], cached[2]
        with np.load(self._kf_path(frame, h)) as z:
            image, tri = z["image"], z["trimap"]
        runner = self._engine.runner
        x16 = torch.from_numpy(self._colour.to_model(image)).to(torch.float16)
        img = runner.image_tensor(x16)
        t = runner.trimap_tensor(tri)
        self._kf_tensors[frame] = (h, img, t)
        return img, t

    def _kf_memory(self, frame: int):
        h = self._keyframes[frame]["hash"]
        key = MemoryBank.key(h, self.ratio, str(self.dtype))

        def encode():
            img, tri = self._kf(frame)
            return self._engine.runner.encode(img, tri, self.ratio, self.dtype)
        return self._bank.get(key, encode, self._engine.device)

    def _compute(self, frame: int, x16: torch.Tensor, state: _State | None, key: str, prev: str,
                 input_hash: str) -> tuple[StepOutput, _State]:
        runner = self._engine.runner
        rec = state.rec if state else None
        self_mem = state.self_memory if state else None
        since = state.since_start + 1 if state else 0
        x = runner.image_tensor(x16)
        if frame in self._keyframes:
            kf_img, kf_tri = self._kf(frame)
            out = runner.step_keyframe(x, kf_img, kf_tri, rec, self.ratio, self.dtype)
        else:
            sel = select_memory(list(self._keyframes), frame, self.settings.memory_size,
                                self.settings.memory_policy)
            mems = [self._kf_memory(k) for k in sel] + ([self_mem] if self_mem is not None else [])
            out = runner.step(x, concat_memory(mems), rec, self.ratio, self.dtype)
            every = self.settings.self_memory_every
            if every and since > 0 and since % every == 0:
                self_mem = runner.encode(x, out.trimap[None, None, None], self.ratio, self.dtype)
        new_state = _State(out.rec, self_mem, since)
        self._save_state(key, new_state)
        self._save_input(input_hash, x16)
        self._record(frame, key, prev, input_hash)
        return out, new_state

    def _materialize(self, frame: int, key: str) -> _State | None:
        """The state after ``frame`` under chain ``key``: from RAM/disk or replayed from stored inputs."""
        if key == FRESH:
            return None
        st = self._load_state(key)
        if st is not None:
            return st
        steps, m, k = [], frame, key
        while True:
            e = self._index.get(m)
            if e is None or e["key"] != k or len(steps) >= self._engine.warmup_frames:
                raise _Unrecoverable
            steps.append((m, e["input"], k, e["prev"]))
            if e["prev"] == FRESH:
                st = None
                break
            st = self._load_state(e["prev"])
            if st is not None:
                break
            m, k = m - 1, e["prev"]
        for m, input_hash, k, prev in reversed(steps):
            x16 = self._load_input(input_hash)
            if x16 is None:
                raise _Unrecoverable
            out, st = self._compute(m, x16, st, k, prev, input_hash)
            self._save_result(k, out)
        return st

    def _warmup_chain(self, frame: int) -> tuple[str, int | None]:
        """A fresh chain over up to W stored frames just before ``frame``: (last key, start frame) or (FRESH, None)."""
        start = frame
        for j in range(frame - 1, frame - 1 - self._engine.warmup_frames, -1):
            e = self._index.get(j)
            if e is None or not self._has_input(e["input"]):
                break
            start = j
        if start == frame:
            return FRESH, None
        prev = FRESH
        for j in range(start, frame):
            input_hash = self._index[j]["input"]
            key = self._key(prev, input_hash, j)
            self._record(j, key, prev, input_hash)
            prev = key
        return prev, start

    # ------------------------------------------------------------------ matte
    def matte(self, frames: Iterable[tuple[int, np.ndarray]], passes: Iterable[str] = PASSES,
              premultiply: bool = False, cancel: threading.Event | None = None,
              progress: Callable[[int, int | None], None] | None = None) -> Iterator[FrameResult]:
        """Matte frames in the order given, carrying the recurrent state between consecutive frames."""
        passes = tuple(passes)
        bad = [p for p in passes if p not in PASSES]
        if bad:
            raise InvalidInput(f"unknown pass(es) {', '.join(bad)}; choose from {', '.join(PASSES)}")
        with self._lock.hold():
            self._refresh()
            if not self._keyframes:
                raise NoKeyframe(f"shot {self.id!r} has no keyframe: add a trimap or roto on at least one frame")
        total = len(frames) if hasattr(frames, "__len__") else None  # type: ignore[arg-type]
        return self._matte_iter(frames, passes, premultiply, cancel, progress, total)

    def _matte_iter(self, frames, passes, premultiply, cancel, progress, total) -> Iterator[FrameResult]:
        carry: tuple[int, str, _State | None] | None = None
        for done, (frame, image) in enumerate(frames):
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"matte of shot {self.id!r} cancelled before frame {frame}")
            frame = self._check_frame(frame)
            image = self._check_image(image, f"frame {frame}")
            input_hash = image_hash(image)
            with self._lock.hold():
                self._refresh()
                if not self._keyframes:
                    raise NoKeyframe(f"shot {self.id!r} lost its last keyframe while matting")
                result, carry = self._one_frame(frame, image, input_hash, carry)
            yield self._finish(result, image, passes, premultiply)
            if progress is not None:
                progress(done + 1, total)

    def _one_frame(self, frame, image, input_hash, carry):
        prev, prev_state = None, None
        if carry is not None and carry[0] == frame - 1:
            prev, prev_state = carry[1], carry[2]
            if self._index.get(frame - 1, {}).get("key") != prev or self._valid_key(frame - 1) != prev:
                prev, prev_state = None, None  # keyframes changed under us
        if prev is None:
            prev = self._valid_key(frame - 1)
        attempts: list[str | None] = ([prev] if prev is not None else []) + [None, FRESH]  # None = warm-up
        while True:
            prev = attempts.pop(0)
            if prev is None:
                prev, _ = self._warmup_chain(frame)
            key = self._key(prev, input_hash, frame)
            cached = self._load_result(key)
            if cached is not None:
                self._record(frame, key, prev, input_hash)
                return (frame, cached, True), (frame, key, None)
            try:
                state = prev_state if prev_state is not None else self._materialize(frame - 1, prev)
            except _Unrecoverable:
                prev_state = None
                continue  # next attempt: warm-up, then fresh
            x16 = torch.from_numpy(self._colour.to_model(image)).to(torch.float16)
            out, new_state = self._compute(frame, x16, state, key, prev, input_hash)
            arrays = self._save_result(key, out)
            return (frame, arrays, False, out), (frame, key, new_state)

    def _finish(self, result, image: np.ndarray, passes, premultiply) -> FrameResult:
        frame, (alpha, trimap, boundary), from_cache = result[0], result[1], result[2]
        fg = None
        if "foreground" in passes:
            dev = self._engine.device
            lin = torch.from_numpy(self._colour.to_linear(image)).to(dev).permute(2, 0, 1)[None]
            a = torch.from_numpy(alpha).to(dev)[None, None]
            fg_lin = estimate_foreground_torch(lin, a)[0].permute(1, 2, 0).cpu().numpy()
            fg = self._colour.from_linear(fg_lin)
            if premultiply:
                fg = fg * alpha[..., None]
        return FrameResult(frame, alpha, fg, trimap if "trimap" in passes else None,
                           boundary if "boundary" in passes else None, from_cache)
