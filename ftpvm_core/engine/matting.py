"""The matte loop of a shot: one frame at a time through the model-layer streaming step, states carried by chain.

For each frame: reuse a cached result if its chain key has one, else find the state before it (carried from the
previous frame, cached, or replayed exactly from the last stored state through the stored inputs) and run
:class:`ftpvm_core.model.streaming.StreamingStep`. A keyframe frame reads only its own memory and its matte
follows the artist's trimap; with ``self_memory_every`` the predicted trimap joins the memory every N frames.

No silent fallback: a frame whose predecessor was processed in order under the current keyframes and settings gets
the in-order result or :class:`~ftpvm_core.errors.StateLost` naming the frames to send again. A warm-up (a short
fresh chain) is run only for random access: a frame whose predecessor was never processed under them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Protocol

import numpy as np
import torch

from ftpvm_core.engine.caches import ChainState, ShotCaches
from ftpvm_core.engine.chain import FRESH, ChainIndex, KeyFn
from ftpvm_core.engine.host_copy import HostCopy, destination
from ftpvm_core.engine.memory_bank import select_memory
from ftpvm_core.engine.settings import ShotSettings
from ftpvm_core.errors import StateLost
from ftpvm_core.imaging.colour import ColourConverter
from ftpvm_core.imaging.colour_torch import baked, baked_linear
from ftpvm_core.imaging.foreground import estimate_foreground_torch
from ftpvm_core.model.step_types import Memory, StepOutput, StreamState
from ftpvm_core.model.streaming import StreamingStep
from ftpvm_core.model.working_size import to_input_size

TRIMAP_VALUES = (0.0, 0.5, 1.0)  # classes (bg, unknown, fg)


@dataclass
class FrameResult:
    """One frame's passes (numpy float32); passes not asked for are None."""

    frame: int
    alpha: np.ndarray
    foreground: np.ndarray | None
    trimap: np.ndarray | None
    boundary: np.ndarray | None
    from_cache: bool


class Keyframes(Protocol):
    """What the loop reads of a shot's keyframes."""

    def numbers(self) -> list[int]: ...

    def memory(self, frame: int) -> Memory: ...

    def inputs(self, frame: int) -> tuple[torch.Tensor, torch.Tensor]: ...


class _Missing(Exception):
    """Stored inputs from frame ``first`` on are gone: the state after them cannot be replayed."""

    def __init__(self, first: int):
        super().__init__(first)
        self.first = first


def model_input(colour: ColourConverter, image: np.ndarray, device: torch.device | None = None) -> torch.Tensor:
    """(H, W, 3) plate -> the model's sRGB input rounded to float16 (a replay from the stored input is exact).

    With ``device``, on that device when the colour transform bakes to tables and matrices (see
    :mod:`ftpvm_core.imaging.colour_torch`; equal to OCIO within its tolerances before the float16 rounding),
    else with OCIO on the CPU.
    """
    transform = baked(colour) if device is not None else None
    if transform is None:
        return torch.from_numpy(colour.to_model(image)).to(torch.float16)
    plate = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).to(device)
    return transform.to_model(plate).to(torch.float16)


def on_device(device: torch.device) -> torch.device | None:
    """Where full-resolution colour work runs (the model input and the foreground's conversions): the engine's
    device when it is a GPU, else None (OCIO on the CPU, 6-25x faster there than the baked tables in torch:
    bench/bench_colour.py)."""
    return device if device.type == "cuda" else None


def frame_tensor(x16: torch.Tensor, device: torch.device) -> torch.Tensor:
    """(H, W, 3) float16 -> (1, 1, 3, H, W) float32 on the device."""
    return x16.to(device, non_blocking=True).float().permute(2, 0, 1)[None, None].contiguous()


def frame_passes(out: StepOutput, height: int, width: int, ratio: float) -> tuple[torch.Tensor, ...]:
    """(alpha, trimap in {0, .5, 1}, boundary) at the frame size, on the device."""
    classes = to_input_size(out.trimap_logits, height, width, ratio).argmax(1)[0]
    trimap = torch.tensor(TRIMAP_VALUES, device=classes.device)[classes]
    boundary = to_input_size(out.boundary, height, width, ratio)[0, 0].clamp(0, 1)
    return out.full[0, 0].float().clamp(0, 1), trimap, boundary


def placed(image: np.ndarray, dest: np.ndarray | None) -> np.ndarray:
    """``image`` written into ``dest`` (float32, same shape) and ``dest`` returned; ``image`` itself without one."""
    if dest is None:
        return image
    np.copyto(destination(dest, image.shape), image)
    return dest


