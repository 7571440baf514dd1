"""Metrics against hand-computed values on tiny arrays."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ftpvm_core.evaluate import metrics as M


def test_mad_and_mse_by_hand():
    pred = np.array([[0.0, 0.5], [1.0, 1.0]])
    true = np.array([[0.0, 0.0], [1.0, 0.5]])
    assert M.mad(pred, true) == pytest.approx(250.0)  # mean |d| = (0.5 + 0.5) / 4, x1e3
    assert M.mse(pred, true) == pytest.approx(125.0)  # mean d^2 = (0.25 + 0.25) / 4, x1e3
    region = np.array([[False, True], [False, False]])
    assert M.mad(pred, true, region) == pytest.approx(500.0) and M.mse(pred, true, region) == pytest.approx(250.0)
    assert math.isnan(M.mad(pred, true, np.zeros((2, 2), bool)))


def test_dtssd_by_hand():
    true_prev, true_now = np.zeros((2, 2)), np.zeros((2, 2))
    pred_prev = np.zeros((2, 2))
    pred_now = np.array([[0.2, 0.0], [0.0, 0.0]])  # one pixel flickers by 0.2
    assert M.dtssd(pred_now, pred_prev, true_now, true_prev) == pytest.approx(math.sqrt(0.04 / 4) * 100)
    # the same change in truth and prediction is no error
    assert M.dtssd(pred_now, pred_prev, pred_now, pred_prev) == 0


def test_gradient_filters_and_grad_of_an_impulse():
    fx, fy = M.gaussian_derivative_filters(1.4)
    assert fx.shape == (9, 9) and np.allclose(fy, fx.T)
    assert (fx ** 2).sum() == pytest.approx(1.0) and np.allclose(fx.sum(axis=1), 0)  # unit norm, odd in x
    pred, true = np.zeros((11, 11)), np.zeros((11, 11))
    pred[5, 5] = 1.0
    # |G(pred)|^2 summed over pixels is the squared norm of both filters (1 + 1), truth is flat; /1e3
    assert M.grad(pred, true) == pytest.approx(2 / 1000, rel=1e-5)
    assert M.grad(pred, pred) == 0


def test_conn_by_hand():
    true = np.ones((3, 3))
    pred = np.ones((3, 3))
    pred[1, 1] = 0.0
    # the hole's level drops to 0 at the first threshold: phi_true = 1 - 1 = 0, phi_pred = 1 - 0 = 1 there
    assert M.conn(pred, true) == pytest.approx(1 / 1000)
    assert M.conn(true, true) == 0
    # half-grey prediction over a half-white truth (worked out in tests/evaluate/test_eval_run.py too)
    t = np.zeros((4, 4))
    t[:, :2] = 1
    assert M.conn(np.full((4, 4), 0.5), t) == pytest.approx(16 * 0.5 / 1000)


def test_connected_components_match_scipy_and_pick_the_largest():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(0)
    for _ in range(5):
        m = rng.random((23, 31)) > 0.45
        ours = M.connected_components(m)
        ref, n = ndimage.label(m)
        assert len(np.unique(ours[m])) == n
        for lab in np.unique(ours[m]):  # each of our components is exactly one of SciPy's
            assert len(np.unique(ref[ours == lab])) == 1
    m = np.zeros((5, 7), bool)
    m[0, :3] = True  # 3 pixels
    m[2:5, 4:7] = True  # 9 pixels
    m[4, 0] = True
    big = M.largest_component(m)
    assert big.sum() == 9 and big[3, 5] and not big[0, 0]


def test_frame_metrics_regions_and_first_frame():
    pred, true = np.full((4, 4), 0.5), np.zeros((4, 4))
    tri = np.zeros((4, 4))
    tri[:, 1] = 0.5
    first = M.frame_metrics(pred, true, tri, None)
    assert math.isnan(first["dtSSD"]) and math.isnan(first["dtSSD_unknown"])
    assert first["MAD_unknown"] == pytest.approx(500.0)
    second = M.frame_metrics(pred, true, tri, (pred, true, tri))
    assert second["dtSSD"] == 0 and second["dtSSD_unknown"] == 0


def test_plot_draws_one_coloured_line_per_clip():
    from ftpvm_core.evaluate.report import PALETTE, render_plot
    from ftpvm_core.evaluate.runner import ClipResult

    clips = [ClipResult("a", [{"MAD": v} for v in (1.0, 2.0, 3.0)]), ClipResult("b", [{"MAD": 0.5}, {"MAD": 0.5}])]
    img = render_plot(clips, "MAD", size=(200, 100))
    assert img.shape == (100, 200, 3)
    for colour in PALETTE[:2]:
        assert (img == colour).all(axis=2).sum() > 20
    assert not (img == PALETTE[2]).all(axis=2).any()
