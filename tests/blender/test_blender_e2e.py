"""The add-on for real: headless ``bpy``, a real ftpvm-server on 127.0.0.1, EXR files through OpenImageIO.

One bpy subprocess (tests/blender/bpy_driver.py) plays every scenario in a row and writes a JSON report;
the tests here check that report and the files against what the client gets from the server directly.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from blender_harness import BLENDER_SRC, free_port, read_exr, write_exr

FRAMES = list(range(1001, 1007))
KEYFRAMES = [1001, 1004]
CHECK = [1001, 1003]
H, W = 64, 96
BAND = 6


@pytest.fixture(scope="module")
def shot():
    from ftpvm_core.synthetic import make_shot

    return make_shot(len(FRAMES), H, W, seed=3)


def _polygon_around(alpha: np.ndarray, margin: int = 3, corners: int = 16):
    """A polygon (pixels, y down) just around the subject's core: the roto an artist would draw."""
    ys, xs = np.nonzero(alpha > 0.5)
    cy, cx = ys.mean(), xs.mean()
    ry, rx = (ys.max() - ys.min()) / 2 + margin, (xs.max() - xs.min()) / 2 + margin
    t = np.linspace(0, 2 * np.pi, corners, endpoint=False)
    return [[float(cx + rx * np.cos(a)), float(cy + ry * np.sin(a))] for a in t]


@pytest.fixture(scope="module")
def run(blender_python, server, shot, tmp_path_factory):
    """Play the driver once; returns (report, workdir)."""
    work = tmp_path_factory.mktemp("blender")
    plates = work / "plates"
    plates.mkdir()
    for i, f in enumerate(FRAMES):
        write_exr(plates / f"plate.{f}.exr", shot.plates_linear[i])
    import build_extension  # the add-on gets what the zip's pure wheels carry: client, wire, fileseq, ...

    vendor = install_wheels(build_extension.pure_wheels(_mkdir(work / "wheels"), "0.0.0"), work / "site")
    spec = {
        "sys_path": [str(BLENDER_SRC), str(vendor)], "workdir": str(work), "out_dir": str(work / "out"),
        "width": W, "height": H, "frames": FRAMES, "keyframes": KEYFRAMES, "check_frames": CHECK, "band": BAND,
        "plate_first": str(plates / f"plate.{FRAMES[0]}.exr"), "address": server.address,
        "dead_address": f"127.0.0.1:{free_port()}", "mask_points": _polygon_around(shot.alpha[0]),
    }
    (work / "spec.json").write_text(json.dumps(spec))
    proc = subprocess.run([blender_python, str(Path(__file__).with_name("bpy_driver.py")), str(work / "spec.json")],
                          capture_output=True, text=True, timeout=300)
    log = proc.stdout[-4000:] + proc.stderr[-4000:]
    assert proc.returncode == 0, log
    report = json.loads((work / "report.json").read_text())
    report["_log"] = proc.stdout + proc.stderr
    return report, work


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def install_wheels(wheels, site: Path) -> Path:
    """Unpack wheels into ``site`` as Blender installs an extension's wheels into its site-packages."""
    import zipfile

    for wheel in wheels:
        zipfile.ZipFile(wheel).extractall(site)
    return site


def _scenario(run, name):
    report, _ = run
    got = report[name]
    assert "exception" not in got, got.get("exception")
    return got


def _direct(server, shot_id, shot, passes=("alpha", "foreground")):
    """Every frame of the shot as the client gets it from the server now (in order, as the add-on asked)."""
    from ftpvm_client import Client

    with Client(server.address, timeout=60) as client:
        handle = client.shot(shot_id)
        return {r.frame: r for r in handle.matte([(f, shot.plates_linear[i]) for i, f in enumerate(FRAMES)],
                                                 passes=passes, result_dtype="float32")}


def test_defaults_come_from_the_clip(run):
    report, _ = run
    from ftpvm_wire.schema import snapshot

    untouched = report["defaults"].pop("untouched")
    assert report["defaults"] == {"shot_id": "plate", "colorspace": "Linear Rec.709", "keyframes": [1001]}
    # the panel's setting defaults are the shipped schema's; untouched ones are not sent (the server's apply)
    assert untouched == {"band": round(snapshot().default_of("roto_band")), "band_set": False,
                         "memory_policy": snapshot().default_of("memory_policy")}


