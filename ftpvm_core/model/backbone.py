"""MobileNetV3-Large feature encoder, written for FTP-VM.

Parameter names follow the official FTP-VM checkpoint (``backbone.backbone.conv_stem``,
``backbone.backbone.blocks.<stage>.<block>.<layer>``), so the checkpoint loads strictly without
any third-party model zoo. Only the first four feature levels (strides 2, 4, 8, 16 with
16, 24, 40 and 112 channels) are used by FTP-VM; the last two stages exist so that the state
dict is complete, and are skipped at run time.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn


def _divisible(value: float, divisor: int = 8) -> int:
    """Round ``value`` to a multiple of ``divisor`` without going more than 10% below it."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


class SqueezeExcite(nn.Module):
    """Channel attention: global mean -> reduce -> ReLU -> expand -> hard sigmoid gate."""

    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.conv_reduce = nn.Conv2d(channels, reduced, 1)
        self.conv_expand = nn.Conv2d(reduced, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        gate = self.conv_expand(torch.relu(self.conv_reduce(x.mean((2, 3), keepdim=True))))
        return x * nn.functional.hardsigmoid(gate)


class DepthwiseSeparable(nn.Module):
    """Depthwise conv -> BN -> act -> pointwise conv -> BN, with identity shortcut."""

    def __init__(self, channels: int, kernel: int, act: Callable[[], nn.Module]) -> None:
        super().__init__()
        self.conv_dw = nn.Conv2d(channels, channels, kernel, 1, kernel // 2, groups=channels, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.act1 = act()
        self.conv_pw = nn.Conv2d(channels, channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: Tensor) -> Tensor:
        y = self.act1(self.bn1(self.conv_dw(x)))
        return x + self.bn2(self.conv_pw(y))


class InvertedResidual(nn.Module):
    """MobileNetV3 block: expand 1x1 -> depthwise kxk -> (squeeze-excite) -> project 1x1."""

    def __init__(self, c_in: int, c_mid: int, c_out: int, kernel: int, stride: int,
                 se: bool, act: Callable[[], nn.Module]) -> None:
        super().__init__()
        self.conv_pw = nn.Conv2d(c_in, c_mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_mid)
        self.act1 = act()
        self.conv_dw = nn.Conv2d(c_mid, c_mid, kernel, stride, kernel // 2, groups=c_mid, bias=False)
        self.bn2 = nn.BatchNorm2d(c_mid)
        self.act2 = act()
        self.se = SqueezeExcite(c_mid, _divisible(c_mid * 0.25)) if se else nn.Identity()
        self.conv_pwl = nn.Conv2d(c_mid, c_out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: Tensor) -> Tensor:
        y = self.act1(self.bn1(self.conv_pw(x)))
        y = self.act2(self.bn2(self.conv_dw(y)))
        y = self.bn3(self.conv_pwl(self.se(y)))
        return x + y if self.residual else y


class ConvBnAct(nn.Module):
    """1x1 conv -> BN -> act (the last MobileNetV3 stage)."""

    def __init__(self, c_in: int, c_out: int, act: Callable[[], nn.Module]) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.act1 = act()

    def forward(self, x: Tensor) -> Tensor:
        return self.act1(self.bn1(self.conv(x)))


@dataclass(frozen=True)
class _Block:
    c_mid: int
    c_out: int
    kernel: int
    stride: int
    se: bool
    hard_swish: bool


# MobileNetV3-Large (width 1.0): one list per stage; (expanded channels, out channels, kernel,
# stride, squeeze-excite, hard-swish activation).
_LARGE_STAGES: tuple[tuple[_Block, ...], ...] = (
    (_Block(16, 16, 3, 1, False, False),),  # depthwise-separable
    (_Block(64, 24, 3, 2, False, False), _Block(72, 24, 3, 1, False, False)),
    (_Block(72, 40, 5, 2, True, False), _Block(120, 40, 5, 1, True, False), _Block(120, 40, 5, 1, True, False)),
    (_Block(240, 80, 3, 2, False, True), _Block(200, 80, 3, 1, False, True),
     _Block(184, 80, 3, 1, False, True), _Block(184, 80, 3, 1, False, True)),
    (_Block(480, 112, 3, 1, True, True), _Block(672, 112, 3, 1, True, True)),
    (_Block(672, 160, 5, 2, True, True), _Block(960, 160, 5, 1, True, True), _Block(960, 160, 5, 1, True, True)),
    (_Block(960, 960, 1, 1, False, True),),  # 1x1 conv head of the feature extractor
)
# Stage index after which each returned feature level is taken (strides 2, 4, 8, 16).
_FEATURE_STAGES = (0, 1, 2, 4)


class MobileNetV3LargeEncoder(nn.Module):
    """MobileNetV3-Large returning features at strides 2, 4, 8 and 16."""

    channels: tuple[int, ...] = (16, 24, 40, 112)

    def __init__(self) -> None:
        super().__init__()
        self.conv_stem = nn.Conv2d(3, 16, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.act1 = nn.Hardswish()
        stages = []
        c_in = 16
        for index, spec in enumerate(_LARGE_STAGES):
            blocks = []
            for b in spec:
                act = nn.Hardswish if b.hard_swish else nn.ReLU
                if index == 0:
                    blocks.append(DepthwiseSeparable(c_in, b.kernel, act))
                elif index == len(_LARGE_STAGES) - 1:
                    blocks.append(ConvBnAct(c_in, b.c_out, act))
                else:
                    blocks.append(InvertedResidual(c_in, b.c_mid, b.c_out, b.kernel, b.stride, b.se, act))
                c_in = b.c_out
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.act1(self.bn1(self.conv_stem(x)))
        features = []
        for index in range(_FEATURE_STAGES[-1] + 1):
            x = self.blocks[index](x)
            if index in _FEATURE_STAGES:
                features.append(x)
        return features


class Backbone(nn.Module):
    """Encoder wrapper that accepts single frames (n,c,h,w) or clips (b,t,c,h,w)."""

    def __init__(self, arch: str = "mobilenetv3_large_100", pretrained: bool | str | Path = False) -> None:
        super().__init__()
        if arch != "mobilenetv3_large_100":
            raise ValueError(f"unsupported backbone {arch!r}: only 'mobilenetv3_large_100' is available")
        self.backbone = MobileNetV3LargeEncoder()
        self.channels = list(self.backbone.channels)
        if isinstance(pretrained, (str, Path)):
            self.load_imagenet_weights(pretrained)

    def load_imagenet_weights(self, path: str | Path) -> None:
        """Load ImageNet MobileNetV3-Large weights from a local file (never downloads).

        Accepts a plain state dict in the common ``conv_stem``/``bn1``/``blocks.*`` naming; the
        classifier head (``conv_head``, ``classifier``) is ignored.
        """
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        own = self.backbone.state_dict()
        picked = {k: v for k, v in state.items() if k in own}
        missing = sorted(set(own) - set(picked))
        if missing:
            raise ValueError(f"{path}: not a MobileNetV3-Large state dict; missing e.g. {missing[:3]}")
        self.backbone.load_state_dict(picked, strict=True)

    def forward(self, x: Tensor) -> list[Tensor]:
        if x.ndim == 5:
            b, t = x.shape[:2]
            return [f.unflatten(0, (b, t)) for f in self.backbone(x.flatten(0, 1))]
        return self.backbone(x)
