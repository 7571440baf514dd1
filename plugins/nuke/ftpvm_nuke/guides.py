"""Keyframe guides from the Roto input's channels, sent as they are: the engine builds the trimap.

The node renders its Roto input (all of rgba) to an EXR; this module picks the channels the trimap mode
names and says which wire guide each one is (``outer``, ``inner`` or ``trimap``). The rules that turn them
into a trimap (band, how inner and outer combine, snapping) are the shot's settings on the server.
"""
from __future__ import annotations

from typing import Dict

import numpy as np

from .plan import PlanError

#: Nuke channel short names -> the EXR channel names the Write node produces.
EXR_NAME = {"red": "R", "green": "G", "blue": "B", "alpha": "A"}


def _plane(planes: Dict[str, np.ndarray], channel: str, frame: int) -> np.ndarray:
    name = EXR_NAME.get(channel, channel)
    if name not in planes:
        raise PlanError(f"The Roto input has no {channel} channel at frame {frame}: "
                        f"pick another channel on the Keyframes tab or fix the roto.")
    return planes[name].astype(np.float32)


def guide(mode: str, planes: Dict[str, np.ndarray], frame: int, roto_channel: str = "alpha",
          inner_channel: str = "red", outer_channel: str = "alpha") -> Dict[str, np.ndarray]:
    """The wire guides of a keyframe: ``{"outer": ...}``, ``{"outer": ..., "inner": ...}`` or ``{"trimap": ...}``.

    - 'roto': the roto channel is the outer matte; the server draws the unknown band around its edge.
    - 'inner_outer': the inner channel is the solid core, the outer channel the subject with its soft edges.
    - 'trimap': the roto channel already holds 0 / 0.5 / 1.
    """
    if mode == "roto":
        return {"outer": _plane(planes, roto_channel, frame)}
    if mode == "inner_outer":
        return {"outer": _plane(planes, outer_channel, frame), "inner": _plane(planes, inner_channel, frame)}
    if mode == "trimap":
        return {"trimap": _plane(planes, roto_channel, frame)}
    raise PlanError(f"Unknown trimap mode {mode!r}.")
