"""The engine: one loaded network, one state directory, many shots. No gRPC, no host app."""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch

import ftpvm_core
from ftpvm_core.engine import inventory
from ftpvm_core.engine.context import ShotContext
from ftpvm_core.engine.inventory import ShotSummary
from ftpvm_core.engine.settings import PASSES, ShotSettings, settings_schema
from ftpvm_core.engine.shot import SHOT_SCHEMA, Shot, return_freed_memory
from ftpvm_core.engine.store import Store, atomic_write_json
from ftpvm_core.errors import InvalidInput, ShotConflict, ShotNotFound, StateError
from ftpvm_core.imaging.colour import resolve_colorspace
from ftpvm_core.model.precision import resolve_precision
from ftpvm_core.model.streaming import StreamingStep
from ftpvm_core.model.streaming import resolve_backend as _model_backend
from ftpvm_wire.shots import ShotIdError, check_shot_id

MAX_SIDE = 16384


def validate_shot_id(shot_id: Any) -> str:
    """``shot_id`` when it follows the wire's shot-id rule, else ``InvalidInput``."""
    try:
        return check_shot_id(shot_id)
    except ShotIdError as exc:
        raise InvalidInput(str(exc)) from None


def resolve_backend(backend: str, device: torch.device, stock: bool = True) -> str:
    """The network backend (:func:`ftpvm_core.model.streaming.resolve_backend`), errors as InvalidInput."""
    try:
        return _model_backend(backend, device, stock)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


#: ``Engine(compile=...)`` -> what ``StreamingStep(compile=...)`` gets (off by default: a device run of
#: bench/gpu_check.py decides whether either is faster).
COMPILE_MODES = {"off": False, "default": True, "reduce-overhead": "reduce-overhead"}
#: Shots that keep recurrent states, inputs and keyframe tensors in RAM at once (the most recently used).
HOT_SHOTS = 2


