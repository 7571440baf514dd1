"""`ftpvm matte` (issue 16): arguments and outputs checked before weights load, gaps, shot state, outputs,
message conventions. Synthetic weights, tiny shots."""
from __future__ import annotations

import numpy as np
import pytest

from ftpvm_cli import main
from ftpvm_core.imaging.io import read_image, write_exr
from ftpvm_core.synthetic import make_shot

LINEAR = "Linear Rec.709 (sRGB)"


@pytest.fixture()
def plates(tmp_path, synthetic_checkpoint):
    s = make_shot(4, 48, 64, seed=5)
    for i in range(4):
        write_exr(tmp_path / f"plate.{1001 + i:04d}.exr", {c: s.plates_linear[i][..., k] for k, c in enumerate("RGB")},
                  pixel_type="float")
    write_exr(tmp_path / "tri.exr", {"Y": s.trimaps[0]})
    write_exr(tmp_path / "tri3.exr", {"Y": s.trimaps[2]})
    return tmp_path, s, ["--weights", str(synthetic_checkpoint), "--device", "cpu",
                         "--state-dir", str(tmp_path / "state")]


def _args(d, common, *extra, out="o/m.%04d.exr"):
    args = ["matte", str(d / "plate.%04d.exr"), "--keyframe", f"1001={d / 'tri.exr'}", "--colorspace", LINEAR]
    if out:
        args += ["--out", str(d / out)]
    return args + list(extra) + common


def _one_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "error:" in err[0] and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.parametrize("extra, out, message", [
    ([], "o/m.####.png", "cannot write .png here; use .exr"),
    (["--compression", "zap"], "o/m.####.exr", "--compression 'zap' is not an EXR compression"),
    (["--memory-size", "99"], "o/m.####.exr", "memory_size"),
    (["--output-alpha", "a.####.jpg"], "o/m.####.exr", "--output-alpha"),
    (["--output-foreground", "f.####.png"], "o/m.####.exr", "use .exr, .tif, .tiff"),
    ([], "plate.1001.exr/m.####.exr", "is a file, not a folder"),
    (["--shot", "a/b"], "o/m.####.exr", "shot id"),
])
def test_bad_arguments_are_refused_before_the_weights_load(plates, capsys, extra, out, message):
    d, _, common = plates
    common = [*common]
    (d / "notes.pth").write_text("not weights")
    common[1] = str(d / "notes.pth")  # loading the weights first would fail on them instead
    assert main(_args(d, common, *extra, out=out)) == 2
    line = _one_error(capsys)
    assert message in line and "checkpoint" not in line


def test_read_only_output_folder_is_one_line(plates, capsys, monkeypatch):
    import tempfile

    d, _, common = plates

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)  # root ignores chmod, so refuse the probe itself
    assert main(_args(d, common)) == 2
    assert "cannot write in" in _one_error(capsys)
    assert not (d / "state").exists()  # refused before the engine started


def test_an_os_error_in_any_sub_command_is_one_line_exit_2(capsys, monkeypatch, tmp_path):
    from ftpvm_cli import shots

    def broken(args):
        raise PermissionError(13, "Permission denied", str(tmp_path / "x"))
    monkeypatch.setattr(shots, "_list", broken)
    assert main(["shots", "list", "--state-dir", str(tmp_path)]) == 2
    line = _one_error(capsys)
    assert line == f"ftpvm shots: error: Permission denied: {tmp_path / 'x'}"


def test_a_gap_inside_the_sequence_is_refused_unless_allowed(plates, capsys):
    d, _, common = plates
    (d / "plate.1003.exr").unlink()
    assert main(_args(d, common)) == 2
    line = _one_error(capsys)
    assert "1 of the 4 frames asked for are missing" in line and "1003" in line and "--allow-gaps" in line
    assert main(_args(d, common, "--allow-gaps")) == 0
    err = capsys.readouterr().err
    assert "warning:" in err and "1003" in err
    assert sorted(p.name for p in (d / "o").iterdir()) == ["m.1001.exr", "m.1002.exr", "m.1004.exr"]


def test_shot_report_and_keyframes_are_the_commands_set(plates, capsys):
    d, s, common = plates
    with_two = _args(d, common, "--keyframe", f"1003={d / 'tri3.exr'}")
    assert main(with_two) == 0
    err = capsys.readouterr().err
    assert "shot plate-" in err and str(d / "state") in err and "1003:" in err
    assert main(_args(d, common, "--keep-keyframes")) == 0  # keeps 1003 and says where it came from
    err = capsys.readouterr().err
    assert "1003: from an earlier run" in err
    alone = read_image(d / "o" / "m.1003.exr").channel("trimap")
    np.testing.assert_array_equal(alone, s.trimaps[2])  # the inherited keyframe was used
    assert main(_args(d, common)) == 0  # the command's keyframes are the full set
    err = capsys.readouterr().err
    assert "removed keyframe(s) 1003" in err and "1003:" not in err.split("keyframes used:")[1]
    from ftpvm_core.engine import inventory
    from ftpvm_core.engine.store import Store

    store = Store(d / "state")
    try:
        assert [list(x.keyframes) for x in inventory.summaries(store)] == [[1001]]
    finally:
        store.close()


