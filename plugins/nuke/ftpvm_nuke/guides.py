"""Keyframe guides from the Roto input's channels: a roto mask, an inner/outer pair, or a ready trimap.

The node renders its Roto input (all of rgba) to an EXR; this module picks the channels the trimap
mode needs and says how the client should send them (``mask`` + band, or ``trimap``).
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from .plan import PlanError

#: Nuke channel short names -> the EXR channel names the Write node produces.
EXR_NAME = {"red": "R", "green": "G", "blue": "B", "alpha": "A"}


def _plane(planes: Dict[str, np.ndarray], channel: str, frame: int) -> np.ndarray:
    name = EXR_NAME.get(channel, channel)
    if name not in planes:
        raise PlanError(f"The Roto input has no {channel} channel at frame {frame}: "
                        f"pick another channel on the Keyframes tab or fix the roto.")
    return np.nan_to_num(planes[name].astype(np.float32), nan=0.0)


def guide(mode: str, planes: Dict[str, np.ndarray], frame: int, roto_channel: str = "alpha",
          inner_channel: str = "red", outer_channel: str = "alpha") -> Tuple[str, np.ndarray]:
    """('mask' | 'trimap', (H, W) float32) for the client's set_keyframe.

    - 'roto': the roto channel is a matte; the server draws the unknown band around its edge.
    - 'inner_outer': inside the inner matte is foreground, inside the outer only is unknown.
    - 'trimap': the roto channel already holds 0 / 0.5 / 1.
    An empty guide (no foreground at all) is refused: the keyframe would teach the model nothing.
    """
    if mode == "roto":
        mask = np.clip(_plane(planes, roto_channel, frame), 0.0, 1.0)
        if mask.max() <= 0.0:
            raise PlanError(f"The roto is empty at frame {frame}: draw the shape on this frame "
                            f"(or go to a frame where it is) and set the keyframe again.")
        return "mask", mask
    if mode == "inner_outer":
        inner = _plane(planes, inner_channel, frame) >= 0.5
        outer = (_plane(planes, outer_channel, frame) >= 0.5) | inner
        tri = np.where(inner, 1.0, np.where(outer, 0.5, 0.0)).astype(np.float32)
        if not inner.any():
            raise PlanError(f"The inner matte ({inner_channel}) is empty at frame {frame}: "
                            f"nothing would be foreground. Fix the roto and set the keyframe again.")
        return "trimap", tri
    if mode == "trimap":
        tri = _plane(planes, roto_channel, frame)
        if tri.max() < 0.9:
            raise PlanError(f"The trimap in {roto_channel} has no foreground (1.0) at frame {frame}: "
                            f"use 0 = background, 0.5 = unknown, 1 = foreground.")
        return "trimap", tri
    raise PlanError(f"Unknown trimap mode {mode!r}.")