class Engine:
    """Loads the network once and serves shots from a state directory (see docs/engine-api.md)."""

    def __init__(self, weights: Any = None, device: str | torch.device = "auto",
                 state_dir: str | os.PathLike | None = None, cache_limit_bytes: int = 8 << 30,
                 memory_states: int = 64, warmup_frames: int = 8, backend: str = "auto", exclusive: bool = False,
                 state_every: int = 8, state_dtype: str = "float16", compile: str = "off"):
        """``backend``: "torch", "onnx" (ONNX Runtime, CPU only, extra ``ftpvm[onnx]``) or "auto"
        (ONNX Runtime on the CPU when it is installed, else torch); see docs/performance.md. ``exclusive``: hold the
        state directory's lock (a server: no second engine may use it; leftover temp files are removed).

        ``state_every``: the recurrent state is stored every this many frames of a chain (a resume replays at most
        ``state_every - 1`` frames from stored inputs, with identical results); ``state_dtype`` ("float16" or
        "float32"): what those checkpoints hold; the chain carries on from the stored value, so a resume is
        bit-identical either way (see docs/engine-api.md).

        ``compile`` (opt-in, torch backend): "off", "default" (``torch.compile`` of the per-frame step) or
        "reduce-overhead" (also CUDA graphs); bench/gpu_check.py measures each against eager on the device."""
        from ftpvm_core.model import FastTrimapPropagationVideoMatting, fingerprint
        from ftpvm_core.model.checkpoint import check_state_dict, resolve_device
        from ftpvm_core.model.prepare import prepare_for_inference
        from ftpvm_core.weights import resolve_weights

        try:
            self.device = resolve_device(device)
        except RuntimeError as exc:
            raise InvalidInput(str(exc)) from None
        if isinstance(weights, torch.nn.Module):
            model, self.weights_source, self.weights_path = weights, "module", None
            self.weights_notice = "using the model passed in"
            self.fingerprint = fingerprint(model)
        else:
            if isinstance(weights, Mapping):
                state, self.weights_source, self.weights_path = weights, "state_dict", None
                self.weights_notice = "using the state dict passed in"
            else:
                resolved = resolve_weights(weights)
                state, self.weights_source, self.weights_path = resolved.state_dict, resolved.source, resolved.path
                self.weights_notice = resolved.notice
            model = FastTrimapPropagationVideoMatting(backbone_pretrained=False)
            check_state_dict(model, state, source=self.weights_path or "weights")
            model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
            self.fingerprint = fingerprint(state)
        # folded, guide-split copy: same results up to float rounding, faster (see docs/performance.md)
        self.network = prepare_for_inference(model.eval(), self.device)
        self.backend = resolve_backend(backend, self.device, type(model) is FastTrimapPropagationVideoMatting)
        self.store = Store(state_dir, cache_limit_bytes, exclusive=exclusive)
        self.memory_states = int(memory_states)
        self.warmup_frames = int(warmup_frames)
        if isinstance(state_every, bool) or not isinstance(state_every, int) or not 1 <= state_every <= 1000:
            raise InvalidInput(f"state_every must be an integer in [1, 1000], got {state_every!r}")
        if state_dtype not in ("float16", "float32"):
            raise InvalidInput(f"state_dtype must be 'float16' or 'float32', got {state_dtype!r}")
        self.state_every, self.state_dtype = state_every, state_dtype
        if compile not in COMPILE_MODES:
            raise InvalidInput(f"compile must be one of {', '.join(COMPILE_MODES)}, got {compile!r}")
        self.compile = compile
        self._steps: dict[tuple, StreamingStep] = {}
        self._context = ShotContext(self.store, self.fingerprint, self.device, self.step, self.memory_states,
                                    self.warmup_frames, self.state_every, self.state_dtype)
        self._shots: dict[str, Shot] = {}
        self._hot: "OrderedDict[str, None]" = OrderedDict()  # most recently used shots, last is newest
        self._guard = threading.Lock()
        self._guard_steps = threading.Lock()

    # ------------------------------------------------------------------ the network
    def step(self, precision: str = "auto", downsample_ratio: float | str = "auto") -> StreamingStep:
        """The streaming step shots with these settings run (one per combination, sharing the network)."""
        key = (resolve_precision(precision, self.device), downsample_ratio)
        with self._guard_steps:
            if key not in self._steps:
                self._steps[key] = StreamingStep(self.network, downsample_ratio=downsample_ratio,
                                                 precision=key[0], backend=self.backend,
                                                 compile=COMPILE_MODES[self.compile])
            return self._steps[key]

    def warmup(self, width: int = 1920, height: int = 1080, precision: str = "auto",
               downsample_ratio: float | str = "auto") -> None:
        """Run the step shots of this size and settings will run (same backend, precision and working size; an
        ONNX export for that size happens here) on a synthetic frame: a keyframe, then two streamed frames.
        Touches no shot and nothing in the state directory."""
        try:
            settings = ShotSettings.from_dict({"precision": precision, "downsample_ratio": downsample_ratio})
        except InvalidInput as exc:
            raise InvalidInput(f"warm-up: {exc}") from None
        step = self.step(settings.precision, settings.downsample_ratio)
        ramp = torch.linspace(0, 1, width, device=self.device).expand(1, 1, 3, height, width)
        trimap = (ramp[:, :, :1] * 3).floor().clamp(0, 2) / 2
        memory = step.encode_memory(ramp, trimap)
        out = step(ramp, memory, None, trimap=trimap)
        for _ in range(2):
            out = step(ramp, memory, out.state)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    # ------------------------------------------------------------------ info
    def info(self) -> dict:
        return {
            "engine_version": ftpvm_core.__version__,
            "model_fingerprint": self.fingerprint,
            "weights_source": self.weights_source,
            "weights_path": self.weights_path,
            "weights_notice": self.weights_notice,
            "device": str(self.device),
            "backend": self.backend,
            "precision": resolve_precision("auto", self.device),
            "state_dir": str(self.store.root),
            "settings_schema": settings_schema(),
            "passes": list(PASSES),
        }

    # ------------------------------------------------------------------ shots
    def open_shot(self, shot_id: str, width: int, height: int, colorspace: str,
                  settings: "ShotSettings | dict | None" = None, reset: bool = False,
                  apply_settings: bool = False) -> Shot:
        """Create a shot or return the existing one with the same parameters (see docs/engine-api.md).

        An existing shot with other settings is a :class:`ShotConflict`, unless ``apply_settings``: then the new
        settings replace the shot's (keyframes stay; results depending on a changed field are no longer used, as
        with :meth:`Shot.update_settings`). A different size or colour space is always a conflict (or ``reset``).
        """
        validate_shot_id(shot_id)
        for name, v in (("width", width), ("height", height)):
            if isinstance(v, bool) or not isinstance(v, int) or not 16 <= v <= MAX_SIDE:
                raise InvalidInput(f"{name} must be an integer in [16, {MAX_SIDE}], got {v!r}")
        colorspace = resolve_colorspace(colorspace)
        settings = ShotSettings.coerce(settings)
        wanted = {"width": width, "height": height, "colorspace": colorspace, "settings": settings.to_dict()}
        lock = self.store.lock(shot_id)
        with self._guard, lock.hold():
            meta_path = self.store.shot_dir(shot_id) / "shot.json"
            if meta_path.is_file():
                meta = self._read_meta(shot_id)
                have = {"width": meta["width"], "height": meta["height"], "colorspace": meta["colorspace"],
                        "settings": ShotSettings.from_dict(meta["settings"]).to_dict()}
                if have == wanted:
                    return self._cached(shot_id, meta)
                same_frame = all(have[k] == wanted[k] for k in ("width", "height", "colorspace"))
                if same_frame and apply_settings and not reset:
                    shot = self._cached(shot_id, meta)
                    shot.update_settings(settings)
                    return shot
                if not reset:
                    diff = [k for k in ("width", "height", "colorspace") if have[k] != wanted[k]]
                    diff += [f"settings.{k}" for k in wanted["settings"]
                             if have["settings"].get(k) != wanted["settings"][k]]
                    raise ShotConflict(f"shot {shot_id!r} exists with a different {', '.join(diff)}; open it with "
                                       f"the same values, or reset it (this drops its keyframes and cache)")
                self.store.remove_shot_dir(shot_id)
                self._shots.pop(shot_id, None)
            meta = {"schema": SHOT_SCHEMA, "id": shot_id, **wanted, "keyframes": {}}
            atomic_write_json(meta_path, meta)
            shot = Shot(self._context, meta)
            self._shots[shot_id] = shot
            self._keep_hot(shot_id)
            return shot

    def _read_meta(self, shot_id: str) -> dict:
        meta = inventory.read_shot_record(self.store, shot_id)
        if meta.get("schema") != SHOT_SCHEMA:
            raise StateError(f"shot {shot_id!r} has schema {meta.get('schema')}, this engine reads {SHOT_SCHEMA}")
        return meta

    def _cached(self, shot_id: str, meta: dict) -> Shot:
        shot = self._shots.get(shot_id)
        if shot is None:
            shot = self._shots[shot_id] = Shot(self._context, meta)
        shot.touch()
        self._keep_hot(shot_id)
        return shot

    def release_idle(self, idle_s: float, now: float | None = None) -> list[str]:
        """Release the RAM caches of shots unused for ``idle_s`` seconds (``now``: a ``time.monotonic()`` value);
        returns their ids. Their disk copies stay, so their next frames load or replay them exactly."""
        now = time.monotonic() if now is None else now
        with self._guard:
            idle = [(i, s) for i, s in self._shots.items() if s.last_used is not None and now - s.last_used >= idle_s]
            for shot_id, shot in idle:
                self._hot.pop(shot_id, None)
                shot.release_ram()
        if idle:
            return_freed_memory()
        return [i for i, _ in idle]

    def _keep_hot(self, shot_id: str) -> None:
        """``shot_id`` was just used: only the ``HOT_SHOTS`` most recent shots keep their RAM caches, so the
        engine's RAM is bounded by a few shots however many it serves (the others reload from disk)."""
        self._hot.pop(shot_id, None)
        self._hot[shot_id] = None
        cooled = False
        while len(self._hot) > HOT_SHOTS:
            old, _ = self._hot.popitem(last=False)
            if old in self._shots:
                self._shots[old].release_ram()
                cooled = True
        if cooled:
            return_freed_memory()

    def get_shot(self, shot_id: str) -> Shot:
        validate_shot_id(shot_id)
        with self._guard, self.store.lock(shot_id).hold():
            return self._cached(shot_id, self._read_meta(shot_id))

    def list_shots(self) -> list[str]:
        return self.store.shot_ids()

    def delete_shot(self, shot_id: str) -> None:
        validate_shot_id(shot_id)
        with self._guard, self.store.lock(shot_id).hold():
            if not self.store.delete_shot(shot_id):
                raise ShotNotFound(f"no shot {shot_id!r} in {self.store.root}")
            self._forget(shot_id)
        return_freed_memory()

    def _forget(self, shot_id: str) -> None:
        """Drop a removed shot's object and RAM caches (call with the guard held)."""
        self._hot.pop(shot_id, None)
        shot = self._shots.pop(shot_id, None)
        if shot is not None:
            shot.release_ram()

    def shot_usage(self) -> "list[ShotSummary]":
        """Every shot's size on disk, keyframes and last change (:mod:`ftpvm_core.engine.inventory`)."""
        return inventory.summaries(self.store)

    def prune_shots(self, older_than_s: float | None = None, max_total_bytes: int | None = None,
                    dry_run: bool = False) -> "list[ShotSummary]":
        """Remove shots unchanged for longer than ``older_than_s`` and/or the least recently changed until the rest
        fit in ``max_total_bytes`` (:func:`ftpvm_core.engine.inventory.select_prune`); returns them."""
        with self._guard:
            chosen = inventory.prune(self.store, older_than_s, max_total_bytes, dry_run=dry_run)
            if not dry_run:
                for s in chosen:
                    self._forget(s.id)
        if chosen and not dry_run:
            return_freed_memory()
        return chosen

    # ------------------------------------------------------------------ lifetime
    def flush(self) -> None:
        self.store.flush()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

