"""Runs inside a Python that has ``bpy``: drives the add-on headless and records what happened as JSON.

Usage: python bpy_driver.py SPEC.json  (written by test_blender_e2e.py; see there for the fields).
Every scenario is recorded even when it fails, so the pytest side can assert on each separately.
"""
from __future__ import annotations

import json
import os
import sys
import traceback

SPEC = json.load(open(sys.argv[1]))
sys.path[:0] = SPEC["sys_path"]

import bpy  # noqa: E402
import numpy as np  # noqa: E402

import ftpvm_blender  # noqa: E402
from ftpvm_blender import compositor, wiring  # noqa: E402

PATH_BEFORE_REGISTER = list(sys.path)

OUT = SPEC["workdir"]
W, H = SPEC["width"], SPEC["height"]
REPORT: dict = {"blender": bpy.app.version_string, "group_trees": compositor.GROUP_TREES}


def record(name):
    def wrap(fn):
        try:
            REPORT[name] = fn()
        except Exception:  # noqa: BLE001 - recorded for the test to show
            REPORT[name] = {"exception": traceback.format_exc()}
        return fn
    return wrap


def call(op) -> dict:
    """Run an operator as a script does: an ERROR report comes back as RuntimeError('Error: ...')."""
    try:
        return {"result": sorted(op()), "report": ""}
    except RuntimeError as exc:
        return {"result": ["CANCELLED"], "report": str(exc).strip()}


def mask_from_pixels(name, points_px):
    """A Mask with one closed polygon whose corners are given in pixels (x right, y down)."""
    mask = bpy.data.masks.new(name)
    layer = mask.layers.new(name="Layer")
    spline = layer.splines.new()
    spline.points.add(len(points_px) - 1)
    for point, (x, y) in zip(spline.points, points_px):
        # Blender mask space: x in [0, 1] across the width, y normalised by the width, centred.
        point.co = (x / W, ((H - y) - H / 2) / W + 0.5)
        point.handle_left_type = point.handle_right_type = "VECTOR"
    spline.use_cyclic = True
    return mask


def render_compositor(scene, frame, path):
    r = scene.render
    r.resolution_x, r.resolution_y, r.resolution_percentage = W, H, 100
    r.image_settings.file_format = "OPEN_EXR"
    r.image_settings.color_depth = "32"
    r.image_settings.color_mode = "RGBA"
    r.filepath = path
    scene.frame_set(frame)
    bpy.ops.render.render(write_still=True, scene=scene.name)
    return path


def existing_scene_tree(scene):
    """The scene's compositor tree without making one (None when there is none)."""
    return scene.compositing_node_group if compositor.GROUP_TREES else scene.node_tree


def state(scene):
    props = scene.ftpvm
    tree = existing_scene_tree(scene)
    groups = [n for n in tree.nodes if n.bl_idname == "CompositorNodeGroup"] if tree else []
    return {"message": props.last_message, "groups": len(groups),
            "group_trees": sorted(g.name for g in bpy.data.node_groups if g.name.startswith("FTPVM")),
            "images": sorted(i.name for i in bpy.data.images),
            "files": sorted(os.listdir(os.path.join(SPEC["out_dir"], "plate")))}


ftpvm_blender.register()
REPORT["sys_path_changed"] = sys.path != PATH_BEFORE_REGISTER

# Batches of 4: the 6 frames go as 4 + 2, so the results must not depend on the batching.
from ftpvm_blender import plan, render_io, runner as runner_module  # noqa: E402
import threading  # noqa: E402

plan.BATCH_FRAMES = 4
BLENDER_CALLS = {"count": 0, "overlaps": []}


def alone(fn, what):
    """Record every call of ``fn`` made while another Python thread is alive (renders and writes must not be)."""
    def wrapped(*args, **kwargs):
        others = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
        BLENDER_CALLS["count"] += 1
        if others:
            BLENDER_CALLS["overlaps"].append(f"{what}: {others}")
        return fn(*args, **kwargs)
    return wrapped


render_io.NodeRenderer.render = alone(render_io.NodeRenderer.render, "render")
runner_module.write_exr = alone(runner_module.write_exr, "write_exr")
scene = bpy.context.scene
for n in list(bpy.data.scenes):
    pass
scene.frame_start, scene.frame_end = SPEC["frames"][0], SPEC["frames"][-1]
clip = bpy.data.movieclips.load(SPEC["plate_first"])
clip.frame_start = SPEC["frames"][0]
mask = mask_from_pixels("Roto", SPEC["mask_points"])
props = scene.ftpvm
props.server = SPEC["address"]
props.clip = clip
props.mask = mask
untouched = {"band": props.band, "memory_policy": props.memory_policy, "band_set": props.is_property_set("band")}
props.band = SPEC["band"]
props.output_dir = SPEC["out_dir"]
scene.frame_set(SPEC["keyframes"][0])
bpy.ops.ftpvm.keyframe_add()
REPORT["defaults"] = {"shot_id": props.shot_id, "colorspace": ftpvm_blender.properties.input_colorspace(scene),
                      "keyframes": [k.frame for k in props.keyframes], "untouched": untouched}


