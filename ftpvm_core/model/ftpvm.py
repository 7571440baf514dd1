"""FTP-VM: End-to-End Video Matting With Trimap Propagation (Huang & Lee, CVPR 2023).

Reading order follows the paper's figure:

1. a shared MobileNetV3 encoder extracts 4 feature levels of query and memory frames;
2. memory frames and their trimaps are fused into memory *values* at 1/16
   (:class:`TrimapGatedFusion`);
3. query keys attend to memory keys and the read values are fused into the query's bottleneck
   (:class:`BottleneckFusion`);
4. a recurrent segmentation decoder predicts the propagated trimap at 1/4;
5. a recurrent matting decoder predicts the boundary matte at full (working) resolution;
6. trimap and boundary matte are combined into the full matte, and when the network ran on a
   downscaled copy, a fast guided filter brings the full matte back to the input size.

Images are (b, t, 3, h, w) in [0, 1] (sRGB-encoded, no mean/std normalisation); trimaps are
(b, t, 1, h, w) with 0 = background, 0.5 = unknown, 1 = foreground.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .backbone import Backbone
from .decoders import MattingDecoder, SegmentationDecoder
from .fusion import BottleneckFusion, TrimapGatedFusion
from .guided_filter import GuidedUpsampler
from .layers import AvgPyramid, Projection, fold, unfold

Rec = Sequence[Tensor | None]

#: All spatial sizes the network sees are padded to a multiple of this.
SIZE_MULTIPLE = 16


def pad_to_multiple(x: Tensor, multiple: int = SIZE_MULTIPLE) -> tuple[Tensor, tuple[int, int, int, int]]:
    """Zero-pad the last two dims to a multiple, split evenly (extra pixel at the end).

    Returns the padded tensor and ``(left, right, top, bottom)``.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    pad = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
    if ph == 0 and pw == 0:
        return x, pad
    return F.pad(x, pad), pad


def crop_padding(x: Tensor, pad: tuple[int, int, int, int]) -> Tensor:
    """Undo :func:`pad_to_multiple`."""
    left, right, top, bottom = pad
    h, w = x.shape[-2:]
    return x[..., top:h - bottom, left:w - right]


def resize_clip(x: Tensor, scale: float) -> Tensor:
    """Bilinear resize of (..., c, h, w) by ``scale`` (the working size of the downsample path)."""
    lead = x.shape[:-3]
    y = F.interpolate(x.reshape(-1, *x.shape[-3:]), scale_factor=scale, mode="bilinear",
                      align_corners=False, recompute_scale_factor=False)
    return y.reshape(*lead, *y.shape[-3:])


def fuse_with_predicted_trimap(trimap_logits: Tensor, boundary: Tensor) -> Tensor:
    """Full matte: foreground where the trimap says fg, the boundary matte where unknown, else 0."""
    _, cls = torch.sigmoid(trimap_logits).max(dim=-3, keepdim=True)
    return boundary * (cls == 1) + (cls == 2)


def fuse_with_given_trimap(trimap: Tensor, boundary: Tensor) -> Tensor:
    """Full matte from a given trimap (values 0 / 0.5 / 1, tolerance 0.01)."""
    fg = trimap > 0.99
    unknown = ~fg & (trimap > 0.01)
    return boundary * unknown + fg


