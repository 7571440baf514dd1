"""The FTP-VM panel, in the Movie Clip editor's and the Compositor's sidebars."""
from __future__ import annotations

import bpy

from . import properties
from .operators import offline_reason
from .plan import SETTING_PROPS


class FTPVM_UL_keyframes(bpy.types.UIList):
    """The keyframe list."""

    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index=0, flt_flag=0):
        layout.label(text=f"Frame {item.frame}", icon="KEYFRAME")


def draw_panel(layout: "bpy.types.UILayout", context: "bpy.types.Context") -> None:
    """Draw the settings of ``context.scene.ftpvm`` (shared by both panels)."""
    scene = context.scene
    if scene is None:  # a context without a scene (no window): nothing to show
        return
    props = properties.settings(scene)
    col = layout.column()
    row = col.row(align=True)
    row.prop(props, "server")
    row.operator("ftpvm.check_connection", text="", icon="URL")
    col.label(text=props.status, icon="CHECKMARK" if props.status.startswith("ftpvm-server") else "INFO")

    box = layout.box()
    box.prop(props, "plate_source")
    if props.plate_source == "CLIP":
        box.prop(props, "clip")
    elif props.plate_source == "IMAGE":
        box.prop(props, "plate_image")
    box.prop(props, "shot_id", text="Shot")
    if not props.shot_id and properties.plate_name(scene):
        box.label(text=f"Shot id: {properties.shot_id(scene)}")
    box.prop(props, "colorspace", text="Colour space")
    clip = properties.current_clip(scene) if props.plate_source == "CLIP" else None
    if clip is not None:
        space = clip.colorspace_settings
        box.label(text=f"Sent as {properties.input_colorspace(scene)} (clip: {space.name if space else 'unknown'})")

    box = layout.box()
    box.prop(props, "trimap_source")
    if props.trimap_source == "MASK":
        box.prop(props, "mask")
        box.prop(props, "band")
    else:
        box.prop(props, "trimap_image")
    row = box.row()
    row.template_list("FTPVM_UL_keyframes", "", props, "keyframes", props, "keyframe_index", rows=3)
    ops = row.column(align=True)
    ops.operator("ftpvm.keyframe_add", text="", icon="ADD")
    ops.operator("ftpvm.keyframe_remove", text="", icon="REMOVE")

    box = layout.box()
    box.prop(props, "quality")
    for name in SETTING_PROPS:
        box.prop(props, name)
    box.prop(props, "output_foreground")
    box.prop(props, "output_dir")
    box.prop(props, "use_scene_range")
    offline = offline_reason(context)
    layout.operator("ftpvm.process_shot", icon="NODE_COMPOSITING")
    if offline:
        layout.label(text=offline, icon="ERROR")
    if props.last_message:
        layout.label(text=props.last_message)


class FTPVM_PT_clip(bpy.types.Panel):
    """FTP-VM in the Movie Clip editor."""

    bl_label = "FTP-VM Matte"
    bl_space_type = "CLIP_EDITOR"
    bl_region_type = "UI"
    bl_category = "FTP-VM"

    def draw(self, context):
        if self.layout is not None:  # the stubs allow None; Blender gives a layout to every draw
            draw_panel(self.layout, context)


class FTPVM_PT_compositor(bpy.types.Panel):
    """FTP-VM in the Compositor."""

    bl_label = "FTP-VM Matte"
    bl_space_type = "NODE_EDITOR"
    bl_region_type = "UI"
    bl_category = "FTP-VM"

    @classmethod
    def poll(cls, context):
        return getattr(context.space_data, "tree_type", "") == "CompositorNodeTree"

    def draw(self, context):
        if self.layout is not None:  # the stubs allow None; Blender gives a layout to every draw
            draw_panel(self.layout, context)


CLASSES = (FTPVM_UL_keyframes, FTPVM_PT_clip, FTPVM_PT_compositor)


register, unregister = bpy.utils.register_classes_factory(CLASSES)