@record("check_connection")
def _():
    return {"result": sorted(bpy.ops.ftpvm.check_connection()), "status": props.status}


@record("process")
def _():
    result = bpy.ops.ftpvm.process_shot()
    renders = {f: render_compositor(scene, f, os.path.join(OUT, f"comp.{f}.exr")) for f in SPEC["check_frames"]}
    import shutil
    shutil.copytree(os.path.join(SPEC["out_dir"], "plate"), os.path.join(OUT, "first"))
    from ftpvm_blender.render_io import NodeRenderer, write_exr
    with NodeRenderer(W, H) as r:
        write_exr(os.path.join(OUT, "mask_raster.exr"), r.mask_matte(mask, SPEC["keyframes"][0]))
    return {"result": sorted(result), "renders": renders, **state(scene)}


@record("reprocess")
def _():
    scene.frame_set(SPEC["keyframes"][1])
    bpy.ops.ftpvm.keyframe_add()
    result = bpy.ops.ftpvm.process_shot()
    renders = {f: render_compositor(scene, f, os.path.join(OUT, f"recomp.{f}.exr")) for f in SPEC["check_frames"]}
    return {"result": sorted(result), "renders": renders, "keyframes": [k.frame for k in props.keyframes],
            **state(scene)}


@record("cancel")
def _():
    from ftpvm_blender.runner import ProcessRunner

    props.shot_id = "cancel_me"
    props.output_dir = os.path.join(OUT, "cancel")
    runner = ProcessRunner(scene)
    steps = 0
    while runner.fed < 1 and not runner.step():
        steps += 1
    runner.cancel()
    while not runner.step():
        steps += 1
    out = {"state": runner.state, "message": runner.message, "written": runner.written, "total": runner.total,
           "scenes": sorted(s.name for s in bpy.data.scenes),
           "cancel_group": wiring.group_name("cancel_me") in bpy.data.node_groups}
    props.shot_id = ""
    props.output_dir = SPEC["out_dir"]
    return out


@record("cancel_matte")
def _():
    from ftpvm_blender.runner import ProcessRunner

    props.shot_id = "cancel_late"
    props.output_dir = os.path.join(OUT, "cancel_late")
    runner = ProcessRunner(scene)
    while runner.phase != "matte" and not runner.step():
        pass
    phase, fed = runner.phase, runner.fed
    runner.cancel()
    while not runner.step():
        pass
    out = {"phase": phase, "fed": fed, "batch": runner.batch_frames, "state": runner.state, "message": runner.message, "written": runner.written,
           "total": runner.total, "scenes": sorted(s.name for s in bpy.data.scenes),
           "threads": [t.name for t in threading.enumerate() if t is not threading.main_thread()],
           "cancel_group": wiring.group_name("cancel_late") in bpy.data.node_groups}
    props.shot_id = ""
    props.output_dir = SPEC["out_dir"]
    return out


@record("server_down")
def _():
    props.server = SPEC["dead_address"]
    result = call(bpy.ops.ftpvm.process_shot)
    message = props.last_message
    check = call(bpy.ops.ftpvm.check_connection)
    out = {"result": result, "message": message, "check": check, "status": props.status,
           "scenes": sorted(s.name for s in bpy.data.scenes)}
    props.server = SPEC["address"]
    return out


def other_scene(name, frames):
    """A new scene set up like the main one (server, mask, band, keyframe at its first frame)."""
    other = bpy.data.scenes.new(name)
    other.frame_start, other.frame_end = frames[0], frames[-1]
    r = other.render
    r.resolution_x, r.resolution_y, r.resolution_percentage = W, H, 100
    o = other.ftpvm
    o.server, o.mask, o.band = SPEC["address"], mask, SPEC["band"]
    o.output_dir = os.path.join(OUT, name)
    o.keyframes.add().frame = frames[0]
    cam = bpy.data.objects.new(f"{name} camera", bpy.data.cameras.new(f"{name} camera"))
    cam.location, cam.rotation_euler = (0, -8, 0), (1.5708, 0, 0)
    other.collection.objects.link(cam)
    other.camera = cam  # a render needs one, even when the compositor makes the picture
    return other


