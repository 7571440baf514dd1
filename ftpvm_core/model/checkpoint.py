"""Loading FTP-VM checkpoints for real use, with clear errors, and fingerprinting weights."""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

_WRAPPER_KEYS = ("state_dict", "model_state_dict", "network", "model", "net")


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message says why and what to do."""


def _describe(keys: list[str], limit: int = 5) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys)} in all)" if len(keys) > limit else "")


def unwrap_state_dict(obj: Any) -> "OrderedDict[str, torch.Tensor]":
    """Find the network's state dict inside the usual wrappers and strip ``module.`` prefixes."""
    for _ in range(3):
        if isinstance(obj, Mapping) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
            inner = next((obj[k] for k in _WRAPPER_KEYS if k in obj and isinstance(obj[k], Mapping)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointError("the file holds no network weights (expected a mapping of parameter names to tensors)")
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            continue
        while key.startswith("module."):
            key = key[len("module."):]
        out[key] = value
    if not out:
        found = ", ".join(list(map(str, obj))[:5])
        raise CheckpointError(f"the file holds no network weights (no tensors; top-level keys: {found})")
    return out


def load_state_dict_file(path: str | Path) -> "OrderedDict[str, torch.Tensor]":
    """Read a checkpoint on any machine (CPU map, ``weights_only``) and unwrap it."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    kind = _container_kind(path)
    if kind is None:
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (neither the zip archive that torch.save writes "
                              f"nor a legacy pickle); pass the .pth file of the weights")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a damaged file can fail anywhere inside the unpickler
        raise CheckpointError(f"{path}: {_load_failure(exc)}") from None
    try:
        return unwrap_state_dict(obj)
    except CheckpointError as exc:
        raise CheckpointError(f"{path}: {exc}") from None


def _container_kind(path: Path) -> str | None:
    """"zip" or "pickle" by the file's first bytes (what torch.save writes), else None."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:
        return "pickle"
    return None


def _load_failure(exc: Exception) -> str:
    """One line for a failed safe load, never passing on advice to load unsafely."""
    text = str(exc).strip()
    if text.startswith("Weights only load failed") or "weights_only" in text:
        return ("holds Python objects besides tensors, which are not loaded (that would run code from the file); "
                "save the plain weights with torch.save(model.state_dict(), path)")
    first = text.splitlines()[0] if text else type(exc).__name__
    return f"not a readable PyTorch checkpoint, damaged or truncated ({first})"


def check_state_dict(model: nn.Module, state: Mapping[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Raise :class:`CheckpointError` naming missing, unexpected and mis-shaped keys."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    misshaped = [f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}"
                 for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    problems = []
    if missing:
        problems.append(f"missing keys: {_describe(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_describe(unexpected)}")
    if misshaped:
        problems.append(f"mis-shaped keys: {_describe(misshaped, 3)}")
    if problems:
        raise CheckpointError(f"{source} is not an FTP-VM checkpoint: " + "; ".join(problems))


def fingerprint(weights: nn.Module | Mapping[str, torch.Tensor]) -> str:
    """A short stable hash of parameter names, shapes, dtypes and values (16 hex chars).

    ``num_batches_tracked`` counters are left out: they change during training without
    changing what the network computes.
    """
    state = weights.state_dict() if isinstance(weights, nn.Module) else weights
    digest = hashlib.sha256()
    for key in sorted(state):
        if key.endswith("num_batches_tracked"):
            continue
        tensor = state[key].detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{key}:{tuple(state[key].shape)}:{tensor.dtype}".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()[:16]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then CPU; anything else is passed to torch."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {device!r} requested but CUDA is not available on this machine")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise RuntimeError(f"device {device!r} requested but this machine has {torch.cuda.device_count()} GPU(s)")
    return dev


def load_model(path: str | Path, device: str | torch.device = "auto", dtype: torch.dtype | None = None) -> nn.Module:
    """Build FTP-VM and load a checkpoint strictly; returns the model in eval mode on ``device``.

    Accepts the official ``saves/ftpvm.pth``, wrapped state dicts (``{"state_dict": ...}``),
    ``module.``-prefixed keys (DataParallel/DDP) and half-precision files.
    """
    from .ftpvm import FastTrimapPropagationVideoMatting

    state = load_state_dict_file(path)
    model = FastTrimapPropagationVideoMatting(backbone_pretrained=False)
    check_state_dict(model, state, source=str(path))
    own = model.state_dict()
    state = OrderedDict((k, v.to(own[k].dtype)) for k, v in state.items())
    model.load_state_dict(state, strict=True)
    model.eval().to(resolve_device(device))
    if dtype is not None:
        model.to(dtype)
    return model
