import numpy as np
import torch

from ftpvm_core.imaging.foreground import box_blur, estimate_foreground
from ftpvm_core.synthetic import make_shot


def test_box_blur_matches_direct_mean():
    x = torch.rand(1, 2, 9, 11)
    r = 2
    out = box_blur(x, r)
    i, j = 4, 5
    np.testing.assert_allclose(out[0, :, i, j], x[0, :, i - r:i + r + 1, j - r:j + r + 1].mean((1, 2)), rtol=1e-5)
    np.testing.assert_allclose(out[0, :, 0, 0], x[0, :, :r + 1, :r + 1].mean((1, 2)), rtol=1e-5)  # edge


def test_blur_fusion_beats_naive_on_synthetic_composites():
    errs, naive = [], []
    for seed in (0, 1):
        s = make_shot(2, 96, 128, seed=seed)
        for t in range(2):
            image, alpha, truth = s.plates_linear[t], s.alpha[t], s.foreground[t]
            fg = estimate_foreground(image, alpha)
            w = alpha[..., None]
            errs.append(float((np.abs(fg * w - truth * w)).sum() / w.sum()))
            naive.append(float((np.abs(image * w - truth * w)).sum() / w.sum()))  # naive premultiplied: image*alpha
    assert np.mean(errs) < 0.6 * np.mean(naive), (np.mean(errs), np.mean(naive))
