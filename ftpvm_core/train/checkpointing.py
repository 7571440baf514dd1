"""Checkpoints under ``<save_root>/<id>/``: network-only ``<id>_<iteration>.pth`` files (load with
:func:`ftpvm_core.load_model` or the server) and one full ``<id>_checkpoint.pth`` that resumes exactly."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ftpvm_core.atomic import atomic_output

FORMAT = "ftpvm-train-checkpoint/1"


def experiment_dir(save_root: str | Path, exp_id: str) -> Path:
    return Path(save_root) / exp_id


def network_path(save_root: str | Path, exp_id: str, iteration: int) -> Path:
    return experiment_dir(save_root, exp_id) / f"{exp_id}_{iteration}.pth"


def checkpoint_path(save_root: str | Path, exp_id: str) -> Path:
    return experiment_dir(save_root, exp_id) / f"{exp_id}_checkpoint.pth"


def _atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` through the one atomic-write helper (whole file or none, umask permissions)."""
    with atomic_output(path, ".pth") as tmp:
        torch.save(obj, tmp)


def network_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The plain network state dict on CPU (no DDP ``module.`` prefix)."""
    return {k.removeprefix("module."): v.detach().cpu() for k, v in model.state_dict().items()}


def save_network(model: nn.Module, path: Path) -> None:
    _atomic_save(network_state(model), path)


def save_checkpoint(path: Path, *, iteration: int, model: nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler: Any, scaler: Any, data_state: dict[str, int], flags: dict[str, Any]) -> None:
    """Everything needed to continue: ``iteration`` is the number of iterations done (the next one to run)."""
    _atomic_save({
        "format": FORMAT,
        "it": iteration,
        "network": network_state(model),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "data": dict(data_state),
        "rng": {"torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
        "flags": flags,
    }, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a full checkpoint (ours, or the original's ``it``/``network``/``optimizer``/``scheduler`` dict)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain data only, no code
    except Exception as exc:  # a damaged file can fail anywhere inside the unpickler
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if "Weights only load failed" in first:
            first = "not a torch.save file, or one holding more than tensors and plain data"
        raise ValueError(f"{path}: not a readable PyTorch checkpoint ({first})") from None
    if not isinstance(ckpt, dict) or "network" not in ckpt or "it" not in ckpt:
        raise ValueError(f"{path}: not a full training checkpoint (needs 'it' and 'network'); "
                         "use --load_network for weights-only files")
    return ckpt
