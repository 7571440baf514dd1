"""`ftpvm matte` and `ftpvm demo` end to end on tiny synthetic shots (synthetic weights)."""
from __future__ import annotations

import numpy as np
import pytest

from ftpvm_cli import main
from ftpvm_core.imaging.io import read_image, write_exr, write_image
from ftpvm_core.synthetic import make_shot


@pytest.fixture()
def plates(tmp_path, synthetic_checkpoint):
    s = make_shot(3, 48, 64, seed=4)
    for i in range(3):
        f = 1001 + i
        write_exr(tmp_path / f"plate.{f:04d}.exr", {c: s.plates_linear[i][..., k] for k, c in enumerate("RGB")},
                  pixel_type="float")
    write_exr(tmp_path / "tri.exr", {"Y": s.trimaps[0]})
    return tmp_path, s, ["--weights", str(synthetic_checkpoint), "--device", "cpu",
                         "--state-dir", str(tmp_path / "state")]


def test_matte_sequence_writes_named_channels_and_resumes(plates, capsys):
    d, s, common = plates
    args = ["matte", str(d / "plate.%04d.exr"), "--keyframe", f"1001={d / 'tri.exr'}",
            "--colorspace", "Linear Rec.709 (sRGB)", "--out", str(d / "out" / "m.####.exr"), "--foreground", *common]
    assert main(args) == 0
    img = read_image(d / "out" / "m.1002.exr")
    assert set(img.channels) == {"A", "trimap", "fg.R", "fg.G", "fg.B"}
    assert img.metadata["ftpvm:frame"] == 1002 and img.metadata["ftpvm:colorspace"] == "Linear Rec.709 (sRGB)"
    assert len(img.metadata["ftpvm:model_fingerprint"]) == 16
    key = read_image(d / "out" / "m.1001.exr")
    np.testing.assert_array_equal(key.channel("trimap"), s.trimaps[0])  # the keyframe shows the given trimap
    capsys.readouterr()
    assert main(args) == 0  # resumes: everything from the cache
    assert "(3 from cache)" in capsys.readouterr().err


@pytest.mark.parametrize("change, message", [
    (lambda a, d: a.__setitem__(1, str(d / "missing.%04d.exr")), "no frames match"),
    (lambda a, d: a.__setitem__(1, str(d / "plate.exr")), "neither a sequence pattern"),
    (lambda a, d: a.__setitem__(a.index("--out") + 1, str(d / "plate.%04d.exr")), "overwrite an input"),
    (lambda a, d: a.__setitem__(a.index("--out") + 1, str(d / "out.exr")), "exactly one frame field"),
    (lambda a, d: a.__setitem__(a.index("--colorspace") + 1, "ACES cg"), "did you mean"),
    (lambda a, d: a.__setitem__(a.index("--keyframe") + 1, "1001"), "FRAME=PATH"),
    (lambda a, d: a.__setitem__(a.index("--keyframe") + 1, f"999={d / 'tri.exr'}"), "not in"),
    (lambda a, d: a.__setitem__(a.index("--keyframe") + 1, f"1001={d / 'nope.exr'}"), "not found"),
    (lambda a, d: a.extend(["--range", "5-1"]), "ends before"),
])
def test_matte_bad_input_one_line_nonzero(plates, capsys, change, message):
    d, s, common = plates
    args = ["matte", str(d / "plate.%04d.exr"), "--keyframe", f"1001={d / 'tri.exr'}",
            "--colorspace", "Linear Rec.709 (sRGB)", "--out", str(d / "o" / "m.%04d.exr"), *common]
    change(args, d)
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len([line for line in err if "error:" in line]) == 1 and message in err[-1]


def test_matte_unreadable_exr_and_size_mismatch(plates, capsys):
    d, s, common = plates
    (d / "plate.1002.exr").write_bytes(b"garbage")
    write_exr(d / "small.exr", {"Y": np.zeros((8, 8))})
    args = ["matte", str(d / "plate.%04d.exr"), "--keyframe", f"1001={d / 'small.exr'}",
            "--colorspace", "Linear Rec.709 (sRGB)", "--out", str(d / "o" / "m.%04d.exr"), *common]
    assert main(args) == 2
    assert "resize it to the plate" in capsys.readouterr().err
    args[3] = f"1001={d / 'tri.exr'}"
    assert main(args) == 2
    assert "cannot read" in capsys.readouterr().err


def test_matte_movie(tmp_path, synthetic_checkpoint, capsys):
    av = pytest.importorskip("av")
    s = make_shot(3, 48, 64, seed=2)
    movie = tmp_path / "clip.mp4"
    with av.open(str(movie), "w") as c:
        st = c.add_stream("mpeg4", rate=24)
        st.width, st.height, st.pix_fmt = 64, 48, "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray((s.plates_srgb[i] * 255).astype(np.uint8), format="rgb24")
            for p in st.encode(frame):
                c.mux(p)
        for p in st.encode():
            c.mux(p)
    write_image(tmp_path / "tri.png", np.repeat(s.trimaps[0][..., None], 3, -1))
    rc = main(["matte", str(movie), "--keyframe", f"0={tmp_path / 'tri.png'}", "--out",
               str(tmp_path / "o" / "m.%04d.exr"), "--weights", str(synthetic_checkpoint), "--device", "cpu",
               "--state-dir", str(tmp_path / "state")])
    assert rc == 0, capsys.readouterr().err
    img = read_image(tmp_path / "o" / "m.0002.exr")
    assert img.metadata["ftpvm:colorspace"] == "sRGB Encoded Rec.709 (sRGB)" and img.pixels.shape[:2] == (48, 64)


