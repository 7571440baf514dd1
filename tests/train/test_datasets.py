"""Datasets in the real layouts, the sampler, trimaps and layout errors."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from train_trees import rle_of
from ftpvm_core.train.augment import structuring_element, trimap_from_alpha, warp
from ftpvm_core.train.data import ClipBatchSampler, build_datasets
from ftpvm_core.train.datasets.common import DatasetLayoutError, far_frame_indices
from ftpvm_core.train.datasets.youtubevis import _uncompress_counts, decode_rle
from ftpvm_core.train.flags import parse_flags
from ftpvm_core.train.schedule import Phase


def _flags(root, *extra):
    return parse_flags(["-i", "3", "--dataset-root", str(root), "--size", "64", "-s_img_mat", "3", "-s_vid_mat", "3",
                        "-s_seg", "2", *extra])


def test_every_phase_gives_clips_of_the_asked_shape(dataset_root):
    ds = build_datasets(_flags(dataset_root, "--use_background_dataset"), set(Phase))
    for phase, frames in [(Phase.IMAGE_MATTING, 3), (Phase.VIDEO_MATTING, 3), (Phase.SEGMENTATION, 2)]:
        dataset, _ = ds[phase]
        s = dataset[1]
        assert s["rgb"].shape == (frames, 3, 64, 64) and s["gt"].shape == (frames, 1, 64, 64)
        assert s["trimap"].shape == (frames, 1, 64, 64)
        assert set(s["trimap"].unique().tolist()) <= {0, 1, 2}
        assert 0 <= float(s["rgb"].min()) and float(s["rgb"].max()) <= 1
        again = dataset[1]
        assert all(torch.equal(s[k], again[k]) for k in s), "a sample must be a function of its key"
        other = dataset[1 + len(dataset)]  # same item, next epoch: new randomness
        assert not torch.equal(s["rgb"], other["rgb"])


def test_the_unknown_band_is_where_alpha_is_fractional(dataset_root):
    ds = build_datasets(_flags(dataset_root), {Phase.VIDEO_MATTING})[Phase.VIDEO_MATTING][0]
    s = ds[0]
    gt, tri = s["gt"].float(), s["trimap"]
    frac = (gt > 0.01) & (gt < 0.99)
    assert (tri[frac] == 1).all(), "every fractional alpha pixel is unknown"
    assert (gt[tri == 2] > 0.99).all() and (gt[tri == 0] < 0.01).all()


def test_trimap_by_hand():
    alpha = torch.zeros(1, 1, 9, 9)
    alpha[0, 0, 3:6, 3:6] = 1.0
    alpha[0, 0, 4, 4] = 1.0
    tri = trimap_from_alpha(alpha, structuring_element(3, 1))[0, 0]
    expected = torch.zeros(9, 9)
    expected[2:7, 2:7] = 0.5  # dilated by one pixel
    expected[4, 4] = 1.0  # eroded by one pixel
    assert torch.equal(tri, expected)
    # a foreground touching the frame edge is not eroded there
    edge = torch.zeros(1, 1, 6, 6)
    edge[..., :, :3] = 1
    t = trimap_from_alpha(edge, structuring_element(3, 1))[0, 0]
    assert (t[:, 0] == 1).all() and (t[:, 1] == 1).all() and (t[:, 2] == 0.5).all() and (t[:, 4] == 0).all()


def test_warp_with_identity_is_identity_and_translation_moves():
    x = torch.rand(2, 3, 16, 20)
    assert torch.allclose(warp(x, np.repeat(np.eye(3)[None], 2, 0)), x, atol=1e-5)
    m = np.repeat(np.array([[1.0, 0, 2], [0, 1, 0], [0, 0, 1]])[None], 2, 0)
    assert torch.allclose(warp(x, m)[..., 2:], x[..., :-2], atol=1e-5)


def test_far_frame_sampler_puts_the_memory_frame_first():
    rng = np.random.default_rng(0)
    for _ in range(20):
        f = far_frame_indices(5, rng)
        assert len(f) == 5
        neighbours = f[1:]
        gaps = np.diff(neighbours)
        assert (gaps >= 0).all() or (gaps <= 0).all(), "neighbours run one way"
        assert (np.abs(gaps) <= 5).all()
        assert (f[0] - f[1]) in [(f[1] - f[2]) * m for m in (1, 2, 4, 8, 16)]


def test_rle_decoding_by_hand():
    mask = np.array([[0, 1, 0], [0, 1, 1]], bool)  # column-major runs: 2 zeros, 2 ones, 1 zero, 1 one
    assert rle_of(mask)["counts"] == [2, 2, 1, 1]
    assert np.array_equal(decode_rle({"counts": [2, 2, 1, 1]}, 2, 3) > 0, mask)
    # compressed form of [2, 2, 1, 1]: each count < 16 is one character chr(48 + c) before the deltas start
    assert _uncompress_counts("2211") == [2, 2, 1, 1 + 2]  # the fourth count is a delta on counts[-2]
    assert _uncompress_counts("221O") == [2, 2, 1, 1]  # 'O' = 48 + 31: the 5-bit group of -1, a negative delta
    assert np.array_equal(decode_rle({"counts": "221O"}, 2, 3) > 0, mask)


def test_sampler_shards_add_up_to_the_single_process_batch_and_resume():
    one = ClipBatchSampler(10, 4, seed=3)
    two = [ClipBatchSampler(10, 4, rank=r, world_size=2, seed=3) for r in range(2)]
    for j in range(6):  # crosses epochs
        assert one.batch_keys(j) == two[0].batch_keys(j) + two[1].batch_keys(j)
    keys = [k % 10 for j in range(5) for k in one.batch_keys(j)]
    assert sorted(keys[:10]) == list(range(10)) and sorted(keys[10:20]) == list(range(10))
    it = iter(ClipBatchSampler(10, 4, seed=3, start_batch=3))
    assert next(it) == one.batch_keys(3)
    with pytest.raises(ValueError, match="divisible"):
        ClipBatchSampler(10, 3, world_size=2)


def test_missing_folders_name_the_folder_and_the_layout(tmp_path, dataset_root):
    root = tmp_path / "ds"
    shutil.copytree(dataset_root, root)
    shutil.rmtree(root / "VideoMatting108" / "FG_done" / "clip1")
    with pytest.raises(DatasetLayoutError) as e:
        build_datasets(_flags(root, "--iter_switch_dataset", "0"), {Phase.VIDEO_MATTING})
    msg = str(e.value)
    assert "FG_done/clip1" in msg and "folder not found" in msg and "train_videos.txt" in msg and "\n" not in msg
    (root / "YoutubeVIS" / "train" / "instances.json").write_text("{not json")
    with pytest.raises(DatasetLayoutError, match=r"instances.json: not YouTubeVIS annotations.*JPEGImages"):
        build_datasets(_flags(root), {Phase.SEGMENTATION})
    with pytest.raises(DatasetLayoutError, match=r"Distinctions646.*folder not found.*\{FG,GT\}"):
        build_datasets(_flags(tmp_path / "nowhere"), {Phase.IMAGE_MATTING})
