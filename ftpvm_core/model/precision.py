"""The one precision vocabulary: ``fp32 | fp16 | bf16`` (long torch names accepted), plus ``auto``.

Every layer (model, engine settings, server flags, command line) takes these names and keeps the short form.
Reduced precision is autocast at run time; weights stay float32.
"""
from __future__ import annotations

import torch

#: Short name -> torch dtype.
DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
#: Long names accepted wherever a precision is read.
ALIASES: dict[str, str] = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}
AUTO = "auto"
#: Every name a setting or flag accepts (``auto`` where the setting allows it).
PRECISION_NAMES: tuple[str, ...] = (AUTO, *DTYPES, *ALIASES)


def normalize_precision(name: object, allow_auto: bool = True) -> str:
    """The short name for ``name`` (``float16`` -> ``fp16``); ``auto`` kept when allowed.

    Raises ValueError naming the accepted values.
    """
    if isinstance(name, str):
        key = ALIASES.get(name, name)
        if key in DTYPES or (allow_auto and key == AUTO):
            return key
    accepted = ([AUTO] if allow_auto else []) + list(DTYPES)
    raise ValueError(f"precision {name!r} is not known; use one of {', '.join(accepted)} "
                     f"(or the long names {', '.join(ALIASES)})")


def resolve_precision(name: str, device: torch.device) -> str:
    """A concrete short name: ``auto`` = fp16 on CUDA, fp32 elsewhere."""
    short = normalize_precision(name)
    if short == AUTO:
        return "fp16" if device.type == "cuda" else "fp32"
    return short


__all__ = ["ALIASES", "AUTO", "DTYPES", "PRECISION_NAMES", "normalize_precision", "resolve_precision"]
