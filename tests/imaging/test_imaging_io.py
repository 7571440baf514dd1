import numpy as np
import OpenImageIO as oiio
import pytest

from ftpvm_core.errors import InvalidInput
from ftpvm_core.imaging.io import read_image, read_mask, read_rgb, write_exr
from ftpvm_wire.sequences import Sequence, SequenceError


def test_exr_channels_types_metadata_round_trip(tmp_path):
    h, w = 12, 20
    rng = np.random.default_rng(0)
    chans = {"A": rng.random((h, w)), "fg.R": rng.random((h, w)), "fg.G": rng.random((h, w)),
             "fg.B": rng.random((h, w)), "trimap": np.full((h, w), 0.5)}
    path = tmp_path / "m.0001.exr"
    write_exr(path, chans, pixel_type={"A": "float", "fg.R": "half", "fg.G": "half", "fg.B": "half",
                                       "trimap": "half"},
              compression="piz", metadata={"shot": "sh010", "frame": 1, "model_fingerprint": "abc123"})
    inp = oiio.ImageInput.open(str(path))
    spec = inp.spec()
    inp.close()
    fmt = dict(zip(spec.channelnames, [str(f) for f in spec.channelformats]))
    assert fmt == {"A": "float", "fg.R": "half", "fg.G": "half", "fg.B": "half", "trimap": "half"}
    assert spec.get_string_attribute("compression") == "piz"
    img = read_image(path)
    assert set(img.channels) == set(chans)
    assert img.metadata["ftpvm:shot"] == "sh010" and img.metadata["ftpvm:frame"] == 1
    assert img.metadata["ftpvm:model_fingerprint"] == "abc123"
    np.testing.assert_array_equal(img.channel("A"), chans["A"].astype(np.float32))  # float is exact
    np.testing.assert_allclose(img.channel("fg.G"), chans["fg.G"], atol=1e-3)      # half
    np.testing.assert_allclose(read_rgb(path, layer="fg"), np.stack([chans[f"fg.{c}"] for c in "RGB"], -1),
                               atol=1e-3)
    np.testing.assert_array_equal(read_mask(path), chans["A"].astype(np.float32))
    assert not list(tmp_path.glob(".tmp-*"))  # atomic write left no temp file


def test_layers_and_data_window(tmp_path):
    h, w = 8, 10
    spec = oiio.ImageSpec(4, 3, 4, "half")
    spec.channelnames = ("plate.R", "plate.G", "plate.B", "plate.A")
    spec.x, spec.y = 5, 2
    spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, w, h
    path = str(tmp_path / "dw.exr")
    out = oiio.ImageOutput.create(path)
    out.open(path, spec)
    out.write_image(np.ones((3, 4, 4), np.float32) * 0.5)
    out.close()
    rgb = read_rgb(path, layer="plate")
    assert rgb.shape == (h, w, 3)
    assert np.all(rgb[2:5, 5:9] == 0.5) and rgb.sum() == pytest.approx(0.5 * 3 * 4 * 3)
    with pytest.raises(InvalidInput, match="layers with channels: plate"):
        read_rgb(path)


def test_sequence_patterns_find_their_files(tmp_path):
    for f in (1001, 1002, 1004):
        write_exr(tmp_path / f"p.{f:04d}.exr", {"R": np.zeros((2, 2)), "G": np.zeros((2, 2)), "B": np.zeros((2, 2))})
    for pat in ("p.%04d.exr", "p.####.exr", "p.@@@@.exr", "p.#.exr"):
        sp = Sequence.parse(str(tmp_path / pat))
        assert sp.on_disk() == [1001, 1002, 1004]
        assert sp.path(7).endswith("p.0007.exr")
        assert read_rgb(sp.path(1004)).shape == (2, 2, 3)
    with pytest.raises(SequenceError, match="exactly one frame field"):
        Sequence.parse("plate.exr")
    with pytest.raises(SequenceError, match="exactly one frame field"):
        Sequence.parse("p.%04d.####.exr")


def test_unreadable_and_missing_files(tmp_path):
    bad = tmp_path / "bad.exr"
    bad.write_bytes(b"not an exr at all")
    with pytest.raises(InvalidInput, match="cannot read"):
        read_image(bad)
    with pytest.raises(InvalidInput, match="not found"):
        read_image(tmp_path / "nope.exr")
    with pytest.raises(InvalidInput, match="compression"):
        write_exr(tmp_path / "x.exr", {"A": np.zeros((2, 2))}, compression="lzma")


@pytest.mark.parametrize("pixel_type", ["half", "float"])
def test_one_pixel_type_is_written_as_that_type(tmp_path, pixel_type):
    from ftpvm_wire.exr_header import read_header

    path = tmp_path / "one.exr"
    write_exr(path, {"A": np.full((6, 9), 0.25, np.float32), "R": np.zeros((6, 9), np.float32)},
              pixel_type=pixel_type)
    assert {c.pixel_type for c in read_header(str(path)).channels} == {pixel_type}
    assert np.allclose(read_image(path).channel("A"), 0.25)
