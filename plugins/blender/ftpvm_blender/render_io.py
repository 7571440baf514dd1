"""Pixels in and out of Blender (main thread only, and never while a client thread runs: see ``runner``).

Frames are read by rendering one compositor node (Movie Clip, Mask, Image) in a hidden scene to a
32-bit EXR and loading it back: this works for every clip source (image sequence or movie) and gives
scene-linear pixels. Results are written as EXR through Image data-blocks.
"""
from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any, Callable, Optional, cast

import bpy
import numpy as np

if TYPE_CHECKING:
    from .plate import Plate

from . import compositor
from .plan import bottom_up, top_down

SCENE_NAME = ".FTPVM io"


def read_image_pixels(image: "bpy.types.Image") -> np.ndarray:
    """(H, W, 4) float32, row 0 at the top, of a loaded image."""
    width, height = cast(Any, image.size)  # an int pair; the stubs' bpy_prop_array is neither iterable nor indexable
    flat = np.empty(width * height * 4, dtype=np.float32)
    image.pixels.foreach_get(flat)
    return top_down(flat, width, height).copy()


def set_data(image: "bpy.types.Image", is_data: bool) -> None:
    """Mark ``image`` as data (no colour transform on read) or colour."""
    settings = image.colorspace_settings
    if settings is None:  # the stubs allow None; every Image has colour-space settings
        raise RuntimeError(f"image {image.name!r} has no colour-space settings")
    settings.is_data = is_data


def read_exr(path: str) -> np.ndarray:
    """(H, W, 4) float32 of an EXR file, through a throw-away Image data-block."""
    image = bpy.data.images.load(path, check_existing=False)
    try:
        set_data(image, True)
        return read_image_pixels(image)
    finally:
        bpy.data.images.remove(image)


def write_exr(path: str, pixels: np.ndarray) -> None:
    """Write (H, W), (H, W, 3) or (H, W, 4) float pixels (top-down) as a 32-bit float EXR."""
    array = np.asarray(pixels, dtype=np.float32)
    height, width = array.shape[:2]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    image = bpy.data.images.new(".ftpvm write", width, height, alpha=True, float_buffer=True, is_data=True)
    try:
        image.pixels.foreach_set(cast(Any, bottom_up(array)))  # numpy's buffer: the fast path bpy documents
        image.filepath_raw = path
        image.file_format = "OPEN_EXR"
        image.use_half_precision = False
        image.save()
    finally:
        bpy.data.images.remove(image)


class NodeRenderer:
    """A hidden scene whose compositor renders one node's output at a given frame."""

    def __init__(self, width: int, height: int, folder: Optional[str] = None):
        self.width, self.height = int(width), int(height)
        self._tmp = tempfile.TemporaryDirectory(prefix="ftpvm-io-", dir=folder)
        self.path = os.path.join(self._tmp.name, "frame.exr")
        self.scene = bpy.data.scenes.new(SCENE_NAME)
        self._closed = False
        r = self.scene.render
        r.resolution_x, r.resolution_y, r.resolution_percentage = self.width, self.height, 100
        r.pixel_aspect_x = r.pixel_aspect_y = 1.0
        r.use_sequencer = False
        r.use_compositing = True
        r.image_settings.file_format = "OPEN_EXR"
        r.image_settings.color_depth = "32"
        r.image_settings.color_mode = "RGBA"
        r.filepath = self.path
        self.tree = compositor.scene_tree(self.scene)
        for node in list(self.tree.nodes):  # 4.x starts with Render Layers (it would need a camera)
            self.tree.nodes.remove(node)
        self.output = compositor.output_socket(self.tree)

    def render(self, make_node: Callable[["bpy.types.NodeTree"], "bpy.types.Node"], frame: int,
               output: int | str = 0) -> np.ndarray:
        """(H, W, 4) scene-linear pixels of the node ``make_node(tree)`` builds, at scene frame ``frame``."""
        node = make_node(self.tree)
        try:
            self.tree.links.new(node.outputs[output], self.output)
            self.scene.frame_current = int(frame)
            if os.path.exists(self.path):
                os.remove(self.path)
            # Inside an override (``render.render(scene=...)`` would take the frame from the context's scene).
            # Blender then answers context lookups from the override's Python dict during the render, with the
            # GIL released and without taking it when another thread holds it: no other Python thread may run
            # meanwhile (``runner`` renders only while no client thread is alive).
            with bpy.context.temp_override(scene=self.scene):
                bpy.ops.render.render(write_still=True)
            if not os.path.exists(self.path):
                raise RuntimeError(f"Blender did not render frame {frame}")
            return read_exr(self.path)
        finally:
            self.tree.nodes.remove(node)

    def plate_frame(self, plate: "Plate", frame: int) -> np.ndarray:
        """The (H, W, 3) plate at scene frame ``frame``, scene-linear (the compositor reads every kind so)."""
        return self.render(plate.make_node, frame)[:, :, :3]

    def mask_matte(self, mask: "bpy.types.Mask", frame: int) -> np.ndarray:
        """The Mask rasterised at the clip's size at scene frame ``frame``: (H, W) in [0, 1]."""
        return self.render(lambda tree: compositor.new_mask_node(tree, mask, self.width, self.height), frame)[:, :, 0]

    def image_frame(self, image: "bpy.types.Image", frame: int) -> np.ndarray:
        """An Image (still or sequence) at scene frame ``frame``: (H, W, 4)."""
        def make(tree):
            node = tree.nodes.new("CompositorNodeImage")
            node.image = image
            if image.source in ("SEQUENCE", "MOVIE"):
                node.frame_duration = max(1, image.frame_duration)
            return node
        return self.render(make, frame)

    def close(self) -> None:
        """Remove the hidden scene and its temporary files."""
        if not self._closed:
            self._closed = True
            compositor.remove_scene_tree(self.scene)
            bpy.data.scenes.remove(self.scene)
        self._tmp.cleanup()

    def __enter__(self) -> "NodeRenderer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_sequence(name: str, first_path: str) -> "bpy.types.Image":
    """An Image data-block for the EXR sequence starting at ``first_path``, reused and reloaded if it exists."""
    image: Optional["bpy.types.Image"] = bpy.data.images.get(name)
    if image is None or bpy.path.abspath(image.filepath) != os.path.abspath(first_path):
        if image is not None:
            image.filepath = first_path
        else:
            image = bpy.data.images.load(first_path, check_existing=False)
            image.name = name
    image.source = "SEQUENCE"
    set_data(image, "alpha" in name.lower())
    image.reload()
    return image
