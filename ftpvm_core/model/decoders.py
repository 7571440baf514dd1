"""The two recurrent decoders of FTP-VM.

* :class:`SegmentationDecoder` (1/16 -> 1/4): predicts the propagated trimap.
* :class:`MattingDecoder` (1/4 -> 1/1): predicts the boundary matte from low-level features
  and the segmentation decoder's intermediate features.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .layers import ResBlock, UpsampleBlock, conv_relu_bn, fold, unfold
from .recurrent import GRUBottleneckBlock, GRUUpsamplingBlock


class SegmentationDecoder(nn.Module):
    """Bottleneck GRU at 1/16, GRU upsampling to 1/8, plain upsampling to 1/4."""

    output_stride = 4

    def __init__(self, feat_channels: list[int], channels: list[int]) -> None:
        super().__init__()
        self.decode4 = GRUBottleneckBlock(feat_channels[3])
        self.decode3 = GRUUpsamplingBlock(feat_channels[3], feat_channels[2], 3, channels[0])
        self.decode2 = UpsampleBlock(3, channels[0], channels[1])
        self.out = ResBlock(channels[1], channels[2])

    def forward(self, img4: Tensor, img8: Tensor, f8: Tensor, f16: Tensor,
                r8: Tensor | None, r16: Tensor | None) -> tuple[Tensor, list[Tensor], list[Tensor]]:
        """Returns (hidden at 1/4, [r8, r16], intermediate features [x4, x8, x16])."""
        x16, r16 = self.decode4(f16, r16)
        x8, r8 = self.decode3(x16, f8, img8, r8)
        x4 = self.decode2(x8, img4)
        hidden = unfold(self.out(fold(x4)), x4.shape[:2] if x4.ndim == 5 else None)
        return hidden, [r8, r16], [x4, x8, x16]


class MattingDecoder(nn.Module):
    """Fuses segmentation features at 1/4 with image features, GRU upsampling to 1/2 and 1/1."""

    def __init__(self, feat_channels: list[int], skip_channels: list[int], channels: list[int]) -> None:
        super().__init__()
        self.gated_s16 = conv_relu_bn(skip_channels[0], channels[0] // 2)
        self.gated_s4 = conv_relu_bn(skip_channels[2], channels[0] // 2)
        self.decode0 = ResBlock(channels[0] + 3, channels[0], guide_channels=3)
        self.decode0_1 = ResBlock(feat_channels[1] + channels[0], channels[0])
        self.decode1 = GRUUpsamplingBlock(channels[0], feat_channels[0], 3, channels[1])
        self.decode2 = GRUUpsamplingBlock(channels[1], 0, 3, channels[2])
        self.out = ResBlock(channels[2], channels[3])

    def forward(self, img1: Tensor, img2: Tensor, img4: Tensor, f2: Tensor, f4: Tensor,
                seg4: Tensor, seg16: Tensor, r1: Tensor | None, r2: Tensor | None) -> tuple[Tensor, list[Tensor]]:
        """Returns (hidden at 1/1, [r1, r2])."""
        bt = img1.shape[:2] if img1.ndim == 5 else None  # clips (b, t, c, h, w) or frames (n, c, h, w)
        s16 = F.interpolate(self.gated_s16(fold(seg16)), scale_factor=4.0, mode="nearest")
        s4 = self.gated_s4(fold(seg4))
        x4 = self.decode0([s4, s16, fold(img4)])
        x4 = unfold(self.decode0_1(torch.cat([fold(f4), x4], dim=1)), bt)
        x2, r2 = self.decode1(x4, f2, img2, r2)
        x1, r1 = self.decode2(x2, None, img1, r1)
        hidden = unfold(self.out(fold(x1)), bt)
        return hidden, [r1, r2]
