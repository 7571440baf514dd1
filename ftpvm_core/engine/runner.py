"""Runs the network for the engine: tensors in, full-resolution passes out, recurrent state carried.

Model inputs are the frame in the model's colour space, rounded to float16 (so a frame replayed from the stored
float16 input gives bit-identical results to the frame as first processed). Outputs at the working size (trimap,
boundary when ``downsample_ratio != 1``) are cropped of padding and resized to the frame.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from ftpvm_core.engine.memory_bank import Memory

SIZE_MULTIPLE = 16
TRIMAP_VALUES = (0.0, 0.5, 1.0)  # classes (bg, unknown, fg)


@dataclass
class StepOutput:
    """One frame's raw passes on the model device, (H, W) each."""

    alpha: torch.Tensor
    trimap: torch.Tensor  # values in {0, .5, 1}
    boundary: torch.Tensor
    rec: list


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    if precision == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[precision]


class ModelRunner:
    """A loaded network on one device. Not thread-safe by itself: the engine serialises calls per model.

    With ``onnx`` the per-frame step (``forward_with_memory`` in float32) runs in ONNX Runtime;
    keyframes, memory encoding and reduced precision stay in torch.
    """

    def __init__(self, model: torch.nn.Module, device: torch.device, onnx: bool = False):
        self.model = model.eval()
        self.device = device
        self.onnx = None
        if onnx:
            from ftpvm_core.model.onnx_backend import OnnxCore, OnnxNetwork

            self.onnx = OnnxNetwork(self.model, OnnxCore(self.model))

    def _autocast(self, dtype: torch.dtype):
        if dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def image_tensor(self, image_model_f16: torch.Tensor) -> torch.Tensor:
        """(H, W, 3) float16 (CPU or device) -> (1, 1, 3, H, W) float32 on the device."""
        x = image_model_f16.to(self.device, non_blocking=True).float()
        return x.permute(2, 0, 1)[None, None].contiguous()

    def trimap_tensor(self, trimap) -> torch.Tensor:
        t = torch.as_tensor(trimap, dtype=torch.float32)
        return t.to(self.device)[None, None, None]

    @torch.inference_mode()
    def encode(self, image: torch.Tensor, trimap: torch.Tensor, ratio: float, dtype: torch.dtype) -> Memory:
        with self._autocast(dtype):
            feat, value = self.model.encode_imgs_to_value(image, trimap, downsample_ratio=ratio)
        return feat, value

    @torch.inference_mode()
    def step(self, image: torch.Tensor, memory: Memory, rec: list | None, ratio: float, dtype: torch.dtype
             ) -> StepOutput:
        rec_seg, rec_mat = rec if rec is not None else (None, None)
        network = self.onnx if self.onnx is not None and dtype == torch.float32 else self.model
        with self._autocast(dtype):
            logits, boundary, full, rec_out = network.forward_with_memory(
                image, memory[0], memory[1], rec_seg, rec_mat, downsample_ratio=ratio)
        return self._finish(image, logits, boundary, full, rec_out, ratio)

    @torch.inference_mode()
    def step_keyframe(self, image: torch.Tensor, kf_image: torch.Tensor, kf_trimap: torch.Tensor,
                      rec: list | None, ratio: float, dtype: torch.dtype) -> StepOutput:
        """A keyframe: the network reads only this keyframe and its matte follows the given trimap."""
        rec_seg, rec_mat = rec if rec is not None else (None, None)
        with self._autocast(dtype):
            logits, boundary, full, rec_out = self.model(
                image, kf_image, kf_trimap, rec_seg, rec_mat, downsample_ratio=ratio, replace_given_seg=True)
        out = self._finish(image, logits, boundary, full, rec_out, ratio)
        out.trimap = kf_trimap[0, 0, 0].float()
        return out

    def _to_frame(self, x: torch.Tensor, h: int, w: int, ratio: float) -> torch.Tensor:
        """(1, 1, C, h', w') at the working size -> (1, C, h, w) at the frame size."""
        x = x[0].float()
        if x.shape[-2:] == (h, w):
            return x
        hs, ws = math.floor(h * ratio), math.floor(w * ratio)
        ph, pw = x.shape[-2] - hs, x.shape[-1] - ws
        top, left = ph // 2, pw // 2
        x = x[..., top:top + hs, left:left + ws]
        return F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)

    def _finish(self, image, logits, boundary, full, rec_out, ratio) -> StepOutput:
        h, w = image.shape[-2:]
        classes = self._to_frame(logits, h, w, ratio).argmax(1)[0]
        lut = torch.tensor(TRIMAP_VALUES, device=classes.device)
        bnd = self._to_frame(boundary, h, w, ratio)[0, 0].clamp(0, 1)
        alpha = self._to_frame(full, h, w, 1.0)[0, 0].clamp(0, 1)
        return StepOutput(alpha=alpha, trimap=lut[classes], boundary=bnd, rec=_detach(rec_out))


def _detach(rec: Any) -> Any:
    if isinstance(rec, (list, tuple)):
        return [_detach(r) for r in rec]
    return rec


def rec_to_cpu(rec: Any) -> Any:
    if isinstance(rec, (list, tuple)):
        return [rec_to_cpu(r) for r in rec]
    return None if rec is None else rec.detach().cpu()


def rec_to_device(rec: Any, device: torch.device) -> Any:
    if isinstance(rec, (list, tuple)):
        return [rec_to_device(r, device) for r in rec]
    return None if rec is None else rec.to(device)
