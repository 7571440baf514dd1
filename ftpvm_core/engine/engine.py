"""The engine: one loaded network, one state directory, many shots. No gRPC, no host app."""
from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

import torch

import ftpvm_core
from ftpvm_core.engine.runner import ModelRunner, resolve_dtype
from ftpvm_core.engine.settings import PASSES, ShotSettings, settings_schema
from ftpvm_core.engine.shot import SHOT_SCHEMA, Shot
from ftpvm_core.engine.store import Store, atomic_write_json, read_json
from ftpvm_core.errors import InvalidInput, ShotConflict, ShotNotFound, StateError
from ftpvm_core.imaging.colour import resolve_colorspace
from ftpvm_wire.shots import ShotIdError, check_shot_id

MAX_SIDE = 16384


def validate_shot_id(shot_id: Any) -> str:
    """``shot_id`` when it follows the wire's shot-id rule, else ``InvalidInput``."""
    try:
        return check_shot_id(shot_id)
    except ShotIdError as exc:
        raise InvalidInput(str(exc)) from None


BACKENDS = ("auto", "torch", "onnx")


def resolve_backend(backend: str, device: torch.device, stock: bool = True) -> str:
    """The network backend for ``device``: "auto" picks ONNX Runtime on a CPU where it is installed,
    for the stock network only (``stock``; a subclass may override methods an export would bypass)."""
    from ftpvm_core.model import onnx_backend

    if backend not in BACKENDS:
        raise InvalidInput(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "auto":
        return "onnx" if stock and device.type == "cpu" and onnx_backend.is_available() else "torch"
    if backend == "onnx":
        if device.type != "cpu":
            raise InvalidInput(f"the onnx backend runs on the CPU, not on {device}; use --backend torch there")
        if not onnx_backend.is_available():
            raise InvalidInput("the onnx backend needs the optional extra: pip install 'ftpvm[onnx]'")
    return backend


class Engine:
    """Loads the network once and serves shots from a state directory (see docs/engine-api.md)."""

    def __init__(self, weights: Any = None, device: str | torch.device = "auto",
                 state_dir: str | os.PathLike | None = None, cache_limit_bytes: int = 8 << 30,
                 memory_states: int = 64, warmup_frames: int = 8, backend: str = "auto"):
        """``backend``: "torch", "onnx" (ONNX Runtime, CPU only, extra ``ftpvm[onnx]``) or "auto"
        (ONNX Runtime on the CPU when it is installed, else torch); see docs/performance.md."""
        from ftpvm_core.model import FastTrimapPropagationVideoMatting, fingerprint
        from ftpvm_core.model.checkpoint import check_state_dict, resolve_device
        from ftpvm_core.model.inference import prepare_for_inference
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
        model = prepare_for_inference(model.eval(), self.device)
        self.backend = resolve_backend(backend, self.device, type(model) is FastTrimapPropagationVideoMatting)
        self.runner = ModelRunner(model, self.device, onnx=self.backend == "onnx")
        self.store = Store(state_dir, cache_limit_bytes)
        self.memory_states = int(memory_states)
        self.warmup_frames = int(warmup_frames)
        self._shots: dict[str, Shot] = {}
        self._guard = threading.Lock()

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
            "dtype": str(resolve_dtype("auto", self.device)).replace("torch.", ""),
            "state_dir": str(self.store.root),
            "settings_schema": settings_schema(),
            "passes": list(PASSES),
        }

    # ------------------------------------------------------------------ shots
    def open_shot(self, shot_id: str, width: int, height: int, colorspace: str,
                  settings: "ShotSettings | dict | None" = None, reset: bool = False) -> Shot:
        """Create a shot or return the existing one with the same parameters (see docs/engine-api.md)."""
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
            shot = Shot(self, meta)
            self._shots[shot_id] = shot
            return shot

    def _read_meta(self, shot_id: str) -> dict:
        path = self.store.shot_dir(shot_id) / "shot.json"
        try:
            meta = read_json(path)
        except FileNotFoundError:
            raise ShotNotFound(f"no shot {shot_id!r} in {self.store.root}") from None
        except (OSError, ValueError) as exc:
            raise StateError(f"shot {shot_id!r}: unreadable {path}: {exc}") from None
        if meta.get("schema") != SHOT_SCHEMA:
            raise StateError(f"shot {shot_id!r} has schema {meta.get('schema')}, this engine reads {SHOT_SCHEMA}")
        return meta

    def _cached(self, shot_id: str, meta: dict) -> Shot:
        shot = self._shots.get(shot_id)
        if shot is None:
            shot = self._shots[shot_id] = Shot(self, meta)
        return shot

    def get_shot(self, shot_id: str) -> Shot:
        validate_shot_id(shot_id)
        with self._guard, self.store.lock(shot_id).hold():
            return self._cached(shot_id, self._read_meta(shot_id))

    def list_shots(self) -> list[str]:
        return self.store.shot_ids()

    def delete_shot(self, shot_id: str) -> None:
        validate_shot_id(shot_id)
        with self._guard, self.store.lock(shot_id).hold():
            if not (self.store.shot_dir(shot_id) / "shot.json").is_file():
                raise ShotNotFound(f"no shot {shot_id!r} in {self.store.root}")
            os.unlink(self.store.shot_dir(shot_id) / "shot.json")  # first: a crash leaves no half shot
            self.store.remove_shot_dir(shot_id)
            self._shots.pop(shot_id, None)

    # ------------------------------------------------------------------ lifetime
    def flush(self) -> None:
        self.store.flush()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

