"""One small adapter over the compositor API of Blender 4.2 LTS .. 5.x.

4.x: ``scene.use_nodes`` + ``scene.node_tree``, output through a Composite node, node options are
properties (``node.mode``). 5.x: the tree is a node group set as ``scene.compositing_node_group``, output
through a Group Output node, node options are menu/boolean input sockets. Callers never branch on the
version: they use the functions here.
"""
from __future__ import annotations

from typing import Optional

import bpy

#: True on Blender 5.x, where the compositor tree is a node group.
GROUP_TREES = not hasattr(bpy.types, "CompositorNodeComposite")


def scene_tree(scene: "bpy.types.Scene", create: bool = True) -> Optional["bpy.types.NodeTree"]:
    """The scene's compositor node tree (created when ``create`` and missing)."""
    if GROUP_TREES:
        tree = scene.compositing_node_group
        if tree is None and create:
            tree = bpy.data.node_groups.new(f"{scene.name} Compositing", "CompositorNodeTree")
            scene.compositing_node_group = tree
        return tree
    if not scene.use_nodes and create:
        fresh = scene.node_tree is None
        scene.use_nodes = True
        if fresh:  # Blender's boilerplate: Render Layers -> Composite (4.2), -> Reroute -> Composite + Viewer (4.5)
            scene.node_tree.nodes.clear()  # it would render the 3D scene; output_socket() adds a Composite
    return scene.node_tree


def output_socket(tree: "bpy.types.NodeTree") -> "bpy.types.NodeSocket":
    """The socket whose image the render writes (made when the tree has none)."""
    if GROUP_TREES:
        if not any(i.in_out == "OUTPUT" for i in tree.interface.items_tree if i.item_type == "SOCKET"):
            tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        node = next((n for n in tree.nodes if n.bl_idname == "NodeGroupOutput"), None)
        if node is None:
            node = tree.nodes.new("NodeGroupOutput")
            node.location = (600, 0)
        return node.inputs[0]
    node = next((n for n in tree.nodes if n.bl_idname == "CompositorNodeComposite"), None)
    if node is None:
        node = tree.nodes.new("CompositorNodeComposite")
        node.location = (600, 0)
    return node.inputs["Image"]


def set_alpha_replace(node: "bpy.types.Node") -> None:
    """Set Alpha node in 'Replace Alpha' mode."""
    if "Type" in node.inputs:
        node.inputs["Type"].default_value = "Replace Alpha"
    else:
        node.mode = "REPLACE_ALPHA"


def new_mask_node(tree: "bpy.types.NodeTree", mask: "bpy.types.Mask", width: int, height: int,
                  feather: bool = True) -> "bpy.types.Node":
    """A Mask node rasterising ``mask`` at a fixed ``width`` x ``height``."""
    node = tree.nodes.new("CompositorNodeMask")
    node.mask = mask
    if "Size Source" in node.inputs:
        node.inputs["Size Source"].default_value = "Fixed"
        node.inputs["Size X"].default_value = width
        node.inputs["Size Y"].default_value = height
        node.inputs["Feather"].default_value = feather
    else:
        node.size_source = "FIXED"
        node.size_x, node.size_y = width, height
        node.use_feather = feather
    return node


def new_group_tree(name: str) -> "bpy.types.NodeTree":
    """An empty compositor node group (for ``FTPVM Matte``)."""
    return bpy.data.node_groups.new(name, "CompositorNodeTree")


def add_interface_socket(tree: "bpy.types.NodeTree", name: str, in_out: str, socket_type: str) -> None:
    """Add a group input/output socket unless one of that name and direction exists."""
    for item in tree.interface.items_tree:
        if item.item_type == "SOCKET" and item.name == name and item.in_out == in_out:
            return
    tree.interface.new_socket(name, in_out=in_out, socket_type=socket_type)


def remove_scene_tree(scene: "bpy.types.Scene") -> None:
    """Free a scene's compositor tree (5.x trees are data-blocks of their own)."""
    if GROUP_TREES and scene.compositing_node_group is not None:
        tree = scene.compositing_node_group
        scene.compositing_node_group = None
        bpy.data.node_groups.remove(tree)
