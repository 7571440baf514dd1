import numpy as np

from ftpvm_core.synthetic import make_shot, srgb_encode


def test_deterministic_and_consistent():
    a, b = make_shot(3, 48, 64, seed=5), make_shot(3, 48, 64, seed=5)
    np.testing.assert_array_equal(a.plates_srgb, b.plates_srgb)
    assert not np.array_equal(a.alpha, make_shot(3, 48, 64, seed=6).alpha)
    comp = a.alpha[..., None] * a.foreground + (1 - a.alpha[..., None]) * a.background
    np.testing.assert_allclose(a.plates_linear, comp, atol=1e-6)
    np.testing.assert_allclose(a.plates_srgb, srgb_encode(a.plates_linear), atol=1e-6)
    soft = (a.alpha > 0.02) & (a.alpha < 0.98)
    assert soft.mean() > 0.01  # strands and soft edges exist
    assert np.all(a.trimaps[soft] == 0.5) and set(np.unique(a.trimaps)) == {0.0, 0.5, 1.0}
    assert not np.array_equal(a.alpha[0], a.alpha[2])  # it moves
