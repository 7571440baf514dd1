"""Convolutional block attention (channel gate, then spatial gate), used in memory fusion."""
from __future__ import annotations

import torch
from torch import Tensor, nn


class ChannelGate(nn.Module):
    """Scale channels by sigmoid(MLP(avg-pool) + MLP(max-pool))."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = channels // reduction
        self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels))

    def forward(self, x: Tensor) -> Tensor:
        logits = self.mlp(x.mean((2, 3))) + self.mlp(x.amax((2, 3)))
        return x * torch.sigmoid(logits)[:, :, None, None]


class _SpatialConv(nn.Module):
    def __init__(self, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel, padding=(kernel - 1) // 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class SpatialGate(nn.Module):
    """Scale pixels by sigmoid(conv7x7([channel max, channel mean]))."""

    def __init__(self, kernel: int = 7) -> None:
        super().__init__()
        self.spatial = _SpatialConv(kernel)

    def forward(self, x: Tensor) -> Tensor:
        pooled = torch.cat([x.amax(1, keepdim=True), x.mean(1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial(pooled))


class CBAM(nn.Module):
    """Channel gate followed by spatial gate."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.ChannelGate = ChannelGate(channels, reduction)  # noqa: N815 (checkpoint key name)
        self.SpatialGate = SpatialGate()  # noqa: N815 (checkpoint key name)

    def forward(self, x: Tensor) -> Tensor:
        return self.SpatialGate(self.ChannelGate(x))
