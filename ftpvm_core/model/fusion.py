"""Memory side of FTP-VM: trimap fusion into memory values, and the memory read at 1/16.

* :class:`TrimapGatedFusion` turns keyframe features + keyframe trimap into memory values.
* :class:`BottleneckFusion` matches query keys against memory keys (scaled dot product,
  softmax over all memory positions of all memory frames), reads the values, and fuses them
  with the query's own bottleneck features (ResBlock + CBAM, then a pyramid pooling module).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .attention import CBAM
from .layers import AvgPyramid, GatedConv2d, Projection, ResBlock, fold, unfold


class TrimapGatedFusion(nn.Module):
    """Encode (features, trimap) of memory frames into a 1/16 value map (b, c, t, h, w)."""

    def __init__(self, channels: list[int] | tuple[int, ...], c_mask: int = 1) -> None:
        super().__init__()
        if len(channels) != 4:
            raise ValueError("TrimapGatedFusion needs 4 feature levels")
        levels = []
        for i, c in enumerate(channels):
            c_in = c + c_mask + (channels[i - 1] if i > 0 else 0)
            levels.append(nn.Sequential(
                GatedConv2d(c_in, c, 3, 1, 1),
                nn.GroupNorm(4, c),
                nn.Conv2d(c, c, 3, 1, 1),
                nn.LeakyReLU(0.2),
                nn.GroupNorm(4, c),
                nn.AvgPool2d(2) if i < 3 else nn.Identity(),
            ))
        self.gated_convs = nn.ModuleList(levels)
        self.mask_pyramid = AvgPyramid(levels=4)

    def forward(self, masks: Tensor, feats: list[Tensor]) -> Tensor:
        """``masks`` (b, t, 1, h, w), ``feats`` 4 levels of (b, t, c, h/s, w/s)."""
        bt = feats[0].shape[:2]
        masks_small = [fold(m) for m in self.mask_pyramid(masks)]
        x = None
        for i, level in enumerate(self.gated_convs):
            parts = [fold(feats[i]), masks_small[i]] if x is None else [x, fold(feats[i]), masks_small[i]]
            x = level(torch.cat(parts, dim=1))
        return unfold(x, bt).transpose(1, 2)


class MemoryReader(nn.Module):
    """Scaled dot-product affinity between memory and query keys, and the value read-out."""

    @staticmethod
    def affinity(mem_key: Tensor, query_key: Tensor) -> Tensor:
        """(b, ck, t_m, h, w) x (b, ck, t_q, h, w) -> softmax over memory positions (b, Nm, Nq)."""
        ck = mem_key.size(1)
        logits = mem_key.flatten(2).transpose(1, 2) @ query_key.flatten(2)
        return F.softmax(logits / math.sqrt(ck), dim=1)

    @staticmethod
    def readout(affinity: Tensor, mem_value: Tensor, t_q: int) -> Tensor:
        """Weighted sum of memory values: (b, cv, t_m, h, w) -> (b, t_q, cv, h, w)."""
        b, cv, _, h, w = mem_value.shape
        read = torch.bmm(mem_value.reshape(b, cv, -1), affinity)
        return read.view(b, cv, t_q, h, w).transpose(1, 2)


class FeatureFusion(nn.Module):
    """ResBlock, then add CBAM attention of the result."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.block = ResBlock(c_in, c_out)
        self.attention = CBAM(c_out)

    def forward(self, x: Tensor) -> Tensor:
        bt = x.shape[:2] if x.ndim == 5 else None
        y = self.block(fold(x) if bt is not None else x)
        y = y + self.attention(y)
        return unfold(y, bt) if bt is not None else y


class PyramidPooling(nn.Module):
    """PSP module: pooled context at 1, 2, 4, 8 bins, upsampled and fused by a 1x1 conv."""

    def __init__(self, c_in: int, c_per_bin: int, c_out: int, bins: tuple[int, ...] = (1, 2, 4, 8)) -> None:
        super().__init__()
        self.stages = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(n), nn.Conv2d(c_in, c_per_bin, 1, bias=False)) for n in bins
        )
        self.bottleneck = nn.Conv2d(c_per_bin * len(bins) + c_in, c_out, 1)

    def _frames(self, x: Tensor) -> Tensor:
        size = x.shape[-2:]
        priors = [F.interpolate(stage(x), size=size, mode="bilinear", align_corners=True) for stage in self.stages]
        return F.relu(self.bottleneck(torch.cat(priors + [x], dim=1)))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 5:
            return unfold(self._frames(fold(x)), x.shape[:2])
        return self._frames(x)


class BottleneckFusion(nn.Module):
    """Read memory values for the query's 1/16 features and fuse them into the bottleneck."""

    def __init__(self, c_feat: int, c_key: int, c_value: int, c_out: int) -> None:
        super().__init__()
        self.project_key = Projection(c_feat, c_key)
        self.reader = MemoryReader()
        self.fuse = FeatureFusion(c_feat + c_value, c_out)
        self.bottleneck = PyramidPooling(c_out, c_out // 4, c_out)

    def key(self, feat16: Tensor) -> Tensor:
        """(b, t, c, h, w) features -> (b, c_key, t, h, w) keys."""
        return self.project_key(feat16).transpose(1, 2)

    def affinity(self, query_feat16: Tensor, mem_feat16: Tensor) -> Tensor:
        """(b, Nm, Nq) softmax over memory positions of the query frames' 1/16 cells (what :meth:`read` weighs)."""
        return self.reader.affinity(self.key(mem_feat16), self.key(query_feat16))

    def read(self, query_feat16: Tensor, mem_feat16: Tensor, mem_value: Tensor) -> Tensor:
        return self.reader.readout(self.affinity(query_feat16, mem_feat16), mem_value, query_feat16.size(1))

    def forward(self, query_feat16: Tensor, mem_feat16: Tensor, mem_value: Tensor) -> Tensor:
        read = self.read(query_feat16, mem_feat16, mem_value)
        return self.bottleneck(self.fuse(torch.cat([query_feat16, read], dim=2)))
