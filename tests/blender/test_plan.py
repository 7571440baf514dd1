"""The add-on's pure logic (no bpy): shot ids, frame ranges, keyframes, paths, checks, pixel layout."""
from __future__ import annotations

import os

import numpy as np
import pytest

import blender_harness  # noqa: F401  (puts plugins/blender on sys.path)
from ftpvm_blender import plan
from ftpvm_blender.plan import PlanError


@pytest.mark.parametrize("name, expected", [
    ("plate.0001.exr", "plate"), ("sh010_plate.####.exr", "sh010_plate"), ("my shot.mov", "my_shot"),
    ("clip", "clip"), ("..hidden", "hidden"), ("%%%", "shot"), ("A-b_c.9", "A-b_c"), ("x" * 300, "x" * 128),
])
def test_shot_id_from_clip_name(name, expected):
    assert plan.shot_id_from_name(name) == expected
    assert plan.check_shot_id(plan.shot_id_from_name(name))


@pytest.mark.parametrize("bad", ["", ".x", "a b", "é", "a/b", "x" * 129])
def test_bad_shot_ids_are_explained(bad):
    with pytest.raises(PlanError):
        plan.check_shot_id(bad)


def test_frame_range_and_limits():
    assert plan.frame_range(1001, 5) == [1001, 1002, 1003, 1004, 1005]
    assert plan.frame_range(1001, 5, (1003, 2000)) == [1003, 1004, 1005]
    with pytest.raises(PlanError, match="does not overlap"):
        plan.frame_range(1001, 5, (1, 10))
    with pytest.raises(PlanError, match="no frames"):
        plan.frame_range(1, 0)


def test_keyframes_sorted_unique_and_inside():
    assert plan.add_keyframe([1004, 1001], 1004) == [1001, 1004]
    assert plan.add_keyframe([1004], 1002) == [1002, 1004]
    assert plan.check_keyframes([1004, 1001, 1001], [1001, 1002, 1003, 1004]) == [1001, 1004]
    with pytest.raises(PlanError, match="at least one keyframe"):
        plan.check_keyframes([], [1, 2])
    with pytest.raises(PlanError, match=r"\[9\]"):
        plan.check_keyframes([1, 9], [1, 2, 3])


def test_output_folder_and_paths(tmp_path):
    blend = str(tmp_path / "shots" / "a.blend")
    assert plan.output_folder(blend, "", "sh010") == str(tmp_path / "shots" / "ftpvm" / "sh010")
    assert plan.output_folder(blend, str(tmp_path / "out"), "sh010") == str(tmp_path / "out" / "sh010")
    assert plan.output_folder("", str(tmp_path / "out" / "sh010"), "sh010") == str(tmp_path / "out" / "sh010")
    with pytest.raises(PlanError, match="save the .blend"):
        plan.output_folder("", "", "sh010")
    assert plan.output_path("/o", "sh", "alpha", 7) == os.path.join("/o", "sh_alpha.0007.exr")
    assert plan.sequence_offset(1001) == 1000


def test_plan_job_checks_everything(tmp_path):
    kw = dict(shot_id="sh", width=96, height=64, colorspace="Linear Rec.709", clip_start=1001, clip_duration=6,
              keyframes=[1001], quality="HIGH", want_foreground=True, blend_path=str(tmp_path / "a.blend"))
    job = plan.plan_job(**kw)
    assert job.frames == list(range(1001, 1007)) and job.keyframes == [1001]
    assert job.passes == ("alpha", "foreground") and job.settings == {"downsample_ratio": 1.0}
    assert job.first_path("alpha").endswith("sh_alpha.1001.exr")
    assert plan.plan_job(**{**kw, "want_foreground": False}).passes == ("alpha",)
    for change, words in (({"quality": "ULTRA"}, "unknown quality"), ({"width": 0}, "no image"),
                          ({"colorspace": ""}, "colour space"), ({"band": -1}, "band"),
                          ({"keyframes": [5]}, "outside"), ({"shot_id": "a b"}, "shot id")):
        with pytest.raises(PlanError, match=words):
            plan.plan_job(**{**kw, **change})


