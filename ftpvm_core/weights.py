"""Which weights to use, decided in one place, and saying which.

Order: an explicit path (``--weights``), ``$FTPVM_WEIGHTS``, ``saves/ftpvm.pth`` (the original's location, relative
to the working directory), the built-in demo weights shipped in the package (once they exist), else deterministic
synthetic weights — which produce mattes that mean nothing, so the notice says so loudly.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch

SAVES_PATH = Path("saves") / "ftpvm.pth"
BUILTIN_DEMO_WEIGHTS = Path(__file__).resolve().parent / "model" / "demo_weights.pth"
SYNTHETIC_SEED = 0


@dataclass
class ResolvedWeights:
    """A state dict and where it came from."""

    state_dict: "OrderedDict[str, torch.Tensor]"
    source: str  # "argument" | "env" | "saves" | "builtin-demo" | "synthetic"
    path: str | None
    notice: str  # one line for the user

    @property
    def is_synthetic(self) -> bool:
        return self.source == "synthetic"


def synthetic_weights(seed: int = SYNTHETIC_SEED) -> "OrderedDict[str, torch.Tensor]":
    """Deterministic synthetic weights following the network's own parameter list."""
    from ftpvm_core.model import FastTrimapPropagationVideoMatting
    from ftpvm_core.model.synthetic_weights import manifest_of, synthetic_state_dict

    entries = manifest_of(FastTrimapPropagationVideoMatting(backbone_pretrained=False).state_dict())
    return synthetic_state_dict(entries, seed)


def resolve_weights(path: str | os.PathLike | None = None) -> ResolvedWeights:
    """Find the best weights available; raises CheckpointError for an explicit path that cannot be used."""
    from ftpvm_core.model.checkpoint import load_state_dict_file

    candidates: list[tuple[str, Path]] = []
    if path:
        candidates.append(("argument", Path(path)))
    elif os.environ.get("FTPVM_WEIGHTS"):
        candidates.append(("env", Path(os.environ["FTPVM_WEIGHTS"])))
    else:
        candidates += [("saves", SAVES_PATH), ("builtin-demo", BUILTIN_DEMO_WEIGHTS)]
    for source, p in candidates:
        if source in ("argument", "env") or p.is_file():
            state = load_state_dict_file(p)  # explicit paths must work: errors propagate
            label = {"argument": "--weights", "env": "$FTPVM_WEIGHTS", "saves": "saves/ftpvm.pth",
                     "builtin-demo": "the built-in demo weights"}[source]
            return ResolvedWeights(state, source, str(p), f"using weights from {label} ({p})")
    return ResolvedWeights(
        synthetic_weights(), "synthetic", None,
        "WARNING: no trained weights found (--weights, $FTPVM_WEIGHTS, saves/ftpvm.pth, built-in demo weights); "
        "using deterministic SYNTHETIC weights: the pipeline runs but the mattes are meaningless",
    )