class MatteLoop:
    """The per-frame work of one shot under its current settings (rebuilt when they change)."""

    def __init__(self, step: StreamingStep, keyframes: Keyframes, colour: ColourConverter, settings: ShotSettings,
                 chain: ChainIndex, caches: ShotCaches, key: KeyFn, input_name: Callable[[str], str],
                 warmup_frames: int, state_every: int = 1, state_dtype: torch.dtype = torch.float32) -> None:
        self.step = step
        self.keyframes = keyframes
        self.colour = colour
        self.settings = settings
        self.chain = chain
        self.caches = caches
        self.key = key
        self.input_name = input_name
        self.warmup_frames = warmup_frames
        self.state_every = state_every
        self.state_dtype = state_dtype

    # ------------------------------------------------------------------ one frame through the network
    def compute(self, frame: int, x16: torch.Tensor, state: ChainState | None, key: str, prev: str,
                input_hash: str) -> tuple[HostCopy, ChainState]:
        """Run the step; the passes stay on the device and their host copy is in flight (see HostCopy)."""
        step = self.step
        x = frame_tensor(x16, step.device)
        h, w = x.shape[-2:]
        stream = state.stream if state else None
        self_mem = state.self_memory if state else None
        since = stream.frames if stream else 0  # frames since the chain started, before this one
        if frame in self.keyframes.numbers():
            _, kf_trimap = self.keyframes.inputs(frame)
            out = step(x, self.keyframes.memory(frame), stream, trimap=kf_trimap)
            alpha, _, boundary = frame_passes(out, h, w, step.ratio_for(h, w))
            trimap = kf_trimap[0, 0, 0].float()
        else:
            sel = select_memory(self.keyframes.numbers(), frame, self.settings.memory_size,
                                self.settings.memory_policy)
            mems = [self.keyframes.memory(k) for k in sel] + ([self_mem] if self_mem is not None else [])
            out = step(x, step.join_memory(mems), stream)
            alpha, trimap, boundary = frame_passes(out, h, w, step.ratio_for(h, w))
            every = self.settings.self_memory_every
            if every and since > 0 and since % every == 0:
                self_mem = step.encode_memory(x, trimap[None, None, None])
        stream = out.state
        checkpoint = stream.frames % self.state_every == 0
        if checkpoint:  # stored, and the chain carries on from exactly what is stored (a resume is bit-identical)
            stream = StreamState(tuple(t.to(self.state_dtype).to(t.dtype) for t in stream.tensors), stream.frames)
        new_state = ChainState(stream, self_mem)
        self.caches.save_state(key, new_state, persist=checkpoint, dtype=self.state_dtype)
        self.caches.save_input(self.input_name(input_hash), x16)
        self.chain.record(frame, key, prev, input_hash)
        passes = HostCopy((alpha, trimap.float(), boundary.to(torch.float16).float()))
        return passes, new_state

    def materialize(self, frame: int, key: str) -> ChainState | None:
        """The state after ``frame`` under chain ``key``: from RAM or disk, or replayed exactly from the last stored
        state through the stored inputs after it. ``_Missing(first)`` when an input from frame ``first`` on is
        gone: those frames must be sent again."""
        if key == FRESH:
            return None
        st = self.caches.load_state(key)
        if st is not None:
            return st
        steps, m, k = [], frame, key
        while True:  # back along the chain to the last state that is still stored, or its start
            e = self.chain.entry(m)
            if e is None or e["key"] != k:
                raise _Missing(m + 1 if not steps else m)
            steps.append((m, e["input"], k, e["prev"]))
            if e["prev"] == FRESH:
                st = None
                break
            st = self.caches.load_state(e["prev"])
            if st is not None:
                break
            m, k = m - 1, e["prev"]
        steps.reverse()
        gone = [m for m, input_hash, _, _ in steps if not self.caches.has_input(self.input_name(input_hash))]
        if gone:
            raise _Missing(gone[0])
        for m, input_hash, k, prev in steps:
            x16 = self.caches.load_input(self.input_name(input_hash))
            if x16 is None:  # listed but unreadable (dropped now): this frame and the ones after it
                raise _Missing(m)
            passes, st = self.compute(m, x16, st, k, prev, input_hash)
            self.caches.save_result(k, passes)
        return st

    # ------------------------------------------------------------------ the loop's step
    def one_frame(self, frame: int, image: np.ndarray, input_hash: str, carry):
        """((frame, passes, from_cache), new carry); ``carry`` = (frame, key, state) of the previous frame.

        When the index holds a valid key for ``frame - 1`` the result is the in-order one, exactly, or
        :class:`StateLost` names the frames to send again; never a warm-up. Only a frame whose predecessor was never
        processed under the current keyframes and settings (random access) gets the documented warm-up.
        """
        prev, prev_state = None, None
        if carry is not None and carry[0] == frame - 1:
            prev, prev_state = carry[1], carry[2]
            entry = self.chain.entry(frame - 1) or {}
            if entry.get("key") != prev or self.chain.valid_key(frame - 1) != prev:
                prev, prev_state = None, None  # keyframes changed under us
        if prev is None:
            prev = self.chain.valid_key(frame - 1)
        if prev is None:
            return self._random_access(frame, image, input_hash)
        try:
            return self._after(frame, image, input_hash, prev, prev_state)
        except _Missing as missing:
            raise StateLost(frame, list(range(missing.first, frame))) from None

    def _after(self, frame: int, image: np.ndarray, input_hash: str, prev: str, prev_state: ChainState | None):
        """``frame`` continuing the chain whose key before it is ``prev``."""
        key = self.key(prev, input_hash, frame)
        cached = self.caches.load_result(key)
        if cached is not None:
            name = self.input_name(input_hash)
            if not self.caches.has_input(name):  # keep what a later replay through this frame needs
                self.caches.save_input(name, model_input(self.colour, image, on_device(self.step.device)).cpu())
            self.chain.record(frame, key, prev, input_hash)
            return (frame, cached, True), (frame, key, None)
        state = prev_state if prev_state is not None else self.materialize(frame - 1, prev)
        x16 = model_input(self.colour, image, on_device(self.step.device))
        passes, new_state = self.compute(frame, x16, state, key, prev, input_hash)
        self.caches.save_result(key, passes)
        return (frame, passes, False), (frame, key, new_state)

    def _random_access(self, frame: int, image: np.ndarray, input_hash: str):
        """The documented warm-up: a fresh chain over the kept inputs of up to ``warmup_frames`` frames before
        ``frame`` (none kept: a fresh chain at ``frame``). An input found damaged is dropped and the warm-up is
        chosen again without it."""
        for _ in range(self.warmup_frames + 1):
            prev, _ = self.chain.warmup_chain(frame, self.warmup_frames,
                                              lambda h: self.caches.has_input(self.input_name(h)))
            try:
                return self._after(frame, image, input_hash, prev, None)
            except _Missing:
                continue
        return self._after(frame, image, input_hash, FRESH, None)

    def finish(self, result, image: np.ndarray, passes, premultiply: bool,
               out: Mapping[str, np.ndarray] | None = None) -> FrameResult:
        """The frame's passes on the host. A pass named in ``out`` is written into that float32 array ((H, W), or
        (H, W, 3) for the foreground) by its last step, the host copy or the foreground's finishing, and returned
        as it: no copy is left for the caller (the server gives views of the client's shared-memory slot)."""
        out = out or {}
        frame, computed, from_cache = result
        fg = None
        if "foreground" in passes:  # queued on the device before the host copy of the passes is waited for
            a = computed.device[0] if isinstance(computed, HostCopy) else torch.from_numpy(computed[0]).to(
                self.step.device)
            fg = foreground(self.colour, image, a, on_device(self.step.device))
            if isinstance(fg, torch.Tensor):  # premultiplied on the device too; one host copy
                fg = HostCopy((fg * a[..., None] if premultiply else fg,))
        into = [out.get(name) if name in passes else None for name in ("alpha", "trimap", "boundary")]
        alpha, trimap, boundary = computed.arrays(into) if isinstance(computed, HostCopy) else \
            tuple(placed(a, dest) for a, dest in zip(computed, into))
        dest = out.get("foreground")
        if isinstance(fg, HostCopy):
            fg = fg.arrays([dest])[0]
        elif fg is not None:
            fg = placed(fg, dest) if not premultiply else \
                np.multiply(fg, alpha[..., None], out=None if dest is None else destination(dest, fg.shape))
        return FrameResult(frame, alpha, fg, trimap if "trimap" in passes else None,
                           boundary if "boundary" in passes else None, from_cache)


