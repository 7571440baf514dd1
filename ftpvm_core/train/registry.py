"""Networks selectable with ``--which_model`` (``name`` or the original's ``name=variant`` form)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from torch import nn


def _ftpvm(backbone_weights: str | Path | None) -> nn.Module:
    from ftpvm_core.model import FastTrimapPropagationVideoMatting

    return FastTrimapPropagationVideoMatting(backbone_pretrained=backbone_weights if backbone_weights else False)


MODELS: dict[str, Callable[[str | Path | None], nn.Module]] = {"FTPVM": _ftpvm}


def build_model(which_model: str, backbone_weights: str | Path | None = None) -> nn.Module:
    """Build the named network; ``backbone_weights`` is an optional local ImageNet backbone file (never downloaded)."""
    name = which_model.split("=", 1)[0]
    if name not in MODELS:
        raise ValueError(f"unknown --which_model {which_model!r}; known: {', '.join(sorted(MODELS))}")
    return MODELS[name](backbone_weights)
