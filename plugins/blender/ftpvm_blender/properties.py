"""The FTP-VM settings stored with the scene (``scene.ftpvm``) and the values derived from them."""
from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Optional, cast

import bpy
from bpy.props import (BoolProperty, CollectionProperty, EnumProperty, IntProperty, PointerProperty,
                       StringProperty)

from ftpvm_wire.schema import snapshot

if TYPE_CHECKING:
    from bpy.props import _PropertyDeferred  # what bpy.props functions return (Blender 2.93+)

from . import colour
from .plan import shot_id_from_name

#: The shipped settings schema: defaults, choices and ranges of the shot settings the panel shows. What the
#: artist leaves untouched is not sent, so the server's advertised defaults apply (see ``plan.SETTING_PROPS``).
SCHEMA = snapshot()


def _choice(name: str, label: str) -> "_PropertyDeferred":
    field = SCHEMA.field(name)
    return EnumProperty(name=label, default=field.default, description=field.help,
                        items=[(c, c.replace("_", " ").capitalize(), "") for c in field.choices])


def _count(name: str, label: str) -> "_PropertyDeferred":
    field = SCHEMA.field(name)
    return IntProperty(name=label, default=field.default, min=int(field.minimum), max=int(field.maximum),
                       description=field.help)

DEFAULT_SERVER = "127.0.0.1:50051"


@lru_cache(maxsize=4)
def _parse_config(path: str) -> dict:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return colour.parse_config(f.read())
    except OSError:
        return {"roles": {}, "aliases": {}}


def ocio_config() -> dict:
    """Roles and aliases of the OCIO config Blender uses ($OCIO, else its bundled one)."""
    resource = cast(Any, bpy.utils).system_resource  # in bpy.utils since 2.8x; fake-bpy-module lacks it
    path = os.environ.get("OCIO") or resource("DATAFILES", path="colormanagement/config.ocio")
    return _parse_config(path or "")


def settings(scene: "bpy.types.Scene") -> "FTPVMSettings":
    """The add-on's settings of ``scene`` (``scene.ftpvm``, registered below)."""
    return scene.ftpvm  # type: ignore[attr-defined]  # added at register time


def current_clip(scene: "bpy.types.Scene") -> Optional["bpy.types.MovieClip"]:
    """The clip to process: the panel's choice, else the scene's active clip."""
    return settings(scene).clip or scene.active_clip


def plate_name(scene: "bpy.types.Scene") -> str:
    """The name of the plate the panel names ("" when none is picked)."""
    props = settings(scene)
    if props.plate_source == "RENDER":
        return scene.name
    if props.plate_source == "IMAGE":
        return props.plate_image.name if props.plate_image else ""
    clip = current_clip(scene)
    return clip.name if clip else ""


def shot_id(scene: "bpy.types.Scene") -> str:
    """The shot id typed in the panel, else one made from the plate's name."""
    name = plate_name(scene)
    return settings(scene).shot_id.strip() or (shot_id_from_name(name) if name else "")


def input_colorspace(scene: "bpy.types.Scene") -> str:
    """The colour space frames are sent in: the panel's choice, else Blender's scene-linear space."""
    return settings(scene).colorspace.strip() or colour.scene_linear(ocio_config())


def _clip_changed(props: "FTPVMSettings", context: "bpy.types.Context") -> None:
    if props.clip is not None:
        props.shot_id = shot_id_from_name(props.clip.name)


# NOTE: ``name: StringProperty(...)`` is how Blender declares properties (bpy reads the class annotations and
# registers each as a property); the annotation is a call, not a type, so a type checker rejects it as
# ``valid-type`` and no stub can describe it (fake-bpy-module issue #164). Each such line carries a narrow ignore;
# the values read back (``props.server``) are typed Any.
class FTPVMKeyframe(bpy.types.PropertyGroup):
    """A frame where the mask or trimap guides the matte."""

    frame: IntProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Frame", description="Scene frame of the keyframe")


