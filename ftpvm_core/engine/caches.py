"""A shot's caches under chain keys: recurrent states, model inputs and results, in RAM and in the store.

Disk copies are written behind by the store's writer (the shot flushes them before a frame is answered) and evicted
by its size limit; a missing, unreadable or checksum-failing file (``Store.cache_get``) is a miss. Results queued for
the writer are readable at once. A result may arrive as a :class:`~ftpvm_core.engine.host_copy.HostCopy` still in
flight from the GPU: the writer thread waits for it, the matte loop does not.
"""
from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ftpvm_core.engine.host_copy import HostCopy
from ftpvm_core.engine.store import Store, tensor_bytes, tensor_load
from ftpvm_core.model.step_types import Memory, StreamState

#: (alpha, trimap in {0, .5, 1}, boundary) at the frame size, float32.
Passes = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class ChainState:
    """What the next frame of a chain needs: the network's recurrent state and the self memory, if any."""

    stream: StreamState
    self_memory: Memory | None = None


class ShotCaches:
    """States (an LRU of ``max_states`` in RAM), the last model inputs and results of one shot."""

    def __init__(self, store: Store, shot_dir: Path, device: torch.device, max_states: int, max_inputs: int) -> None:
        self._store = store
        self._dir = shot_dir / "cache"
        self._device = device
        self._max_states = max_states
        self._max_inputs = max_inputs
        self._states: "OrderedDict[str, ChainState]" = OrderedDict()
        self._inputs: "OrderedDict[str, torch.Tensor]" = OrderedDict()
        self._pending: dict[str, Passes | HostCopy] = {}  # results queued for the writer, readable before they land
        self._pending_lock = threading.Lock()

    def _path(self, kind: str, name: str) -> Path:
        return self._dir / kind / name

    def clear_ram(self) -> None:
        """Forget the RAM copies of states and inputs (disk copies stay)."""
        self._states.clear()
        self._inputs.clear()

    def evict_states(self) -> None:
        """Forget every recurrent state, in RAM and on disk (as the size limit would): later frames replay from
        stored inputs or start a fresh chain. Results and inputs stay."""
        self._states.clear()
        self._store.flush()
        for p in (self._dir / "states").glob("*.pt"):
            p.unlink(missing_ok=True)

    # ------------------------------------------------------------------ inputs (float16 model inputs)
    def save_input(self, name: str, x16: torch.Tensor) -> None:
        """Keep the model input (on the device it was made on) and write it behind, copied to the host without
        blocking (see HostCopy)."""
        self._inputs[name] = x16
        while len(self._inputs) > self._max_inputs:
            self._inputs.popitem(last=False)
        path = self._path("inputs", name)
        if path.is_file():
            return
        host = HostCopy((x16,))

        def write() -> None:
            buf = io.BytesIO()
            np.save(buf, host.arrays()[0])
            self._store.cache_put(path, buf.getvalue())
        self._store.submit(write)

    def load_input(self, name: str) -> torch.Tensor | None:
        x = self._inputs.get(name)
        if x is not None:
            return x
        data = self._store.cache_get(self._path("inputs", name))
        if data is None:
            return None
        try:
            return torch.from_numpy(np.load(io.BytesIO(data)))
        except Exception:  # noqa: BLE001 - unreadable: a miss
            return None

    def has_input(self, name: str) -> bool:
        return name in self._inputs or self._path("inputs", name).is_file()

    # ------------------------------------------------------------------ states
    def save_state(self, key: str, state: ChainState, persist: bool = True,
                   dtype: torch.dtype = torch.float32) -> None:
        """Keep ``state`` in RAM; with ``persist`` also on disk, its tensors as ``dtype`` (a checkpoint: the matte
        loop carries on from the same rounded values, so reading it back loses nothing)."""
        self._states[key] = state
        while len(self._states) > self._max_states:
            self._states.popitem(last=False)
        if not persist:
            return
        path = self._path("states", f"{key}.pt")

        def write() -> None:
            mem = None if state.self_memory is None else [state.self_memory.feat16.cpu(), state.self_memory.value.cpu()]
            stream = state.stream.as_dict()
            run_dtype = str(stream["tensors"][0].dtype).replace("torch.", "")
            stream["tensors"] = [t.to(dtype) for t in stream["tensors"]]
            self._store.cache_put(path, tensor_bytes({"stream": stream, "dtype": run_dtype, "self_memory": mem}))
        self._store.submit(write)

    def load_state(self, key: str) -> ChainState | None:
        st = self._states.get(key)
        if st is not None:
            self._states.move_to_end(key)
            return st
        data = self._store.cache_get(self._path("states", f"{key}.pt"))
        if data is None:
            return None
        try:
            obj = tensor_load(data)
            mem = obj["self_memory"]
            run_dtype = getattr(torch, obj.get("dtype", "float32"))
            stream = StreamState.from_dict(obj["stream"])
            stream = StreamState(tuple(t.to(run_dtype) for t in stream.tensors), stream.frames)  # type: ignore
            st = ChainState(stream.to(self._device),
                            None if mem is None else Memory(mem[0], mem[1]).to(self._device))
        except Exception:  # unreadable or from another layout: a miss
            return None
        self._states[key] = st
        return st

    # ------------------------------------------------------------------ results
    def save_result(self, key: str, passes: Passes | HostCopy) -> None:
        """Keep ``passes`` readable at once and write them behind; a HostCopy is waited for on the writer thread."""
        path = self._path("results", f"{key}.npz")
        with self._pending_lock:
            self._pending[key] = passes

        def write() -> None:
            try:
                alpha, trimap, boundary = passes.arrays() if isinstance(passes, HostCopy) else passes
                buf = io.BytesIO()
                np.savez(buf, alpha=alpha, trimap=(trimap * 2).astype(np.uint8), boundary=boundary.astype(np.float16))
                self._store.cache_put(path, buf.getvalue())
            finally:
                with self._pending_lock:
                    self._pending.pop(key, None)
        self._store.submit(write)

    def load_result(self, key: str) -> Passes | None:
        with self._pending_lock:
            pending = self._pending.get(key)
        if pending is not None:
            return pending.arrays() if isinstance(pending, HostCopy) else pending  # type: ignore[return-value]
        data = self._store.cache_get(self._path("results", f"{key}.npz"))
        if data is None:
            return None
        try:
            with np.load(io.BytesIO(data)) as z:
                return z["alpha"], z["trimap"].astype(np.float32) / 2, z["boundary"].astype(np.float32)
        except Exception:  # noqa: BLE001 - unreadable: a miss
            return None

    def has_result(self, key: str) -> bool:
        with self._pending_lock:
            if key in self._pending:
                return True
        return self._path("results", f"{key}.npz").is_file()


__all__ = ["ChainState", "Passes", "ShotCaches"]