def foreground(colour: ColourConverter, image: np.ndarray, alpha: torch.Tensor,
               device: torch.device | None) -> torch.Tensor | np.ndarray:
    """The unpremultiplied foreground (H, W, 3) in the shot's colour space, estimated in scene-linear light on
    ``alpha``'s device (alpha (H, W)).

    With ``device`` (or for a scene-linear space, which needs no conversion) and a conversion that bakes (see
    :func:`ftpvm_core.imaging.colour_torch.bake_linear`; equal to OCIO within ``LINEAR_TOLERANCE``), every step runs
    there and the result is a tensor on it; else the conversions to and from scene-linear run through OCIO on the
    CPU and the result is a numpy array.
    """
    transform = baked_linear(colour) if device is not None or colour.input_is_linear else None
    if transform is None:
        lin = torch.from_numpy(colour.to_linear(image)).to(alpha.device)
    else:
        lin = transform.to_linear(torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).to(alpha.device))
    fg = estimate_foreground_torch(lin.permute(2, 0, 1)[None], alpha[None, None])[0].permute(1, 2, 0)
    return colour.from_linear(fg.cpu().numpy()) if transform is None else transform.from_linear(fg)


__all__ = ["FrameResult", "Keyframes", "MatteLoop", "foreground", "frame_passes", "frame_tensor", "model_input",
           "on_device", "placed"]