class FTPVMSettings(bpy.types.PropertyGroup):
    """Everything the FTP-VM panel shows."""

    server: StringProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Server", default=DEFAULT_SERVER, description="Address (host:port) of the ftpvm-server")
    status: StringProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Status", default="not checked", options={"SKIP_SAVE"},
        description="Result of the last connection check")
    last_message: StringProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Last run", default="", options={"SKIP_SAVE"}, description="What the last Process run reported")
    plate_source: EnumProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Plate", default="CLIP", items=(
            ("CLIP", "Movie Clip", "A Movie Clip (default: the scene's active clip)"),
            ("IMAGE", "Image", "An Image: a still, an image sequence (file numbers = scene frames) or a movie"),
            ("RENDER", "Render Layers", "This scene's own render (its Render Layers), over the scene's frame range"),
        ))
    clip: PointerProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Clip", type=bpy.types.MovieClip, update=_clip_changed,
        description="The plate to matte (default: the scene's active clip)")
    plate_image: PointerProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Image", type=bpy.types.Image, description="The plate to matte: a still, an image sequence or a movie")
    shot_id: StringProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Shot", default="", description="Shot id on the server (default: from the clip's name)")
    colorspace: StringProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Input colour space", default="",
        description="Colour space of the frames sent (default: Blender's scene-linear space, which is what the "
                    "clip is read in)")
    trimap_source: EnumProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Trimap from", default="MASK", items=(
            ("MASK", "Mask", "Rasterise a Mask data-block on each keyframe, with an unknown band around its edge"),
            ("IMAGE", "Trimap image",
             "An image (or sequence): white = foreground, grey = unknown, black = background"),
        ))
    mask: PointerProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Mask", type=bpy.types.Mask, description="The roto Mask drawn on the keyframes")
    band: IntProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Band", default=int(round(SCHEMA.default_of("roto_band"))), min=1, soft_max=200, subtype="PIXEL",
        description="Width of the unknown band around the mask's edge, in pixels (untouched: the server's "
                    "default roto band)")
    trimap_image: PointerProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Trimap", type=bpy.types.Image, description="Trimap image or sequence (read at each keyframe)")
    keyframes: CollectionProperty(type=FTPVMKeyframe)  # type: ignore[valid-type]  # bpy property, see NOTE
    keyframe_index: IntProperty(name="Active keyframe", default=0)  # type: ignore[valid-type]  # bpy property, see NOTE
    quality: EnumProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Quality", default="STANDARD", items=(
            ("DRAFT", "Draft", "Network at quarter resolution: fastest"),
            ("STANDARD", "Standard", "Network at up to 1024 pixels on the long side"),
            ("HIGH", "High", "Network at full resolution: slowest"),
        ))
    memory_size: _count("memory_size", "Memory size")  # type: ignore[valid-type]  # bpy property, see NOTE
    memory_policy: _choice("memory_policy", "Memory policy")  # type: ignore[valid-type]  # bpy property, see NOTE
    precision: _choice("precision", "Precision")  # type: ignore[valid-type]  # bpy property, see NOTE
    highlights: _choice("highlights", "Highlights")  # type: ignore[valid-type]  # bpy property, see NOTE
    output_foreground: BoolProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Foreground", default=True,
        description="Also write the foreground colour pass (unmixed from the background)")
    output_dir: StringProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Folder", default="", subtype="DIR_PATH",
        description="Where the EXR sequences go (default: ftpvm/<shot> next to the .blend)")
    use_scene_range: BoolProperty(  # type: ignore[valid-type]  # bpy property, see NOTE
        name="Scene range only", default=False,
        description="Process only the scene's frame range (default: the whole clip)")


CLASSES = (FTPVMKeyframe, FTPVMSettings)


_register_classes, _unregister_classes = bpy.utils.register_classes_factory(CLASSES)


def register() -> None:
    _register_classes()
    bpy.types.Scene.ftpvm = PointerProperty(type=FTPVMSettings)  # type: ignore[attr-defined]


def unregister() -> None:
    del bpy.types.Scene.ftpvm  # type: ignore[attr-defined]
    _unregister_classes()
