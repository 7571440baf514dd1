"""Deterministic synthetic weights that follow a checkpoint manifest.

Used by tests, golden fixtures and the demo when no trained weights exist. Every tensor is
drawn from its own generator seeded by ``seed`` and the key's CRC32, so a key's values do not
depend on the order or presence of other keys, and the same call gives the same bytes on any
machine with the same torch version.
"""
from __future__ import annotations

import math
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, Sequence

import torch

ManifestEntry = tuple[str, tuple[int, ...], torch.dtype]

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "int64": torch.int64}


def read_manifest(path: str | Path) -> list[ManifestEntry]:
    """Read a ``key<TAB>shape<TAB>dtype`` manifest (shape ``a,b,c``; empty for a scalar)."""
    entries: list[ManifestEntry] = []
    lines = Path(path).read_text().splitlines()
    for line in lines[1:]:
        if not line.strip():
            continue
        key, shape, dtype = line.split("\t")
        dims = tuple(int(d) for d in shape.split(",")) if shape else ()
        entries.append((key, dims, _DTYPES[dtype]))
    return entries


def manifest_of(state_dict: "OrderedDict[str, torch.Tensor]") -> list[ManifestEntry]:
    """The manifest entries (key, shape, dtype) of a state dict, in order."""
    return [(k, tuple(v.shape), v.dtype) for k, v in state_dict.items()]


def _generator(seed: int, key: str) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed((seed * 1_000_003 + zlib.crc32(key.encode())) % (2**62))
    return g


def synthetic_tensor(key: str, shape: Sequence[int], dtype: torch.dtype, seed: int = 0) -> torch.Tensor:
    """One deterministic tensor for ``key``, scaled so a forward pass stays well conditioned."""
    shape = tuple(shape)
    if dtype == torch.int64:
        return torch.zeros(shape, dtype=torch.int64)
    g = _generator(seed, key)
    leaf = key.rsplit(".", 1)[-1]
    if leaf == "running_mean":
        t = 0.1 * torch.randn(shape, generator=g)
    elif leaf == "running_var":
        t = 0.5 + torch.rand(shape, generator=g)
    elif len(shape) >= 2:  # conv / linear weight: He-normal on fan-in
        fan_in = math.prod(shape[1:])
        t = torch.randn(shape, generator=g) * math.sqrt(2.0 / fan_in)
    elif leaf == "weight":  # norm scale
        t = 1.0 + 0.1 * torch.randn(shape, generator=g)
    else:  # bias / norm shift
        t = 0.05 * torch.randn(shape, generator=g)
    return t.to(dtype)


def synthetic_state_dict(entries: Iterable[ManifestEntry], seed: int = 0) -> "OrderedDict[str, torch.Tensor]":
    """A full state dict for ``entries`` (see :func:`read_manifest`), deterministic in ``seed``."""
    return OrderedDict((k, synthetic_tensor(k, s, d, seed)) for k, s, d in entries)