def test_untouched_settings_are_left_to_the_server(tmp_path):
    """Settings and band the artist did not set are not sent: the server's advertised defaults apply."""
    from ftpvm_wire.schema import snapshot

    kw = dict(shot_id="sh", width=96, height=64, colorspace="Linear Rec.709", clip_start=1001, clip_duration=6,
              keyframes=[1001], quality="STANDARD", want_foreground=True, blend_path=str(tmp_path / "a.blend"))
    job = plan.plan_job(**kw)
    assert job.band == 0 and job.settings == {"downsample_ratio": "auto"}
    job = plan.plan_job(**kw, band=6, chosen={"memory_policy": "nearest", "memory_size": 3})
    assert job.band == 6 and job.settings == {"downsample_ratio": "auto", "memory_policy": "nearest", "memory_size": 3}
    with pytest.raises(PlanError, match="choose one of first_last, nearest"):
        plan.plan_job(**kw, chosen={"memory_policy": "latest"})
    assert set(plan.SETTING_PROPS) <= set(snapshot().names("shot"))
    assert not hasattr(plan, "check_trimap") and not hasattr(plan, "trimap_from_matte")   # no trimap rules here


def test_an_empty_mask_raster_is_explained_before_anything_is_sent():
    m = np.zeros((8, 8), np.float32)
    with pytest.raises(PlanError, match="covers nothing at frame 3"):
        plan.check_mask_raster(m, "M", 3)
    m[2, 2] = 0.3                                   # soft or tiny: the engine judges it, not the add-on
    assert plan.check_mask_raster(m, "M", 3) is m


def test_pixel_layout_round_trip():
    rng = np.random.default_rng(0)
    rgb = rng.random((5, 7, 3), dtype=np.float32)
    flat = plan.bottom_up(rgb)
    assert flat.shape == (5 * 7 * 4,)
    back = plan.top_down(flat, 7, 5)
    np.testing.assert_array_equal(back[:, :, :3], rgb)
    assert (back[:, :, 3] == 1).all()
    # Blender's first row is the bottom one
    np.testing.assert_array_equal(flat[:3], rgb[-1, 0])
    gray = plan.top_down(plan.bottom_up(rgb[:, :, 0]), 7, 5)
    np.testing.assert_array_equal(gray[:, :, 1], rgb[:, :, 0])


def test_batch_size_bounds_memory_and_frames():
    assert plan.batch_size(96, 64, ("alpha", "foreground")) == plan.BATCH_FRAMES
    # 4K float32: plate 3 + alpha 1 + foreground 3 channels = ~248 MB a frame -> 2 frames in 512 MiB
    assert plan.batch_size(4096, 2160, ("alpha", "foreground")) == 2
    assert plan.batch_size(4096, 2160, ("alpha",)) == 3
    assert plan.batch_size(16384, 16384, ("alpha",)) == 1   # never 0
    assert plan.batch_size(96, 64, ("alpha",), most=4) == 4


def test_online_access_is_needed_for_any_server_but_this_computer():
    """Blender manual, Extensions > Add-ons > Internet Access: an add-on using the internet checks
    bpy.app.online_access; a server on this computer is not the internet."""
    from ftpvm_blender.plan import network_refusal

    for address in ("127.0.0.1:50051", "localhost:1", "[::1]:50051", "unix:/tmp/ftpvm.sock", "127.1.2.3:9"):
        assert network_refusal(address, online_access=False) is None, address
    for address in ("10.0.0.5:50051", "render-farm:50051", "[2001:db8::1]:50051", "example.com:443"):
        reason = network_refusal(address, online_access=False)
        assert reason is not None and address in reason and "Allow Online Access" in reason, address
        assert network_refusal(address, online_access=True) is None
    assert "--offline-mode" in network_refusal("10.0.0.5:1", online_access=False, overridden=True)


def test_an_image_sequence_plate_spans_its_files_on_disk(tmp_path):
    for f in (1001, 1002, 1003, 1005):
        (tmp_path / f"plate.{f}.exr").write_bytes(b"")
    (tmp_path / "other.0001.exr").write_bytes(b"")
    assert plan.image_sequence_range(str(tmp_path / "plate.1002.exr")) == (1001, 5)
    assert plan.image_sequence_range(str(tmp_path / "other.0001.exr")) == (1, 1)
    assert plan.image_sequence_range(str(tmp_path / "still.exr")) is None