def test_changed_settings_are_applied_and_a_new_size_names_the_flags(plates, capsys, tmp_path):
    d, s, common = plates
    assert main(_args(d, common, "--memory-size", "3")) == 0
    capsys.readouterr()
    assert main(_args(d, common, "--memory-size", "4")) == 0  # was a refusal naming neither flag
    err = capsys.readouterr().err
    assert "memory_size 3 -> 4" in err and "(0 from cache)" in err  # memory_size affects the model: recomputed
    assert main(_args(d, common, "--memory-size", "4")) == 0
    assert "(4 from cache)" in capsys.readouterr().err
    # the same shot id for a plate of another size: not safe to apply
    small = make_shot(2, 32, 48, seed=1)
    for i in range(2):
        write_exr(tmp_path / f"other.{1001 + i:04d}.exr", {c: small.plates_linear[i][..., k] for k, c in
                                                            enumerate("RGB")})
    write_exr(tmp_path / "tri_small.exr", {"Y": small.trimaps[0]})
    from ftpvm_cli.matte import default_shot_id

    args = ["matte", str(tmp_path / "other.%04d.exr"), "--keyframe", f"1001={tmp_path / 'tri_small.exr'}",
            "--colorspace", LINEAR, "--out", str(tmp_path / "o2" / "m.%04d.exr"),
            "--shot", default_shot_id(str(d / "plate.%04d.exr")), *common]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if "error:" in line]
    assert len(errors) == 1 and "--reset" in errors[0] and "--shot" in errors[0] and "Traceback" not in err


def test_separate_alpha_foreground_and_trimap_sequences(plates, capsys):
    d, s, common = plates
    args = _args(d, common, "--output-alpha", str(d / "a" / "alpha.####.png"), "--output-foreground",
                 str(d / "f" / "fg.%04d.exr"), "--output-trimap", str(d / "t" / "tri.####.tif"), out=None)
    assert main(args) == 0, capsys.readouterr().err
    alpha = read_image(d / "a" / "alpha.1002.png")
    assert alpha.pixels.shape[:2] == (48, 64) and len(alpha.channels) == 1
    fg = read_image(d / "f" / "fg.1002.exr")
    assert set(fg.channels) == {"R", "G", "B"} and fg.metadata["ftpvm:frame"] == 1002
    tri = read_image(d / "t" / "tri.1001.tif").pixels[..., 0]
    np.testing.assert_array_equal(np.round(tri * 2) / 2, s.trimaps[0])
    assert not (d / "o").exists()
    import OpenImageIO as oiio

    assert oiio.ImageInput.open(str(d / "a" / "alpha.1002.png")).spec().format == oiio.UINT16


def test_no_output_is_an_error(plates, capsys):
    d, _, common = plates
    assert main(_args(d, common, out=None)) == 2
    assert "--output-alpha" in _one_error(capsys)


def test_preview_without_pyav_says_how_to_install(plates, capsys, monkeypatch):
    import sys

    d, _, common = plates
    monkeypatch.setitem(sys.modules, "av", None)  # import av -> ImportError
    assert main(_args(d, common, "--preview", str(d / "p.mp4"))) == 2
    assert 'pip install "ftpvm[movie]"' in _one_error(capsys)


def test_preview_movie(plates, capsys):
    av = pytest.importorskip("av")
    d, _, common = plates
    assert main(_args(d, common, "--preview", str(d / "p.mp4"))) == 0
    with av.open(str(d / "p.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 4


def test_quiet_prints_nothing_but_errors_and_progress_bars_follow_the_terminal(plates, capsys, monkeypatch):
    import tqdm

    d, _, common = plates
    seen = []
    real = tqdm.tqdm

    def spy(*a, **k):
        seen.append(k.get("disable"))
        return real(*a, **k)
    monkeypatch.setattr(tqdm, "tqdm", spy)
    assert main(_args(d, common)) == 0
    assert seen == [None]  # shown only on a terminal
    capsys.readouterr()
    assert main(_args(d, common, "--quiet")) == 0
    assert capsys.readouterr().err == "" and seen[-1] is True
    assert main(_args(d, common, "--log-level", "warning")) == 0
    assert capsys.readouterr().err == ""


def test_every_sub_command_takes_quiet_and_log_level_and_ftpvm_has_a_version(capsys):
    from ftpvm_cli.command import _leaf_parsers, build_parser

    parser = build_parser()
    leaves = _leaf_parsers(parser)
    assert len(leaves) >= 10
    for leaf in leaves:
        flags = {o for a in leaf._actions for o in a.option_strings}
        assert {"--quiet", "--log-level"} <= flags, leaf.prog
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    import ftpvm_core

    assert capsys.readouterr().out.strip() == f"ftpvm {ftpvm_core.__version__}"
