"""Shape handling and structural properties of the network (independent of the golden files)."""
from __future__ import annotations

import pytest
import torch

from ftpvm_core.model.ftpvm import crop_padding, pad_to_multiple


def _clip(g, b, t, h, w):
    return torch.rand(b, t, 3, h, w, generator=g)


def _trimap(b, t, h, w):
    tri = torch.zeros(b, t, 1, h, w)
    tri[..., h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 0.5
    tri[..., 3 * h // 8: 5 * h // 8, 3 * w // 8: 5 * w // 8] = 1.0
    return tri


@pytest.mark.parametrize("h,w", [(64, 96), (50, 70), (33, 129)])
def test_any_frame_size_gives_outputs_of_that_size(model, h, w):
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        seg, mat, full, rec = model(_clip(g, 1, 2, h, w), _clip(g, 1, 1, h, w), _trimap(1, 1, h, w))
    assert seg.shape == (1, 2, 3, h, w) and mat.shape == (1, 2, 1, h, w) and full.shape == (1, 2, 1, h, w)
    assert torch.isfinite(full).all()


def test_padding_round_trip():
    x = torch.arange(2 * 3 * 33 * 50, dtype=torch.float32).view(2, 3, 33, 50)
    padded, pad = pad_to_multiple(x)
    assert padded.shape[-2:] == (48, 64)
    assert torch.equal(crop_padding(padded, pad), x)


def test_batch_items_are_independent(model):
    g = torch.Generator().manual_seed(1)
    q, m = _clip(g, 2, 2, 64, 64), _clip(g, 2, 1, 64, 64)
    tri = _trimap(2, 1, 64, 64)
    with torch.no_grad():
        both = model(q, m, tri)
        one = model(q[1:], m[1:], tri[1:])
    for a, b in zip(both[:3], one[:3]):
        assert torch.allclose(a[1:], b, rtol=1e-5, atol=1e-4)


def test_clip_equals_frame_by_frame_with_carried_state(model):
    g = torch.Generator().manual_seed(2)
    q, m, tri = _clip(g, 1, 3, 64, 80), _clip(g, 1, 1, 64, 80), _trimap(1, 1, 64, 80)
    with torch.no_grad():
        seg, mat, full, _ = model(q, m, tri)
        kv = model.encode_imgs_to_value(m, tri)
        rec = [None, None]
        for t in range(3):
            s_t, m_t, f_t, rec = model.forward_with_memory(q[:, t:t + 1], *kv, *rec)
            assert torch.allclose(m_t, mat[:, t:t + 1], atol=1e-4)
            # float32 rounding grows with the logits' magnitude (10-20 here), and differs between CPUs:
            # the tolerance scales with the largest value, and stays 1e-4 for values below 1
            ref = seg[:, t:t + 1]
            assert (s_t - ref).abs().max().item() <= 1e-4 * max(1.0, ref.abs().max().item())


def test_several_memory_frames_concatenate(model):
    """Memory of two keyframes encoded separately and concatenated == encoded together."""
    g = torch.Generator().manual_seed(3)
    m, tri = _clip(g, 1, 2, 64, 64), _trimap(1, 2, 64, 64)
    q = _clip(g, 1, 1, 64, 64)
    with torch.no_grad():
        f_all, v_all = model.encode_imgs_to_value(m, tri)
        parts = [model.encode_imgs_to_value(m[:, i:i + 1], tri[:, i:i + 1]) for i in range(2)]
        f_cat = torch.cat([p[0] for p in parts], dim=1)
        v_cat = torch.cat([p[1] for p in parts], dim=2)
        assert torch.allclose(f_all, f_cat, rtol=1e-5, atol=1e-4) and torch.allclose(v_all, v_cat, rtol=1e-5, atol=1e-4)
        a = model.forward_with_memory(q, f_all, v_all)
        b = model(q, m, tri)
    assert torch.allclose(a[1], b[1], atol=1e-4)


def test_replace_given_seg_uses_the_given_trimap_on_the_keyframe(model):
    g = torch.Generator().manual_seed(4)
    m, tri = _clip(g, 1, 1, 64, 64), _trimap(1, 1, 64, 64)
    with torch.no_grad():
        seg, mat, full, _ = model(m, m, tri, replace_given_seg=True)
    fg = tri[0, 0, 0] == 1
    bg = tri[0, 0, 0] == 0
    assert torch.all(full[0, 0, 0][fg] == 1) and torch.all(full[0, 0, 0][bg] == 0)
    unknown = ~(fg | bg)
    assert torch.allclose(full[0, 0, 0][unknown], mat[0, 0, 0][unknown])


def test_downsample_path_returns_full_size_matte(model):
    g = torch.Generator().manual_seed(5)
    q, m, tri = _clip(g, 1, 1, 90, 150), _clip(g, 1, 1, 90, 150), _trimap(1, 1, 90, 150)
    with torch.no_grad():
        seg, mat, full, _ = model(q, m, tri, downsample_ratio=0.5)
    assert full.shape == (1, 1, 1, 90, 150)
    assert seg.shape[-2:] == mat.shape[-2:] == (48, 80)  # working size, padded to 16


def test_segmentation_pass_returns_trimap_and_state(model):
    g = torch.Generator().manual_seed(6)
    q, m, tri = _clip(g, 1, 2, 64, 64), _clip(g, 1, 1, 64, 64), _trimap(1, 1, 64, 64)
    with torch.no_grad():
        out = model(q, m, tri, segmentation_pass=True)
        full = model(q, m, tri)
    assert len(out) == 2 and out[0].shape == (1, 2, 3, 64, 64) and len(out[1]) == 2
    assert torch.allclose(out[0], full[0], atol=1e-6)
