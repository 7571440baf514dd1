import numpy as np
import pytest

from ftpvm_core.engine.settings import ShotSettings
from ftpvm_core.errors import InvalidInput
from ftpvm_core.imaging.trimap import (band_pixels, keyframe_trimap, snap_trimap, trimap_from_inner_outer,
                                       trimap_from_outer)

DEFAULTS = ShotSettings()
RULES = dict(band=DEFAULTS.roto_band, tolerance=DEFAULTS.trimap_tolerance, combine=DEFAULTS.roto_combine)


def _disk(h=64, w=80, r=16, cx=40):
    yy, xx = np.mgrid[0:h, 0:w]
    return (((yy - 32) ** 2 + (xx - cx) ** 2) <= r * r).astype(np.float32)


def test_binary_roto_band_width():
    m = _disk()
    tri = trimap_from_outer(m, band=4)
    assert set(np.unique(tri)) == {0.0, 0.5, 1.0}
    row = tri[32]  # across the middle: bg | band | fg | band | bg
    unknown = np.flatnonzero(row == 0.5)
    assert 7 <= len(unknown) // 2 <= 9  # 4 px outside + 4 px inside the edge on each side
    assert tri[32, 40] == 1 and tri[0, 0] == 0


def test_soft_roto_edges_are_unknown_and_fraction_band():
    m = _disk()
    m[10:12, :] = 0.3  # a soft stripe far from the edge
    tri = trimap_from_outer(m, band=1)
    assert np.all(tri[10:12] == 0.5)
    assert band_pixels(0.05, 64, 80) == round(0.05 * np.hypot(64, 80))
    wide = trimap_from_outer(_disk(), band=0.1)
    assert (wide == 0.5).sum() > (trimap_from_outer(_disk(), band=2) == 0.5).sum()


def test_inner_outer():
    tri = trimap_from_inner_outer(_disk(r=8), _disk(r=20), "union")
    assert tri[32, 40] == 1 and tri[32, 40 + 14] == 0.5 and tri[0, 0] == 0


# The rule table for an inner matte that lies partly outside the outer one: a core disk at x=60 (r=8) and an outer
# disk at x=35 (r=20); pixel (32, 66) is inside the core only, (32, 54) inside both, (32, 30) inside the outer only.
@pytest.mark.parametrize("combine, core_only, both, outer_only, far", [
    ("union", 1.0, 1.0, 0.5, 0.0),   # the core is foreground wherever it is drawn
    ("clip", 0.0, 1.0, 0.5, 0.0),    # the outer matte bounds the core
])
def test_inner_outside_outer_rule_table(combine, core_only, both, outer_only, far):
    tri = trimap_from_inner_outer(_disk(r=8, cx=60), _disk(r=20, cx=35), combine)
    assert (tri[32, 66], tri[32, 54], tri[32, 30], tri[0, 79]) == (core_only, both, outer_only, far)


def test_inner_outside_outer_follows_the_shot_setting_by_default():
    """The schema's default (union) is what a keyframe gets; the old engine refused this input."""
    tri, source = keyframe_trimap(outer=_disk(r=8), inner=_disk(r=20), **RULES)
    assert source == "inner_outer" and tri[32, 40 + 18] == 1.0


def test_soft_inner_and_outer_edges_are_unknown():
    inner, outer = _disk(r=8) * 0.6, _disk(r=20) * 0.3
    inner[30:35, 38:43] = 1.0
    tri = trimap_from_inner_outer(inner, outer, "union")
    assert tri[32, 40] == 1.0 and tri[32, 46] == 0.5 and tri[32, 56] == 0.5 and tri[0, 0] == 0.0


def test_clip_with_the_core_wholly_outside_is_refused():
    with pytest.raises(InvalidInput, match="no solid core inside the outer"):
        trimap_from_inner_outer(_disk(r=6, cx=70), _disk(r=10, cx=15), "clip")


@pytest.mark.parametrize("value, tolerance, expected", [
    (0.02, 0.1, 0.0), (0.48, 0.1, 0.5), (0.97, 0.1, 1.0), (1.05, 0.1, 1.0),
    (0.2, 0.25, 0.0), (0.3, 0.25, 0.5), (0.74, 0.25, 0.5), (0.76, 0.25, 1.0),
])
def test_snapping_table(value, tolerance, expected):
    t = np.array([[0, 0.5, 1, value]], np.float32)
    assert snap_trimap(t, tolerance)[0, 3] == expected


@pytest.mark.parametrize("value, tolerance", [(0.3, 0.1), (0.2, 0.1), (0.75 + 0.01, 0.2)])
def test_snapping_refuses_values_beyond_the_tolerance(value, tolerance):
    with pytest.raises(InvalidInput, match=f"not within {tolerance:g} of 0, 0.5 or 1"):
        snap_trimap(np.array([[0, 0.5, 1, value]], np.float32), tolerance)


def test_one_default_tolerance_for_every_host():
    """0.3 (Blender used to snap it to unknown) is refused with the schema's default tolerance."""
    with pytest.raises(InvalidInput, match="trimap_tolerance"):
        keyframe_trimap(trimap=np.array([[0, 0.3, 1]], np.float32), **RULES)


@pytest.mark.parametrize("plane, kwargs, msg", [
    (np.zeros((64, 80)), {}, "empty"),
    (np.full((64, 80), np.nan), {}, "NaN"),
    (np.ones((10, 10)), {"size": (64, 80)}, "resize it to the plate"),
    (np.full((64, 80), 1.5), {}, r"in \[0, 1\]"),
])
def test_mask_errors(plane, kwargs, msg):
    with pytest.raises(InvalidInput, match=msg):
        trimap_from_outer(plane, band=10, **kwargs)


@pytest.mark.parametrize("kwargs, msg", [
    ({}, "exactly one"),
    ({"trimap": np.zeros((8, 8)), "outer": np.zeros((8, 8))}, "exactly one"),
    ({"inner": np.zeros((8, 8))}, "exactly one"),
    ({"trimap": np.zeros((8, 8)), "inner": np.zeros((8, 8))}, "not with a ready trimap"),
])
def test_keyframe_guides_must_be_one_kind(kwargs, msg):
    with pytest.raises(InvalidInput, match=msg):
        keyframe_trimap(**kwargs, **RULES)


def test_all_unknown_trimap_is_rejected():
    with pytest.raises(InvalidInput, match="all unknown"):
        snap_trimap(np.full((8, 8), 0.5), 0.1)
    with pytest.raises(InvalidInput, match="no foreground"):
        snap_trimap(np.zeros((8, 8)), 0.1)
