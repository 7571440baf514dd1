import numpy as np
import pytest

from ftpvm_core.errors import InvalidInput
from ftpvm_core.imaging.trimap import band_pixels, snap_trimap, trimap_from_inner_outer, trimap_from_mask


def _disk(h=64, w=80, r=16):
    yy, xx = np.mgrid[0:h, 0:w]
    return (((yy - 32) ** 2 + (xx - 40) ** 2) <= r * r).astype(np.float32)


def test_binary_roto_band_width():
    m = _disk()
    tri = trimap_from_mask(m, band=4)
    assert set(np.unique(tri)) == {0.0, 0.5, 1.0}
    row = tri[32]  # across the middle: bg | band | fg | band | bg
    unknown = np.flatnonzero(row == 0.5)
    assert 7 <= len(unknown) // 2 <= 9  # 4 px outside + 4 px inside the edge on each side
    assert tri[32, 40] == 1 and tri[0, 0] == 0


def test_soft_roto_edges_are_unknown_and_fraction_band():
    m = _disk()
    m[10:12, :] = 0.3  # a soft stripe far from the edge
    tri = trimap_from_mask(m, band=1)
    assert np.all(tri[10:12] == 0.5)
    assert band_pixels(0.05, 64, 80) == round(0.05 * np.hypot(64, 80))
    wide = trimap_from_mask(_disk(), band=0.1)
    assert (wide == 0.5).sum() > (trimap_from_mask(_disk(), band=2) == 0.5).sum()


def test_inner_outer():
    tri = trimap_from_inner_outer(_disk(r=8), _disk(r=20))
    assert tri[32, 40] == 1 and tri[32, 40 + 14] == 0.5 and tri[0, 0] == 0
    with pytest.raises(InvalidInput, match="inside the outer"):
        trimap_from_inner_outer(_disk(r=20), _disk(r=8))


def test_snap_trimap_tolerance():
    t = np.array([[0.02, 0.48, 0.97], [0, 0.5, 1]], np.float32)
    np.testing.assert_array_equal(snap_trimap(t), [[0, 0.5, 1], [0, 0.5, 1]])
    with pytest.raises(InvalidInput, match="not near 0, 0.5 or 1"):
        snap_trimap(np.array([[0, 0.3, 1]], np.float32))


@pytest.mark.parametrize("plane, kwargs, msg", [
    (np.zeros((64, 80)), {}, "empty"),
    (np.full((64, 80), np.nan), {}, "NaN"),
    (np.ones((10, 10)), {"size": (64, 80)}, "resize it to the plate"),
])
def test_mask_errors(plane, kwargs, msg):
    with pytest.raises(InvalidInput, match=msg):
        trimap_from_mask(plane, **kwargs)


def test_all_unknown_trimap_is_rejected():
    with pytest.raises(InvalidInput, match="all unknown"):
        snap_trimap(np.full((8, 8), 0.5))
    with pytest.raises(InvalidInput, match="no foreground"):
        snap_trimap(np.zeros((8, 8)))
