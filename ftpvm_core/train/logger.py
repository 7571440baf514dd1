"""Rank-0 logging: scalars and image snapshots to TensorBoard when it is installed, PNG snapshots otherwise."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch


class TrainingLogger:
    """Writes under ``<experiment>/logs``; a no-op on other ranks or with ``--id NULL``."""

    def __init__(self, exp_dir: Path, enabled: bool):
        self.enabled, self.exp_dir, self.writer = enabled, exp_dir, None
        if not enabled:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            print("ftpvm-train: TensorBoard is not installed (pip install 'ftpvm[tensorboard]'); "
                  "logging scalars to the progress bar and snapshots as PNG", file=sys.stderr)
        else:
            self.writer = SummaryWriter(str(exp_dir / "logs"))

    def scalars(self, values: dict[str, float], it: int) -> None:
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(f"train/{k}", v, it)

    def text(self, tag: str, text: str) -> None:
        if self.writer is not None:
            self.writer.add_text(tag, text)

    def snapshot(self, batch: dict[str, torch.Tensor], full: torch.Tensor | None, logits: torch.Tensor | None,
                 it: int) -> None:
        """A strip per frame of the first clip: image | true alpha | predicted alpha | predicted trimap."""
        if not self.enabled:
            return
        cols = [batch["rgb"][0], batch["gt"][0].expand(-1, 3, -1, -1)]
        if full is not None:
            cols.append(full[0].detach().float().clamp(0, 1).expand(-1, 3, -1, -1))
        if logits is not None:
            cols.append((logits[0].detach().float().argmax(1, keepdim=True) / 2).expand(-1, 3, -1, -1))
        grid = torch.cat([torch.cat(list(c.cpu()), dim=1) for c in cols], dim=2)  # (3, T*H, cols*W)
        if self.writer is not None:
            self.writer.add_image("train/pairs", grid, it)
            return
        import OpenImageIO as oiio

        px = np.ascontiguousarray((grid.permute(1, 2, 0).numpy() * 255).round().clip(0, 255).astype(np.uint8))
        path = self.exp_dir / "images" / f"{it:08d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        out = oiio.ImageOutput.create(str(path))
        out.open(str(path), oiio.ImageSpec(px.shape[1], px.shape[0], 3, "uint8"))
        out.write_image(px)
        out.close()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
