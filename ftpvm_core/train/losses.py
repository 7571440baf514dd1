"""Training losses of the original recipe, each reduced per clip to shape (B,).

Reducing per clip (then averaging clips) instead of over the whole batch means the loss of a batch split across
processes averages to the loss of the whole batch, so 1- and N-process runs take the same steps.
Images: (B, T, C, H, W); trimap logits have the classes (bg, unknown, fg).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ftpvm_core.train.flags import CELOSS_TYPES, TVLOSS_TYPES

EPS = 1e-5


def label_from_trimap(trimap: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """(B, T, 1, H, W) trimap in {0, 0.5, 1} -> (B, T, H, W) class labels 0 bg, 1 unknown, 2 fg."""
    label = (trimap >= eps).long() + (trimap >= 1 - eps).long()
    return label.squeeze(2)


def _per_clip_mean(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).mean(1)


def _per_clip_sum(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).sum(1)

# ---------------------------------------------------------------------------------------------- trimap classes


class TrimapClassLoss:
    """Focal loss (gamma 2 by default) or cross entropy on the trimap logits, optionally with class weights 1/3/1."""

    def __init__(self, kind: str = "focal"):
        if kind not in CELOSS_TYPES:
            raise ValueError(f"unknown --celoss_type {kind!r}; one of {', '.join(CELOSS_TYPES)}")
        self.focal = kind.startswith("focal")
        self.gamma = {"focal_gamma1": 1.0, "focal_gamma5": 5.0, "focal_gamma0.5": 0.5}.get(kind, 2.0)
        self.weighted = kind.endswith("_weight")

    def __call__(self, logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(logits.float(), dim=2)
        logpt = logp.gather(2, label.unsqueeze(2)).squeeze(2)  # (B, T, H, W)
        weight = torch.tensor([1.0, 3.0, 1.0], device=logits.device)[label] if self.weighted else None
        nll = -logpt if weight is None else -logpt * weight
        if self.focal:
            return _per_clip_mean((1 - logpt.exp()).clamp(min=0) ** self.gamma * nll)
        if weight is None:
            return _per_clip_mean(nll)
        return _per_clip_sum(nll) / _per_clip_sum(weight)

# ---------------------------------------------------------------------------------------------- alpha


def l1_masked(pred: torch.Tensor, true: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute error, over the pixels of ``mask`` when given."""
    diff = (pred - true).abs()
    if mask is None:
        return _per_clip_mean(diff)
    count = _per_clip_sum((mask > EPS).float()).clamp(EPS, diff[0].numel() + 1)
    return _per_clip_sum(diff * mask) / count


_GAUSS5 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
_GAUSS5 = (_GAUSS5[:, None] * _GAUSS5[None, :]) / 256