def test_connection_check_names_the_server(run):
    got = _scenario(run, "check_connection")
    assert got["result"] == ["FINISHED"] and got["status"].startswith("ftpvm-server") and "cpu" in got["status"]


def test_process_writes_sequences_and_wires_the_compositor(run, server, shot):
    got = _scenario(run, "process")
    assert got["result"] == ["FINISHED"], got["message"]
    assert got["files"] == sorted([f"plate_{p}.{f}.exr" for p in ("alpha", "foreground") for f in FRAMES])
    assert got["groups"] == 1 and got["group_trees"] == ["FTPVM Matte [plate]"]
    assert {"plate_alpha", "plate_foreground"} <= set(got["images"])
    assert "6 frames" in got["message"]


def test_rendered_compositor_alpha_is_the_written_alpha(run, shot):
    got = _scenario(run, "process")
    first = Path(run[1]) / "first"
    for i, f in ((FRAMES.index(f), f) for f in CHECK):
        rendered = read_exr(Path(got["renders"][str(f)]))
        assert rendered.shape == (H, W, 4)
        alpha = read_exr(first / f"plate_alpha.{f}.exr")
        assert np.array_equal(alpha[:, :, 0], alpha[:, :, 1]) and (alpha[:, :, 3] == 1).all()
        np.testing.assert_allclose(rendered[:, :, 3], alpha[:, :, 0], atol=1e-6)
        np.testing.assert_allclose(rendered[:, :, :3], shot.plates_linear[i], atol=1e-6)  # the plate, cut out
    # on the keyframe the matte sits on the subject (the synthetic weights promise no more than that)
    a, truth = read_exr(first / "plate_alpha.1001.exr")[:, :, 0], shot.alpha[0]
    assert a[truth > 0.99].mean() > 0.5 > a[truth < 0.01].mean()


def test_blender_mask_gives_the_same_matte_as_the_client_with_that_mask(run, server, shot):
    """The keyframe Blender sent is its Mask rasterised: the client sending that matte gets the same alpha."""
    from ftpvm_client import Client

    _scenario(run, "process")
    roto = read_exr(Path(run[1]) / "mask_raster.exr")[:, :, 0]
    inside = roto > 0.5
    assert 0.05 < inside.mean() < 0.9 and inside[shot.alpha[0] > 0.99].mean() > 0.9
    with Client(server.address, timeout=60) as client:
        s = client.open_shot("direct", W, H, "Linear Rec.709 (sRGB)", settings={"downsample_ratio": "auto"})
        s.set_keyframe(FRAMES[0], image=shot.plates_linear[0], outer=roto, band=BAND)
        mine = {r.frame: r.alpha for r in s.matte([(f, shot.plates_linear[i]) for i, f in enumerate(FRAMES[:3])],
                                                  result_dtype="float32")}
    written = read_exr(Path(run[1]) / "first" / "plate_alpha.1003.exr")[:, :, 0]
    np.testing.assert_allclose(written, mine[1003], atol=2e-3)


def test_reprocess_after_keyframe_change_updates_in_place(run, server, shot):
    first = _scenario(run, "process")
    got = _scenario(run, "reprocess")
    assert got["result"] == ["FINISHED"], got["message"]
    assert got["keyframes"] == KEYFRAMES
    assert got["groups"] == 1 and got["group_trees"] == first["group_trees"]
    assert got["images"] == first["images"]
    from ftpvm_client import Client

    with Client(server.address) as client:
        assert client.get_shot("plate").keyframes == tuple(KEYFRAMES)
    direct = _direct(server, "plate", shot)
    assert all(r.from_cache for r in direct.values()), "the plates Blender sent differ from the clip's files"
    for f in CHECK:
        rendered = read_exr(Path(got["renders"][str(f)]))
        np.testing.assert_allclose(rendered[:, :, 3], direct[f].alpha, atol=1e-6)
        foreground = read_exr(Path(run[1]) / "out" / "plate" / f"plate_foreground.{f}.exr")
        np.testing.assert_allclose(foreground[:, :, :3], direct[f].foreground, atol=1e-6)
    # the new keyframe changed the matte after it
    before = read_exr(Path(run[1]) / "first" / "plate_alpha.1006.exr")[:, :, 0]
    assert np.abs(before - direct[1006].alpha).max() > 1e-4


def test_cancel_stops_early_and_wires_nothing(run):
    got = _scenario(run, "cancel")
    assert got["state"] == "cancelled", got["message"]
    assert got["written"] <= 1 < got["total"] and "cancelled" in got["message"]
    assert got["cancel_group"] is False
    assert ".FTPVM io" not in got["scenes"]


