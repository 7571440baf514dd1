"""Export a network checkpoint as compact half-precision weights (how the built-in demo weights are made).

    python -m ftpvm_core.train.export_demo saves/demo/demo_1000.pth ftpvm_core/model/demo_weights.pth

Reads any checkpoint ``ftpvm_core.load_model`` reads (network-only or a training checkpoint), checks it against the
network strictly, casts floating-point tensors to float16 (integer buffers such as ``num_batches_tracked`` are kept),
writes a plain state dict, and verifies the written file loads strictly through ``load_model``.
"""
from __future__ import annotations

import argparse
import os
from collections import OrderedDict
from pathlib import Path

import torch

from ftpvm_core.atomic import atomic_output

MAX_BYTES = 12 * 1024 * 1024


def half_state_dict(state) -> "OrderedDict[str, torch.Tensor]":
    return OrderedDict((k, v.detach().to("cpu").half().contiguous() if v.is_floating_point() else
                        v.detach().to("cpu").contiguous()) for k, v in state.items())


def export_half(src: str | os.PathLike, dst: str | os.PathLike, max_bytes: int = MAX_BYTES) -> int:
    """Write ``src`` as fp16 to ``dst``; returns the file size in bytes. Raises if it does not load back or is
    larger than ``max_bytes``."""
    from ftpvm_core.model import FastTrimapPropagationVideoMatting
    from ftpvm_core.model.checkpoint import check_state_dict, load_model, load_state_dict_file

    state = load_state_dict_file(src)
    check_state_dict(FastTrimapPropagationVideoMatting(backbone_pretrained=False), state, source=str(src))
    dst = Path(dst)
    with atomic_output(dst, ".pth") as tmp:  # the checks below fail -> nothing written
        torch.save(half_state_dict(state), tmp)
        size = tmp.stat().st_size
        if size > max_bytes:
            raise ValueError(f"{dst}: {size} bytes is over the limit of {max_bytes}")
        load_model(tmp, device="cpu")  # strict load check
    return size


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("src")
    p.add_argument("dst")
    a = p.parse_args(argv)
    size = export_half(a.src, a.dst)
    print(f"wrote {a.dst} ({size / 1e6:.2f} MB, float16)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
