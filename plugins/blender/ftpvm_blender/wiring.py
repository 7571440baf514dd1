"""The ``FTPVM Matte`` node group and its place in the scene's compositor tree."""
from __future__ import annotations

from typing import Any, Optional, cast

import bpy

from . import compositor
from .plan import GROUP_NAME, Job, sequence_offset
from .plate import Plate
from .render_io import load_sequence


def group_name(shot_id: str) -> str:
    """The node group of one shot: ``FTPVM Matte [shot]``."""
    return f"{GROUP_NAME} [{shot_id}]"


def _image_node(tree, image, job: Job, x: float, y: float):
    node = tree.nodes.new("CompositorNodeImage")
    node.image = image
    node.frame_start = job.frames[0]
    node.frame_offset = sequence_offset(job.frames[0])
    node.frame_duration = len(job.frames)
    node.location = (x, y)
    return node


def build_group(job: Job) -> "bpy.types.NodeTree":
    """(Re)build the group: Plate in; Image (plate with the alpha), Alpha, Foreground out."""
    name = group_name(job.shot_id)
    tree = bpy.data.node_groups.get(name) or compositor.new_group_tree(name)
    tree.nodes.clear()
    compositor.add_interface_socket(tree, "Plate", "INPUT", "NodeSocketColor")
    for out_name, kind in (("Image", "NodeSocketColor"), ("Alpha", "NodeSocketFloat"),
                           ("Foreground", "NodeSocketColor")):
        compositor.add_interface_socket(tree, out_name, "OUTPUT", kind)
    group_in = tree.nodes.new("NodeGroupInput")
    group_in.location = (-600, 200)
    group_out = tree.nodes.new("NodeGroupOutput")
    group_out.location = (500, 0)

    alpha_image = load_sequence(f"{job.shot_id}_alpha", job.first_path("alpha"))
    alpha_node = _image_node(tree, alpha_image, job, -600, -100)
    split = tree.nodes.new("CompositorNodeSeparateColor")
    split.location = (-300, -100)
    tree.links.new(alpha_node.outputs["Image"], split.inputs["Image"])
    alpha = split.outputs["Red"]

    cut = tree.nodes.new("CompositorNodeSetAlpha")
    cut.location = (100, 200)
    compositor.set_alpha_replace(cut)
    tree.links.new(group_in.outputs["Plate"], cut.inputs["Image"])
    tree.links.new(alpha, cut.inputs["Alpha"])
    tree.links.new(cut.outputs["Image"], group_out.inputs["Image"])
    tree.links.new(alpha, group_out.inputs["Alpha"])

    if "foreground" in job.passes:
        fg_image = load_sequence(f"{job.shot_id}_foreground", job.first_path("foreground"))
        fg_node = _image_node(tree, fg_image, job, -600, -400)
        fg_cut = tree.nodes.new("CompositorNodeSetAlpha")
        fg_cut.location = (100, -300)
        compositor.set_alpha_replace(fg_cut)
        tree.links.new(fg_node.outputs["Image"], fg_cut.inputs["Image"])
        tree.links.new(alpha, fg_cut.inputs["Alpha"])
        tree.links.new(fg_cut.outputs["Image"], group_out.inputs["Foreground"])
    return tree


def _plate_node(tree: "bpy.types.NodeTree", plate: Plate) -> Any:
    """The tree's node reading the plate (a Movie Clip, Image or Render Layers node), made when there is none."""
    node = next((n for n in tree.nodes if plate.reads(n)), None)
    if node is None:
        node = plate.make_node(tree)
        node.location = (-400, 0)
    return node


def insert_group(scene: "bpy.types.Scene", plate_in: Plate, job: Job) -> "bpy.types.Node":
    """Put the shot's group node in the scene's compositor, fed by the plate's node (whatever its kind) and, where
    the output showed that node or nothing, showing the group instead; reused when it is there."""
    group = build_group(job)
    tree = compositor.scene_tree(scene)
    node: Optional["bpy.types.CompositorNodeGroup"] = next(
        (n for n in tree.nodes if isinstance(n, bpy.types.CompositorNodeGroup) and n.node_tree == group), None)
    plate = _plate_node(tree, plate_in)
    output = compositor.output_socket(tree)
    if node is None:
        node = cast("bpy.types.CompositorNodeGroup", tree.nodes.new("CompositorNodeGroup"))
        node.node_tree = cast("bpy.types.CompositorNodeTree", group)
        node.label = GROUP_NAME
        node.location = (plate.location.x + 300, plate.location.y)
        feeding = next((link.from_node for link in tree.links if link.to_socket == output), None)
        if feeding is None or feeding == plate:  # insert between the plate and the output
            tree.links.new(node.outputs["Image"], output)
    if not node.inputs["Plate"].is_linked:
        tree.links.new(plate.outputs["Image"], node.inputs["Plate"])
    return node