def test_cancel_while_the_server_mattes_stops_the_run(run):
    got = _scenario(run, "cancel_matte")
    assert got["phase"] == "matte" and got["state"] == "cancelled", got["message"]
    assert got["batch"] == got["fed"] == 4  # the driver's batches of 4: the first batch was being matted
    assert got["written"] < got["total"] and "cancelled" in got["message"]
    assert got["cancel_group"] is False and got["threads"] == []
    assert ".FTPVM io" not in got["scenes"]


def test_blender_renders_and_writes_with_no_other_python_thread(run):
    """Blender's render released the GIL while touching Python state: no client thread may run meanwhile."""
    report, _ = run
    calls = report["blender_calls"]
    assert calls["count"] >= 2 * (len(FRAMES) + len(FRAMES)), calls  # process and reprocess: renders + writes
    assert calls["overlaps"] == [], calls["overlaps"][:5]


def test_server_down_is_a_report(run):
    got = _scenario(run, "server_down")
    assert got["result"]["result"] == ["CANCELLED"] and got["check"]["result"] == ["CANCELLED"]
    assert got["result"]["report"].startswith("Error: FTP-VM") and "UNAVAILABLE" in got["result"]["report"]
    assert got["check"]["report"].startswith("Error: FTP-VM: cannot reach")
    assert "UNAVAILABLE" in got["message"] and got["status"] == "not reachable"
    assert ".FTPVM io" not in got["scenes"]


def test_bad_masks_are_reports(run):
    got = _scenario(run, "bad_mask")
    for case, words in (("empty", "no visible layer"), ("outside", "covers nothing"), ("none", "pick a Mask")):
        assert got[case]["result"] == ["CANCELLED"], case
        assert got[case]["report"].startswith("Error: FTP-VM") and words in got[case]["report"], got[case]
        assert words in got[case]["message"]
    assert ".FTPVM io" not in got["scenes"]


def test_no_traceback_and_clean_unregister(run):
    report, _ = run
    assert _scenario(run, "unregister") == {"has_props": False}
    assert "Traceback" not in report["_log"], report["_log"][-3000:]


def test_online_access_off_refuses_a_remote_server_but_not_loopback(run):
    """Blender manual, Extensions > Add-ons > Internet Access: check ``bpy.app.online_access`` before going online."""
    got = _scenario(run, "offline")
    assert got["online_access"] is False  # bpy as a module starts offline
    assert got["process"]["result"] == ["CANCELLED"] and "Online access is off" in got["process"]["report"]
    assert got["check"]["result"] == ["CANCELLED"] and "Online access is off" in got["check"]["report"]
    assert "Allow Online Access" in got["reason"] and got["loopback_reason"] is None


def test_register_leaves_sys_path_alone(run):
    report, _ = run
    assert report["sys_path_changed"] is False


def test_an_image_sequence_is_a_plate_too(run, shot):
    """The clip's frames loaded as an Image sequence give the same mattes, wired through an Image node."""
    got = _scenario(run, "image_plate")
    assert got["result"] == ["FINISHED"], got["message"] + got["report"]
    assert got["shot_id"] == "image_plate" and got["plate_node"] == "CompositorNodeImage"
    assert got["shown"] == "CompositorNodeGroup"  # the output shows the group, fed by the plate's node
    first = Path(run[1]) / "first"
    for f in CHECK:
        (path,) = Path(got["out"]).rglob(f"image_plate_alpha.{f}.exr")
        alpha = read_exr(path)
        np.testing.assert_allclose(alpha, read_exr(first / f"plate_alpha.{f}.exr"), atol=1e-6)
        rendered = read_exr(Path(got["renders"][str(f)]))
        np.testing.assert_allclose(rendered[:, :, 3], alpha[:, :, 0], atol=1e-6)


def test_the_scenes_render_is_a_plate_too(run):
    """Render Layers as the plate: the scene's own render (a cube, by Cycles) is matted over its frame range."""
    got = _scenario(run, "render_plate")
    assert got["plate_shape"] == [H, W, 3] and got["plate_std"] > 0.05  # the cube against the sky, not a flat frame
    assert got["result"] == ["FINISHED"], got["message"] + got["report"]
    assert got["shot_id"] == "RenderShot" and got["plate_node"] == "CompositorNodeRLayers"
    assert got["shown"] == "CompositorNodeGroup"