def test_demo_local(tmp_path, synthetic_checkpoint, capsys):
    rc = main(["demo", "--local", "--out", str(tmp_path / "demo"), "--frames", "3", "--size", "64x48",
               "--weights", str(synthetic_checkpoint), "--device", "cpu"])
    out = capsys.readouterr().out
    assert rc == 0 and "MAD" in out and "--weights" in out
    assert "ftpvm-server" not in out
    assert (tmp_path / "demo" / "contact_sheet.png").is_file()
    sheet = read_image(tmp_path / "demo" / "contact_sheet.png")
    assert sheet.pixels.shape[1] == 4 * 64  # plate | trimap | alpha | foreground
    assert set(read_image(tmp_path / "demo" / "demo.0001.exr").channels) >= {"A", "fg.R", "trimap"}


def test_demo_goes_through_a_real_server_by_default(tmp_path, synthetic_checkpoint, capsys):
    common = ["--frames", "3", "--size", "64x48", "--weights", str(synthetic_checkpoint), "--device", "cpu"]
    assert main(["demo", "--out", str(tmp_path / "served"), *common]) == 0
    out = capsys.readouterr().out
    assert "demo: started ftpvm-server on 127.0.0.1:" in out and "demo: ftpvm-server stopped" in out
    assert main(["demo", "--local", "--out", str(tmp_path / "local"), *common]) == 0
    for frame in (1, 2):
        served = read_image(tmp_path / "served" / f"demo.{frame:04d}.exr").channel("A")
        local = read_image(tmp_path / "local" / f"demo.{frame:04d}.exr").channel("A")
        # plates and results travel as half floats, so the served matte differs by input quantisation only
        assert np.abs(served - local).mean() < 1e-3 and np.abs(served - local).max() < 2e-2


def test_matte_from_roto_with_band(plates, capsys):
    d, s, common = plates
    write_exr(d / "roto.exr", {"A": (s.alpha[0] > 0.5).astype(np.float32)})
    args = ["matte", str(d / "plate.####.exr"), "--roto", f"1001={d / 'roto.exr'}", "--band", "3", "--range",
            "1001-1002", "--colorspace", "Linear Rec.709 (sRGB)", "--out", str(d / "r" / "m.%04d.exr"), *common]
    assert main(args) == 0, capsys.readouterr().err
    tri = read_image(d / "r" / "m.1001.exr").channel("trimap")
    assert set(np.unique(tri)) == {0.0, 0.5, 1.0}
    assert not (d / "r" / "m.1003.exr").exists()  # --range respected


@pytest.mark.parametrize("sequence, frame_range, written", [
    ("plate.@@@@.exr", "1001,1003", [1001, 1003]),
    ("plate.1001-1003x2#.exr", None, [1001, 1003]),
    ("plate.#.exr", "1001-1003x2", [1001, 1003]),
    ("plate.1001-1002#.exr", "1002-1003", [1002]),
])
def test_matte_reads_every_sequence_and_range_spelling(plates, capsys, sequence, frame_range, written):
    d, s, common = plates
    args = ["matte", str(d / sequence), "--keyframe", f"1001={d / 'tri.exr'}", "--colorspace",
            "Linear Rec.709 (sRGB)", "--out", str(d / "o" / "m.@@@@.exr"), *common]
    assert main(args + (["--range", frame_range] if frame_range else [])) == 0, capsys.readouterr().err
    assert sorted(int(p.name.split(".")[1]) for p in (d / "o").iterdir()) == written


def test_matte_reports_the_gaps_of_a_requested_range(plates, capsys):
    d, s, common = plates
    args = ["matte", str(d / "plate.%04d.exr"), "--keyframe", f"1001={d / 'tri.exr'}", "--colorspace",
            "Linear Rec.709 (sRGB)", "--out", str(d / "o" / "m.%04d.exr"), "--range", "1001-1005,1007", *common]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "3 of the 6 frames asked for are missing" in err and "1004-1005,1007" in err and "1001-1003" in err
    assert not (d / "o").exists()


def test_default_shot_id_is_one_per_sequence_whatever_its_spelling(tmp_path):
    from ftpvm_cli.matte import default_shot_id
    from ftpvm_wire.shots import check_shot_id

    ids = {default_shot_id(str(tmp_path / name)) for name in
           ("plate.####.exr", "plate.%04d.exr", "plate.@@@@.exr", "plate.1001-1100#.exr")}
    assert len(ids) == 1 and check_shot_id(ids.pop()).startswith("plate-")
    assert default_shot_id(str(tmp_path / "plate.###.exr")) != default_shot_id(str(tmp_path / "plate.####.exr"))
    assert default_shot_id(str(tmp_path / "my clip.mov")).startswith("my_clip-")


@pytest.mark.parametrize("name", ["fp16", "float16", "bf16", "fp32"])
def test_matte_takes_every_precision_name(name):
    import argparse

    from ftpvm_cli.matte import add_settings_arguments, settings_from_args
    from ftpvm_core.engine import ShotSettings

    parser = argparse.ArgumentParser()
    add_settings_arguments(parser)
    settings = ShotSettings.from_dict(settings_from_args(parser.parse_args(["--precision", name])))
    assert settings.precision == {"float16": "fp16"}.get(name, name)
