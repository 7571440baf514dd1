"""Keyframe guides from Blender data: a Mask rasterised by the compositor's Mask node, or a trimap image.

Both go to the server as they are (the Mask as the outer roto matte); the engine builds and checks the trimap.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

import bpy

from .job import KeyframeInput
from .plan import PlanError, check_mask_raster
from .render_io import NodeRenderer

if TYPE_CHECKING:
    from .plate import Plate


def mask_problem(mask: "bpy.types.Mask") -> Optional[str]:
    """Why ``mask`` cannot give a matte (no visible layer, no closed shape), or None."""
    layers = [layer for layer in mask.layers if not layer.hide_render]
    if not layers:
        return f"mask {mask.name!r} has no visible layer"
    if not any(len(spline.points) >= 3 for layer in layers for spline in layer.splines):
        return f"mask {mask.name!r} has no closed shape (a spline needs at least 3 points)"
    return None


def keyframe_inputs(renderer: NodeRenderer, plate: "Plate", frames: List[int], source: str,
                    mask: Optional["bpy.types.Mask"] = None,
                    trimap_image: Optional["bpy.types.Image"] = None) -> List[KeyframeInput]:
    """Plate + guide of every keyframe, rendered at the plate's size; PlanError with the fix on bad input."""
    if source == "MASK":
        if mask is None:
            raise PlanError("pick a Mask (draw it in the Movie Clip editor's Mask mode) or switch the trimap source")
        problem = mask_problem(mask)
        if problem:
            raise PlanError(problem)
    elif trimap_image is None:
        raise PlanError("pick the trimap image (white = foreground, grey = unknown, black = background)")
    out = []
    for frame in frames:
        pixels = renderer.plate_frame(plate, frame)
        if mask is not None and source == "MASK":
            matte = check_mask_raster(renderer.mask_matte(mask, frame), mask.name, frame)
            out.append(KeyframeInput(frame, pixels, outer=matte))
        elif trimap_image is not None:
            out.append(KeyframeInput(frame, pixels, trimap=renderer.image_frame(trimap_image, frame)[:, :, 0]))
    return out
