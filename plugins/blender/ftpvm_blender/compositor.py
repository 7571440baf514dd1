"""One small adapter over the compositor API of Blender 4.2 LTS .. 5.x.

4.x: ``scene.use_nodes`` + ``scene.node_tree``, output through a Composite node, node options are
properties (``node.mode``). 5.x: the tree is a node group set as ``scene.compositing_node_group``, output
through a Group Output node, node options are menu/boolean input sockets. Callers never branch on the
version: they use the functions here. The static check reads the 5.x API (fake-bpy-module), so the 4.x-only
attributes and the nodes whose options moved are typed ``Any`` here, and nowhere else.
"""
from __future__ import annotations

from typing import Any, Literal, Optional, cast

import bpy

#: True on Blender 5.x, where the compositor tree is a node group.
GROUP_TREES = not hasattr(bpy.types, "CompositorNodeComposite")


def scene_tree(scene: "bpy.types.Scene") -> "bpy.types.NodeTree":
    """The scene's compositor node tree, created when the scene has none."""
    if GROUP_TREES:
        tree = scene.compositing_node_group
        if tree is None:
            tree = new_group_tree(f"{scene.name} Compositing")
            scene.compositing_node_group = tree
        return tree
    legacy: Any = scene  # 4.x: scene.use_nodes / scene.node_tree
    if not legacy.use_nodes:
        fresh = legacy.node_tree is None
        legacy.use_nodes = True
        if fresh:  # Blender's boilerplate: Render Layers -> Composite (4.2), -> Reroute -> Composite + Viewer (4.5)
            legacy.node_tree.nodes.clear()  # it would render the 3D scene; output_socket() adds a Composite
    return legacy.node_tree


def output_socket(tree: "bpy.types.NodeTree") -> "bpy.types.NodeSocket":
    """The socket whose image the render writes (made when the tree has none)."""
    if GROUP_TREES:
        if not any(i.in_out == "OUTPUT" for i in _interface_sockets(tree)):
            _new_socket(tree, "Image", "OUTPUT", "NodeSocketColor")
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


def _interface_sockets(tree: "bpy.types.NodeTree") -> "list[bpy.types.NodeTreeInterfaceSocket]":
    return [cast("bpy.types.NodeTreeInterfaceSocket", i) for i in _interface(tree).items_tree
            if i.item_type == "SOCKET"]


def _interface(tree: "bpy.types.NodeTree") -> "bpy.types.NodeTreeInterface":
    """A node group's socket interface (5.x compositor trees and groups always have one)."""
    interface = tree.interface
    if interface is None:
        raise TypeError(f"node tree {tree.name!r} is not a node group: it has no socket interface")
    return interface


def _new_socket(tree: "bpy.types.NodeTree", name: str, in_out: Literal["INPUT", "OUTPUT"], socket_type: str) -> None:
    # socket_type takes a socket idname ("NodeSocketColor"); the stubs' Literal['DEFAULT'] is too narrow
    _interface(tree).new_socket(name, in_out=in_out, socket_type=cast(Any, socket_type))


def set_alpha_replace(node: Any) -> None:
    """Set Alpha node in 'Replace Alpha' mode."""
    if "Type" in node.inputs:
        node.inputs["Type"].default_value = "Replace Alpha"
    else:
        node.mode = "REPLACE_ALPHA"


def new_mask_node(tree: "bpy.types.NodeTree", mask: "bpy.types.Mask", width: int, height: int,
                  feather: bool = True) -> "bpy.types.Node":
    """A Mask node rasterising ``mask`` at a fixed ``width`` x ``height``."""
    node: Any = tree.nodes.new("CompositorNodeMask")  # options: sockets on 5.x, properties on 4.x
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
    tree = bpy.data.node_groups.new(name, "CompositorNodeTree")
    if tree is None:  # the stubs allow None; bpy raises instead
        raise RuntimeError(f"Blender could not make the node group {name!r}")
    return tree


def add_interface_socket(tree: "bpy.types.NodeTree", name: str, in_out: Literal["INPUT", "OUTPUT"],
                         socket_type: str) -> None:
    """Add a group input/output socket unless one of that name and direction exists."""
    if not any(i.name == name and i.in_out == in_out for i in _interface_sockets(tree)):
        _new_socket(tree, name, in_out, socket_type)


def remove_scene_tree(scene: "bpy.types.Scene") -> None:
    """Free a scene's compositor tree (5.x trees are data-blocks of their own)."""
    if GROUP_TREES and scene.compositing_node_group is not None:
        tree = scene.compositing_node_group
        scene.compositing_node_group = None
        bpy.data.node_groups.remove(tree)