def plate_state(other):
    tree = existing_scene_tree(other)
    if tree is None:
        return {"message": other.ftpvm.last_message, "plate_node": None, "shown": None}
    group = next(n for n in tree.nodes if n.bl_idname == "CompositorNodeGroup")
    link = group.inputs["Plate"].links[0] if group.inputs["Plate"].is_linked else None
    output = compositor.output_socket(tree)
    return {"message": other.ftpvm.last_message, "plate_node": link.from_node.bl_idname if link else None,
            "shown": output.links[0].from_node.bl_idname if output.is_linked else None}


@record("image_plate")
def _():
    """The plate as an Image (the clip's EXR sequence loaded as an image sequence), in a scene of its own."""
    other = other_scene("ImageShot", SPEC["frames"])
    image = bpy.data.images.load(SPEC["plate_first"], check_existing=False)
    image.source = "SEQUENCE"
    other.ftpvm.plate_source, other.ftpvm.plate_image = "IMAGE", image
    other.ftpvm.shot_id = "image_plate"  # a shot of its own: the main scene's shot keeps its keyframes
    with bpy.context.temp_override(scene=other):
        result = call(bpy.ops.ftpvm.process_shot)
    with bpy.context.temp_override(scene=other):  # render.render(scene=) takes the frame from the context's scene
        renders = {f: render_compositor(other, f, os.path.join(OUT, f"imagecomp.{f}.exr")) for f in SPEC["check_frames"]}
    return {**result, "renders": renders, "shot_id": ftpvm_blender.properties.shot_id(other),
            "out": os.path.join(OUT, "ImageShot"), **plate_state(other)}


@record("render_plate")
def _():
    """The plate is the scene's own render (Render Layers): a cube in front of a camera, rendered by Cycles."""
    other = other_scene("RenderShot", [1, 2, 3])
    mesh = bpy.data.meshes.new("Cube")
    v = [(x, y, z) for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]
    mesh.from_pydata(v, [], [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)])
    other.collection.objects.link(bpy.data.objects.new("Cube", mesh))
    other.world = bpy.data.worlds.new("World")
    other.world.color = (1.0, 1.0, 1.0)  # a white sky: the cube shows as shaded grey against it
    if other.world.node_tree is not None:  # a node world (5.x): the Background node's colour
        other.world.node_tree.nodes["Background"].inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
    other.render.engine = "CYCLES"
    other.cycles.samples = 1
    other.cycles.device = "CPU"
    other.ftpvm.plate_source = "RENDER"
    from ftpvm_blender.plate import current_plate
    from ftpvm_blender.render_io import NodeRenderer
    with NodeRenderer(W, H) as r:
        pixels = r.plate_frame(current_plate(other), 1)
    with bpy.context.temp_override(scene=other):
        result = call(bpy.ops.ftpvm.process_shot)
    return {**result, "plate_std": float(pixels.std()), "plate_shape": list(pixels.shape),
            "shot_id": ftpvm_blender.properties.shot_id(other),
            "files": sorted(os.listdir(os.path.join(OUT, "RenderShot"))) if os.path.isdir(os.path.join(OUT, "RenderShot")) else [],
            **plate_state(other)}


@record("offline")
def _():
    """bpy as a module starts with online access off: a remote server is refused, loopback is not."""
    props.server = "192.0.2.1:50051"  # TEST-NET-1: would never answer anyway
    out = {"online_access": bpy.app.online_access, "process": call(bpy.ops.ftpvm.process_shot),
           "check": call(bpy.ops.ftpvm.check_connection), "status": props.status,
           "reason": ftpvm_blender.operators.offline_reason(bpy.context)}
    props.server = SPEC["address"]
    out["loopback_reason"] = ftpvm_blender.operators.offline_reason(bpy.context)
    return out


@record("bad_mask")
def _():
    out = {}
    empty = bpy.data.masks.new("Empty")
    props.mask = empty
    out["empty"] = {**call(bpy.ops.ftpvm.process_shot), "message": props.last_message}
    props.mask = mask_from_pixels("Outside", [(-40, -40), (-20, -40), (-20, -20), (-40, -20)])
    out["outside"] = {**call(bpy.ops.ftpvm.process_shot), "message": props.last_message}
    props.mask = None
    out["none"] = {**call(bpy.ops.ftpvm.process_shot), "message": props.last_message}
    props.mask = mask
    out["scenes"] = sorted(s.name for s in bpy.data.scenes)
    return out


@record("unregister")
def _():
    ftpvm_blender.unregister()
    return {"has_props": hasattr(bpy.types.Scene, "ftpvm")}


REPORT["blender_calls"] = BLENDER_CALLS

with open(os.path.join(OUT, "report.json"), "w") as f:
    json.dump(REPORT, f, indent=1, default=str)
