"""Loss terms against hand-computed values."""
from __future__ import annotations

import math

import pytest
import torch

from ftpvm_core.train.losses import (ConsistencyLoss, FTPVMLoss, LossWeights, TrimapClassLoss, class_fractions,
                                     l1_masked, label_from_trimap, laplacian_loss, readout_loss)


def test_trimap_labels():
    tri = torch.tensor([0.0, 0.5, 1.0, 0.5]).view(1, 1, 1, 2, 2)
    assert label_from_trimap(tri).view(-1).tolist() == [0, 1, 2, 1]


def test_focal_and_cross_entropy_by_hand():
    logits = torch.zeros(1, 1, 3, 1, 2)
    logits[0, 0, :, 0, 1] = torch.tensor([math.log(2.0), 0.0, 0.0])  # p = (1/2, 1/4, 1/4)
    label = torch.tensor([[[[2, 0]]]])
    ce = (math.log(3) + math.log(2)) / 2
    focal = ((2 / 3) ** 2 * math.log(3) + (1 / 2) ** 2 * math.log(2)) / 2
    assert TrimapClassLoss("normal")(logits, label).item() == pytest_approx(ce)
    assert TrimapClassLoss("focal")(logits, label).item() == pytest_approx(focal)


def pytest_approx(v):
    import pytest

    return pytest.approx(v, rel=1e-5)


def test_masked_l1_counts_only_the_mask():
    pred, true = torch.zeros(1, 1, 1, 2, 2), torch.tensor([1.0, 0.5, 0.25, 0.0]).view(1, 1, 1, 2, 2)
    mask = torch.tensor([1.0, 1.0, 0.0, 0.0]).view(1, 1, 1, 2, 2)
    assert l1_masked(pred, true).item() == pytest_approx(1.75 / 4)
    assert l1_masked(pred, true, mask).item() == pytest_approx(1.5 / 2)


def test_laplacian_is_zero_for_equal_and_grows_with_error():
    a = torch.rand(2, 2, 1, 32, 32)
    assert laplacian_loss(a, a).abs().max().item() == 0
    small = laplacian_loss(a + 0.01 * torch.randn_like(a), a)
    big = laplacian_loss(a + 0.1 * torch.randn_like(a), a)
    assert (small > 0).all() and (big > small).all()


def test_class_weighted_temporal_consistency_by_hand():
    # two frames, ground truth all foreground: only a flicker of the prediction counts
    logits = torch.full((1, 2, 3, 8, 8), -4.0)
    logits[:, :, 2] = 4.0
    logits[0, 1, :, 3, 3] = torch.tensor([1.0, -1.0, 2.0])  # still foreground, but flickered
    label = torch.full((1, 2, 8, 8), 2)
    p0 = torch.sigmoid(torch.tensor([-4.0, -4.0, 4.0]))
    p1 = torch.sigmoid(torch.tensor([1.0, -1.0, 2.0]))
    d = (p0 - p1).abs()
    expected = (0.25 * d[0] + 0.25 * d[1] + 0.5 * d[2]) / 64  # every pixel's weights sum to 1
    got = ConsistencyLoss("temp_seg_allclass_weight")(logits, label)
    assert got.item() == pytest_approx(expected.item())
    # a change of the ground truth next to the flicker excuses it
    label[0, 1, 3, 4] = 1
    assert ConsistencyLoss("temp_seg_allclass_weight")(logits, label).item() < 1e-6
    steady = torch.full((1, 2, 3, 8, 8), -4.0)
    steady[:, :, 2] = 4.0
    for kind in ("temp_seg", "3d_seg", "3d_seg_allclass_weight", "temp_seg_allclass_weight_l2"):
        assert ConsistencyLoss(kind)(steady, torch.full((1, 2, 8, 8), 2)).item() == 0


def test_losses_are_per_clip_so_a_split_batch_averages_to_the_whole():
    torch.manual_seed(0)
    b, t, h, w = 4, 2, 32, 32
    logits, boundary, full = torch.randn(b, t, 3, h, w), torch.rand(b, t, 1, h, w), torch.rand(b, t, 1, h, w)
    gt = torch.rand(b, t, 1, h, w)
    tri = label_from_trimap(torch.rand(b, t, 1, h, w)).unsqueeze(2).float() / 2
    loss = FTPVMLoss(LossWeights(tvloss_type="3d_seg_allclass_weight", lambda_grad=1.0))
    whole = loss.matting(logits, boundary, full, gt, tri, 0)["total"]
    halves = torch.cat([loss.matting(logits[s], boundary[s], full[s], gt[s], tri[s], 0)["total"]
                        for s in (slice(0, 2), slice(2, 4))])
    assert torch.allclose(whole, halves, atol=1e-6)
    terms = loss.matting(logits, boundary, full, gt, tri, 0)
    assert {"trimap_ce", "trimap_consistency", "boundary_l1", "boundary_laplacian", "boundary_coherence",
            "full_l1", "full_laplacian", "full_coherence", "full_gradient"} <= set(terms)
    no_tv = FTPVMLoss(LossWeights(start_segtv=10)).matting(logits, boundary, full, gt, tri, 5)
    assert "trimap_consistency" not in no_tv


def test_class_fractions_share_of_each_class_per_cell():
    tri = torch.tensor([[0.0, 0.5, 1.0, 1.0], [0.0, 0.0, 1.0, 0.5]]).view(1, 1, 1, 2, 4)
    frac = class_fractions(tri, (1, 2))[0, 0]
    assert frac[:, 0, 0].tolist() == [0.75, 0.25, 0.0] and frac[:, 0, 1].tolist() == [0.0, 0.25, 0.75]


def test_readout_loss_rewards_matching_where_the_object_is_not_where_it_was():
    """Memory: fg in the left cell; query: it moved to the right cell. Matching by position reads bg there."""
    mem = torch.tensor([1.0, 1.0, 0.0, 0.0]).view(1, 1, 1, 1, 4)
    query = torch.tensor([0.0, 0.0, 1.0, 1.0]).view(1, 1, 1, 1, 4)
    by_position = torch.eye(2)[None]  # affinity (B, Nm, Nq): query cell j reads memory cell j
    by_appearance = torch.tensor([[0.0, 1.0], [1.0, 0.0]])[None]
    assert readout_loss(by_appearance, mem, query, (1, 2)).tolist() == [0.0]
    # each query cell reads the wrong one-hot: |1-0| twice of 3 classes, for both cells
    assert readout_loss(by_position, mem, query, (1, 2)).item() == pytest_approx(2 / 3)
    uniform = torch.full((1, 2, 2), 0.5)
    assert readout_loss(uniform, mem, query, (1, 2)).item() == pytest_approx(1 / 3)
    with pytest.raises(ValueError, match="does not match"):
        readout_loss(torch.full((1, 3, 2), 1 / 3), mem, query, (1, 2))
