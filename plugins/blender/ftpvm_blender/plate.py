"""The plate a Process run mattes: a Movie Clip, an Image (still, sequence or movie), or the scene's own render.

Each kind gives its size, its scene frames and the compositor node that reads it; the renderer, the runner and the
wiring use only these, so they treat every kind alike.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import bpy

from . import properties
from .plan import PlanError, image_sequence_range

#: Compositor node type reading each kind of plate.
NODE_TYPES = {"CLIP": "CompositorNodeMovieClip", "IMAGE": "CompositorNodeImage", "RENDER": "CompositorNodeRLayers"}


@dataclass
class Plate:
    """What is matted: ``source`` is the Movie Clip, the Image, or the Scene whose render is the plate."""

    kind: str
    source: Any
    name: str
    width: int
    height: int
    start: int       # scene frame of the plate's first frame
    duration: int    # frames

    def make_node(self, tree: "bpy.types.NodeTree") -> Any:
        """A new node of ``tree`` that reads the plate at the scene frame."""
        node: Any = tree.nodes.new(NODE_TYPES[self.kind])
        if self.kind == "CLIP":
            node.clip = self.source
        elif self.kind == "RENDER":
            node.scene = self.source
        else:
            node.image = self.source
            if self.source.source in ("SEQUENCE", "MOVIE"):
                node.frame_start = self.start
                node.frame_duration = self.duration
                # a sequence's file numbers are scene frames (scene frame f shows file f); a movie starts at start
                node.frame_offset = self.start - 1 if self.source.source == "SEQUENCE" else 0
        return node

    def reads(self, node: Any) -> bool:
        """Whether ``node`` is a node reading this plate."""
        if node.bl_idname != NODE_TYPES[self.kind]:
            return False
        return {"CLIP": lambda: node.clip, "IMAGE": lambda: node.image, "RENDER": lambda: node.scene}[self.kind]() \
            == self.source


def _size(data: Any) -> "tuple[int, int]":
    """An Image's or Movie Clip's (width, height) (the stubs' bpy_prop_array hides that it is an int pair)."""
    return int(data.size[0]), int(data.size[1])


def _image_size(image: "bpy.types.Image") -> "tuple[int, int]":
    """An Image's size; a sequence or movie has none until a frame is shown, so its file is probed."""
    if image.source == "FILE" or _size(image) != (0, 0):
        return _size(image)
    path = bpy.path.abspath(image.filepath)
    if image.source == "MOVIE":
        clip = bpy.data.movieclips.load(path, check_existing=False)
        try:
            return _size(clip)
        finally:
            bpy.data.movieclips.remove(clip)
    probe = bpy.data.images.load(path, check_existing=False)
    try:
        return _size(probe)
    finally:
        bpy.data.images.remove(probe)


def current_plate(scene: "bpy.types.Scene") -> Plate:
    """The plate the panel names (PlanError saying what to pick when there is none)."""
    props = properties.settings(scene)
    kind = props.plate_source
    if kind == "RENDER":
        r = scene.render
        return Plate("RENDER", scene, scene.name, int(r.resolution_x * r.resolution_percentage / 100),
                     int(r.resolution_y * r.resolution_percentage / 100), scene.frame_start,
                     scene.frame_end - scene.frame_start + 1)
    if kind == "IMAGE":
        image: Optional["bpy.types.Image"] = props.plate_image
        if image is None:
            raise PlanError("pick the plate image (a still, an image sequence or a movie) in the FTP-VM panel")
        try:
            width, height = _image_size(image)
        except RuntimeError:
            width = height = 0
        if width == 0 or height == 0:
            raise PlanError(f"the plate image {image.name!r} cannot be read; check its file path")
        if image.source == "SEQUENCE":
            found = image_sequence_range(bpy.path.abspath(image.filepath))
            if found is None:
                raise PlanError(f"the plate image {image.name!r} is a sequence without a frame number in its name")
            return Plate("IMAGE", image, image.name, width, height, found[0], found[1])
        if image.source == "MOVIE":
            return Plate("IMAGE", image, image.name, width, height, scene.frame_start, max(1, image.frame_duration))
        return Plate("IMAGE", image, image.name, width, height, scene.frame_start,
                     scene.frame_end - scene.frame_start + 1)  # a still: the scene's range
    clip = properties.current_clip(scene)
    if clip is None:
        raise PlanError("pick a movie clip (the plate) in the FTP-VM panel")
    width, height = _size(clip)
    return Plate("CLIP", clip, clip.name, width, height, clip.frame_start, clip.frame_duration)