def _gauss(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    c = x.shape[1]
    k = (_GAUSS5 * scale).to(x).expand(c, 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k, groups=c)


def laplacian_pyramid(img: torch.Tensor, levels: int = 5) -> list[torch.Tensor]:
    """Band-pass levels of (N, C, H, W): 5x5 binomial blur, decimate, zero-interleave, blur x4, subtract.

    Stops early on images too small for another level (under 3 pixels)."""
    pyramid, current = [], img
    for _ in range(levels):
        if min(current.shape[-2:]) < 3:
            break
        down = _gauss(current)[..., ::2, ::2]
        up = torch.zeros(*down.shape[:2], down.shape[2] * 2, down.shape[3] * 2, dtype=down.dtype, device=down.device)
        up[..., ::2, ::2] = down
        up = _gauss(up, 4.0)[..., :current.shape[-2], :current.shape[-1]]
        pyramid.append(current - up)
        current = down
    return pyramid


def laplacian_loss(pred: torch.Tensor, true: torch.Tensor, levels: int = 5) -> torch.Tensor:
    """Sum over levels of 2^level x L1 between Laplacian pyramids, divided by the clip's pixel count."""
    b = pred.shape[0]
    p, t = pred.flatten(0, 1), true.flatten(0, 1)
    total = pred.new_zeros(b)
    for level, (lp, lt) in enumerate(zip(laplacian_pyramid(p, levels), laplacian_pyramid(t, levels))):
        total = total + (2 ** level) * (lp - lt).abs().reshape(b, -1).sum(1)
    return total / pred[0].numel()


def coherence_loss(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """MSE between the frame-to-frame changes of prediction and truth."""
    return _per_clip_mean(((pred[:, 1:] - pred[:, :-1]) - (true[:, 1:] - true[:, :-1])) ** 2)


def gradient_loss(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """L1 between the horizontal and vertical finite differences of prediction and truth."""
    dx = lambda a: a[..., :, 1:] - a[..., :, :-1]  # noqa: E731
    dy = lambda a: a[..., 1:, :] - a[..., :-1, :]  # noqa: E731
    return _per_clip_mean((dx(pred) - dx(true)).abs()) + _per_clip_mean((dy(pred) - dy(true)).abs())

# ---------------------------------------------------------------------------------------------- consistency


def _dilate_cross(mask: torch.Tensor) -> torch.Tensor:
    """Binary dilation of the last two dims by a 3x3 cross."""
    m = mask.float()
    out = m.clone()
    out[..., 1:, :] = torch.maximum(out[..., 1:, :], m[..., :-1, :])
    out[..., :-1, :] = torch.maximum(out[..., :-1, :], m[..., 1:, :])
    out[..., :, 1:] = torch.maximum(out[..., :, 1:], m[..., :, :-1])
    out[..., :, :-1] = torch.maximum(out[..., :, :-1], m[..., :, 1:])
    return out


def away_from_changes(changed: torch.Tensor) -> torch.Tensor:
    """1 where the ground truth does not change within two cross-steps, else 0 (float)."""
    return (_dilate_cross(_dilate_cross(changed)) < EPS).float()


def _pairs(x: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    n = x.shape[dim]
    return x.narrow(dim, 0, n - 1), x.narrow(dim, 1, n - 1)


@dataclass(frozen=True)
class _Variant:
    axes: tuple[str, ...]           # of "t", "h", "w"
    classes: str                    # "true": the true class's probability only; "all": every class
    weighting: str                  # "mask", "mean" or "class"
    square: bool = False
    true_w: float = 0.5
    other_w: float = 0.25


_VARIANTS = {
    "temp_seg": _Variant(("t",), "true", "mean"),
    "temp_seg_allclass": _Variant(("t",), "all", "mask"),
    "temp_seg_allclass_mean": _Variant(("t",), "all", "mean"),
    "temp_seg_allclass_weight": _Variant(("t",), "all", "class"),
    "temp_seg_allclass_weight_0.33": _Variant(("t",), "all", "class", true_w=0.33, other_w=0.33),
    "temp_seg_allclass_weight_0.8": _Variant(("t",), "all", "class", true_w=0.8, other_w=0.1),
    "temp_seg_allclass_weight_l2": _Variant(("t",), "all", "class", square=True),
    "3d_seg": _Variant(("t", "h", "w"), "true", "mask"),
    "3d_seg_allclass": _Variant(("t", "h", "w"), "all", "mask"),
    "3d_seg_allclass_mean": _Variant(("t", "h", "w"), "all", "mean"),
    "3d_seg_allclass_weight": _Variant(("t", "h", "w"), "all", "class"),
}


class ConsistencyLoss:
    """Segmentation consistency (``--tvloss_type``) on sigmoid class probabilities.

    The ``*_seg*`` variants penalise a change of predicted probability between neighbours (in time, and in space
    for ``3d_*``) where the ground truth does not change nearby and at least one of the two predictions is right;
    the ``*tv`` variants are plain total variation."""

    def __init__(self, kind: str = "3d_seg"):
        if kind not in TVLOSS_TYPES:
            raise ValueError(f"unknown --tvloss_type {kind!r}; one of {', '.join(TVLOSS_TYPES)}")
        self.kind = kind

    def __call__(self, logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        prob = torch.sigmoid(logits.float())
        k = self.kind
        if k == "disabled":
            return prob.new_zeros(prob.shape[0])
        if k in ("2dtv", "3dtv", "2dtv+temp_seg"):
            total = self._tv(prob, 3) + self._tv(prob, 4)
            if k == "3dtv":
                total = total + self._tv(prob, 1)
            if k == "2dtv+temp_seg":
                total = total + self._inconsistency(prob, label, _VARIANTS["temp_seg"])
            return total
        return self._inconsistency(prob, label, _VARIANTS[k])

    @staticmethod
    def _tv(prob: torch.Tensor, dim: int) -> torch.Tensor:
        a, b = _pairs(prob, dim)
        return _per_clip_mean((a - b).abs())

    @staticmethod
    def _inconsistency(prob: torch.Tensor, label: torch.Tensor, v: _Variant) -> torch.Tensor:
        right = prob.argmax(2) == label
        total = prob.new_zeros(prob.shape[0])
        for axis in v.axes:
            ldim = {"t": 1, "h": 2, "w": 3}[axis]
            r0, r1 = _pairs(right, ldim)
            l0, l1 = _pairs(label, ldim)
            p0, p1 = _pairs(prob, ldim if axis == "t" else ldim + 1)
            mask = (r0 | r1).float() * away_from_changes(l0 != l1)  # (B, T', H', W')
            diff = (p0 - p1) ** 2 if v.square else (p0 - p1).abs()  # (B, T', 3, H', W')
            if v.classes == "true":
                d = diff.gather(2, l0.unsqueeze(2)).squeeze(2)
                term = _per_clip_mean(d * mask) if v.weighting == "mean" else \
                    _per_clip_sum(d * mask) / (_per_clip_sum(mask) + EPS)
            elif v.weighting == "mean":
                term = _per_clip_mean(diff * mask.unsqueeze(2))
            elif v.weighting == "mask":
                term = _per_clip_sum(diff * mask.unsqueeze(2)) / (_per_clip_sum(mask) * diff.shape[2] + EPS)
            else:
                onehot = F.one_hot(l0, 3).permute(0, 1, 4, 2, 3).float()
                w = (onehot * (v.true_w - v.other_w) + v.other_w) * mask.unsqueeze(2)
                term = _per_clip_sum(diff * w) / (_per_clip_sum(w) + EPS)
            total = total + term
        return total

# ---------------------------------------------------------------------------------------------- memory read-out


def class_fractions(trimap: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, T, 1, H, W) trimap -> (B, T, 3, h, w): the share of bg / unknown / fg pixels in each cell of ``size``."""
    onehot = F.one_hot(label_from_trimap(trimap), 3).permute(0, 1, 4, 2, 3).float()
    b, t = onehot.shape[:2]
    return F.adaptive_avg_pool2d(onehot.flatten(0, 1), size).view(b, t, 3, *size)


def readout_loss(affinity: torch.Tensor, mem_trimap: torch.Tensor, query_trimap: torch.Tensor,
                 size: tuple[int, int]) -> torch.Tensor:
    """L1 between the memory's trimap classes read through the affinity and each query frame's own (B,).

    ``affinity`` (B, Nm, Nq) is the memory reader's softmax over memory positions for the query frames' cells of
    ``size`` (the 1/16 feature grid); ``mem_trimap`` (B, Tm, 1, H, W) and ``query_trimap`` (B, Tq, 1, H, W) are at
    the network's input size. A key that matches by position alone reads the keyframe's classes where the object
    *was*; one that matches by appearance reads them where it *is*, which is what the query's own trimap says.
    """
    mem = class_fractions(mem_trimap, size).transpose(1, 2).flatten(2)  # (B, 3, Nm)
    true = class_fractions(query_trimap, size).transpose(1, 2).flatten(2)  # (B, 3, Nq)
    if mem.shape[2] != affinity.shape[1] or true.shape[2] != affinity.shape[2]:
        raise ValueError(f"affinity {tuple(affinity.shape)} does not match {mem.shape[2]} memory and "
                         f"{true.shape[2]} query cells of {size}")
    read = torch.bmm(mem, affinity.float())
    return _per_clip_mean((read - true).abs())

# ---------------------------------------------------------------------------------------------- the whole loss


@dataclass(frozen=True)
class LossWeights:
    celoss_type: str = "focal"
    tvloss_type: str = "3d_seg"
    lambda_segtv: float = 10.0
    start_segtv: int = -1
    lambda_tc: float = 5.0
    lambda_grad: float = 0.0


class FTPVMLoss:
    """The original's loss terms for a matting iteration and for a segmentation iteration."""

    def __init__(self, w: LossWeights):
        self.w = w
        self.ce = TrimapClassLoss(w.celoss_type)
        self.consistency = ConsistencyLoss(w.tvloss_type)

    def _trimap_terms(self, logits: torch.Tensor, label: torch.Tensor, it: int) -> dict[str, torch.Tensor]:
        out = {"trimap_ce": self.ce(logits, label)}
        if it >= self.w.start_segtv and self.w.tvloss_type != "disabled":
            out["trimap_consistency"] = self.consistency(logits, label) * self.w.lambda_segtv
        return out

    def _alpha_terms(self, prefix: str, pred: torch.Tensor, true: torch.Tensor,
                     mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        pred = pred.float()
        out = {f"{prefix}_l1": l1_masked(pred, true, mask)}
        if mask is not None:
            pred, true = pred * mask, true * mask
        out[f"{prefix}_laplacian"] = laplacian_loss(pred, true)
        out[f"{prefix}_coherence"] = coherence_loss(pred, true) * self.w.lambda_tc
        if self.w.lambda_grad > 0:
            out[f"{prefix}_gradient"] = gradient_loss(pred, true) * self.w.lambda_grad
        return out

    def matting(self, logits: torch.Tensor, boundary: torch.Tensor, full: torch.Tensor, gt: torch.Tensor,
                trimap: torch.Tensor, it: int) -> dict[str, torch.Tensor]:
        """Per-clip terms plus ``total`` (B,): trimap classes, boundary matte inside the unknown band, full matte."""
        label = label_from_trimap(trimap)
        out = self._trimap_terms(logits, label, it)
        out.update(self._alpha_terms("boundary", boundary, gt, (label == 1).unsqueeze(2).float()))
        out.update(self._alpha_terms("full", full, gt))
        out["total"] = sum(out.values())
        return out

    def segmentation(self, logits: torch.Tensor, trimap: torch.Tensor, it: int) -> dict[str, torch.Tensor]:
        """Per-clip terms plus ``total`` (B,) of a segmentation iteration."""
        out = self._trimap_terms(logits, label_from_trimap(trimap), it)
        out["total"] = sum(out.values())
        return out