class FastTrimapPropagationVideoMatting(nn.Module):
    """The FTP-VM network (parameter names match the official checkpoint)."""

    def __init__(
        self,
        backbone_arch: str = "mobilenetv3_large_100",
        backbone_pretrained: bool | str | Path = True,
        ch_bottleneck: int = 128,
        ch_key: int = 32,
        ch_seg: Sequence[int] = (96, 48, 16),
        ch_mat: Sequence[int] = (64, 32, 16, 8),
        ch_mask: int = 1,
    ) -> None:
        """``backbone_pretrained`` never downloads: pass a local path to load ImageNet weights."""
        super().__init__()
        pretrained = backbone_pretrained if isinstance(backbone_pretrained, (str, Path)) else False
        self.backbone = Backbone(backbone_arch, pretrained)
        channels = list(self.backbone.channels)
        self.trimap_fuse = TrimapGatedFusion(channels, c_mask=ch_mask)
        self.bottleneck_fuse = BottleneckFusion(channels[-1], ch_key, channels[-1], ch_bottleneck)
        self.feat_channels = channels[:-1] + [ch_bottleneck]
        self.image_pyramid = AvgPyramid(levels=3)
        self.ch_seg = list(ch_seg)
        self.seg_decoder = SegmentationDecoder(self.feat_channels, self.ch_seg)
        self.seg_project = Projection(self.ch_seg[-1], 3)
        self.ch_mat = list(ch_mat)
        self.mat_decoder = MattingDecoder(self.feat_channels, [ch_bottleneck] + self.ch_seg, self.ch_mat)
        self.mat_project = Projection(self.ch_mat[-1], 1)
        self.refiner = GuidedUpsampler()

    @property
    def default_rec(self) -> list[list[None]]:
        """Recurrent memories at the start of a shot: ``[rec_seg, rec_mat]``."""
        return [[None, None], [None, None]]

    # ------------------------------------------------------------------ inputs
    @staticmethod
    def _working_size(x: Tensor, downsample_ratio: float) -> tuple[Tensor, tuple[int, int, int, int]]:
        """Resize by the ratio (if not 1) and pad to a multiple of 16."""
        if downsample_ratio != 1:
            x = resize_clip(x, downsample_ratio)
        return pad_to_multiple(x)

    # ------------------------------------------------------------------ API
    def forward(
        self,
        qimgs: Tensor,
        mimgs: Tensor,
        masks: Tensor,
        rec_seg: Rec | None = None,
        rec_mat: Rec | None = None,
        downsample_ratio: float = 1,
        segmentation_pass: bool = False,
        replace_given_seg: bool = False,
    ) -> list:
        """Matte ``qimgs`` (b, t, 3, h, w) using memory frames ``mimgs`` (b, t_m, 3, h, w) and
        their trimaps ``masks`` (b, t_m, 1, h, w).

        Returns ``[trimap_logits (b,t,3,h,w), boundary_mattes (b,t,1,h,w), full_mattes (b,t,1,h,w),
        [rec_seg, rec_mat]]``, or ``[trimap_logits, rec_seg]`` with ``segmentation_pass``. With
        ``replace_given_seg`` the first t_m query frames are taken to be the memory frames and
        their full matte uses the given trimap. With ``downsample_ratio != 1`` the network runs
        on a resized copy padded to a multiple of 16: trimap logits and boundary mattes are
        returned at that working size, the full matte at the input size.
        """
        q_sm, pad = self._working_size(qimgs, downsample_ratio)
        m_sm, _ = self._working_size(mimgs, downsample_ratio)
        mask_sm, _ = self._working_size(masks, downsample_ratio)
        t_q = q_sm.size(1)
        feats = self.backbone(torch.cat([q_sm, m_sm], dim=1))
        feats_q = [f[:, :t_q] for f in feats]
        feats_m = [f[:, t_q:] for f in feats]
        value = self.trimap_fuse(mask_sm, feats_m)
        feats_q[-1] = self.bottleneck_fuse(feats_q[-1], feats_m[-1], value)
        given = mask_sm if replace_given_seg else None
        return self._decode(qimgs, q_sm, pad, feats_q, downsample_ratio, segmentation_pass, rec_seg, rec_mat, given)

    def encode_imgs_to_value(self, imgs: Tensor, masks: Tensor, downsample_ratio: float = 1) -> tuple[Tensor, Tensor]:
        """Encode memory frames + trimaps once: returns ``(memory_feat16, memory_value)``.

        Memories of several keyframes can be concatenated: ``memory_feat16`` along dim 1 and
        ``memory_value`` along dim 2.
        """
        imgs, _ = self._working_size(imgs, downsample_ratio)
        masks, _ = self._working_size(masks, downsample_ratio)
        feats = self.backbone(imgs)
        return feats[-1], self.trimap_fuse(masks, feats)

    def forward_with_memory(
        self,
        qimgs: Tensor,
        m_feat16: Tensor,
        m_value: Tensor,
        rec_seg: Rec | None = None,
        rec_mat: Rec | None = None,
        downsample_ratio: float = 1,
        segmentation_pass: bool = False,
    ) -> list:
        """Like :meth:`forward` with a memory encoded by :meth:`encode_imgs_to_value`."""
        q_sm, pad = self._working_size(qimgs, downsample_ratio)
        feats_q = self.backbone(q_sm)
        feats_q[-1] = self.bottleneck_fuse(feats_q[-1], m_feat16, m_value)
        return self._decode(qimgs, q_sm, pad, feats_q, downsample_ratio, segmentation_pass, rec_seg, rec_mat, None)

    # ------------------------------------------------------------------ decoding
    def _decode(
        self,
        qimgs: Tensor,
        q_sm: Tensor,
        pad: tuple[int, int, int, int],
        feats_q: list[Tensor],
        downsample_ratio: float,
        segmentation_pass: bool,
        rec_seg: Rec | None,
        rec_mat: Rec | None,
        given_trimap: Tensor | None,
    ) -> list:
        rec_seg = [None, None] if rec_seg is None else rec_seg
        rec_mat = [None, None] if rec_mat is None else rec_mat
        img2, img4, img8 = self.image_pyramid(q_sm)

        hidden, rec_seg, seg_feats = self.seg_decoder(img4, img8, feats_q[2], feats_q[3], *rec_seg)
        trimap_logits = self.seg_project(hidden)
        stride = float(self.seg_decoder.output_stride)
        bt = trimap_logits.shape[:2] if trimap_logits.ndim == 5 else None  # clips, or frames (export)
        trimap_logits = unfold(F.interpolate(fold(trimap_logits), scale_factor=(stride, stride), mode="bilinear",
                                             align_corners=False), bt)
        if segmentation_pass:  # cropped back only when padding was added to a full-size input
            return [crop_padding(trimap_logits, pad) if downsample_ratio == 1 else trimap_logits, rec_seg]

        hidden, rec_mat = self.mat_decoder(q_sm, img2, img4, feats_q[0], feats_q[1], seg_feats[0], seg_feats[2],
                                           *rec_mat)
        boundary = torch.sigmoid(self.mat_project(hidden))
        trimap_logits, boundary, full = self.matte_outputs(qimgs, q_sm, pad, trimap_logits, boundary, downsample_ratio,
                                                           given_trimap)
        return [trimap_logits, boundary, full, [rec_seg, rec_mat]]

    def matte_outputs(
        self,
        qimgs: Tensor,
        q_sm: Tensor,
        pad: tuple[int, int, int, int],
        trimap_logits: Tensor,
        boundary: Tensor,
        downsample_ratio: float,
        given_trimap: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """The network's last step: the full matte from trimap logits and boundary matte (at the
        working size ``q_sm``), guided-upsampled to ``qimgs``' size on the downsample path, and
        the three outputs cropped of padding as the API returns them."""
        if given_trimap is None:
            full = fuse_with_predicted_trimap(trimap_logits, boundary)
        else:
            t = given_trimap.size(1)
            full = torch.cat([
                fuse_with_given_trimap(given_trimap, boundary[:, :t]),
                fuse_with_predicted_trimap(trimap_logits[:, t:], boundary[:, t:]),
            ], dim=1)
        if downsample_ratio != 1:
            return trimap_logits, boundary, self.refiner(qimgs, q_sm, full)
        if any(pad):
            return crop_padding(trimap_logits, pad), crop_padding(boundary, pad), crop_padding(full, pad)
        return trimap_logits, boundary, full
