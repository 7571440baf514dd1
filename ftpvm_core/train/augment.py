"""Clip augmentations of the original recipe, vectorised over the frames of a clip in torch.

Every random choice comes from the ``numpy.random.Generator`` passed in (one per sample, seeded by the sample's key),
so a sample is the same bytes however many workers or processes produce it. Tensors are float (T, C, H, W) in [0, 1].
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ftpvm_core.train.easing import eased_progress

# ---------------------------------------------------------------------------------------------- geometry


def resized_crop(frames: torch.Tensor, size: int, rng: np.random.Generator, ratio: tuple[float, float] = (0.9, 1.1),
                 scale: tuple[float, float] = (1.0, 1.0), mode: str = "bilinear") -> torch.Tensor:
    """Crop a random near-square window (aspect ratio in ``ratio``; area fraction in ``scale`` of the largest
    window of that ratio) and resize it to ``size`` x ``size``. ``frames``: (T, C, H, W), float or uint8."""
    h, w = frames.shape[-2:]
    r = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
    cw, ch = (w, w / r) if w / h < r else (h * r, h)  # largest window of aspect ratio r
    a = math.sqrt(rng.uniform(*scale))
    cw, ch = max(1, int(round(cw * a))), max(1, int(round(ch * a)))
    x0 = int(rng.integers(0, w - cw + 1))
    y0 = int(rng.integers(0, h - ch + 1))
    crop = frames[..., y0:y0 + ch, x0:x0 + cw]
    if mode == "nearest":
        return F.interpolate(crop, size=(size, size), mode="nearest")
    out = F.interpolate(crop if crop.dtype == torch.uint8 else crop.float(), size=(size, size), mode="bilinear",
                        align_corners=False, antialias=True)
    return out


def _affine_params(rng: np.random.Generator, size: tuple[int, int], scale_range: tuple[float, float]) -> np.ndarray:
    """(angle deg, tx px, ty px, scale, shear_x deg, shear_y deg) as torchvision's RandomAffine draws them."""
    h, w = size
    return np.array([rng.uniform(-10, 10), round(rng.uniform(-0.1 * w, 0.1 * w)), round(rng.uniform(-0.1 * h, 0.1 * h)),
                     rng.uniform(*scale_range), rng.uniform(-5, 5), rng.uniform(-5, 5)])


def affine_matrix(params: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Forward 3x3 pixel map(s) for params (..., 6): rotate, shear and scale about the centre, then translate."""
    h, w = size
    params = np.asarray(params, dtype=np.float64)
    ang, tx, ty, s, shx, shy = (params[..., i] for i in range(6))
    a, sx, sy = np.radians(ang), np.radians(shx), np.radians(shy)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    m = np.zeros(params.shape[:-1] + (3, 3))
    # R(a) @ Shear(sx, sy) @ S(s)
    r00, r01, r10, r11 = np.cos(a), -np.sin(a), np.sin(a), np.cos(a)
    h00, h01, h10, h11 = 1.0, np.tan(sx), np.tan(sy), 1.0
    m[..., 0, 0] = (r00 * h00 + r01 * h10) * s
    m[..., 0, 1] = (r00 * h01 + r01 * h11) * s
    m[..., 1, 0] = (r10 * h00 + r11 * h10) * s
    m[..., 1, 1] = (r10 * h01 + r11 * h11) * s
    m[..., 0, 2] = cx + tx - m[..., 0, 0] * cx - m[..., 0, 1] * cy
    m[..., 1, 2] = cy + ty - m[..., 1, 0] * cx - m[..., 1, 1] * cy
    m[..., 2, 2] = 1.0
    return m


def motion_matrices(num_frames: int, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Per-frame (T, 3, 3) maps moving from one random affine to another along a random easing curve."""
    pa = _affine_params(rng, size, (0.9, 1.1))
    pb = _affine_params(rng, size, (0.9, 1.1))
    p = eased_progress(num_frames, rng)[:, None]
    return affine_matrix(pa * (1 - p) + pb * p, size)


def static_matrix(num_frames: int, size: tuple[int, int], rng: np.random.Generator,
                  scale_range: tuple[float, float]) -> np.ndarray:
    """The same random affine for every frame, (T, 3, 3)."""
    return np.repeat(affine_matrix(_affine_params(rng, size, scale_range), size)[None], num_frames, axis=0)


def warp(frames: torch.Tensor, forward: np.ndarray) -> torch.Tensor:
    """Apply per-frame forward pixel maps (T, 3, 3) with bilinear sampling; outside is 0 (torchvision's fill)."""
    t, _, h, w = frames.shape
    to_norm = np.array([[2 / max(w - 1, 1), 0, -1], [0, 2 / max(h - 1, 1), -1], [0, 0, 1]])
    theta = to_norm @ np.linalg.inv(forward) @ np.linalg.inv(to_norm)
    theta_t = torch.as_tensor(theta[:, :2, :], dtype=frames.dtype)
    grid = F.affine_grid(theta_t, [t, 1, h, w], align_corners=True)
    return F.grid_sample(frames, grid, mode="bilinear", padding_mode="zeros", align_corners=True)

# ---------------------------------------------------------------------------------------------- photometric


_GRAY = torch.tensor([0.299, 0.587, 0.114])


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """(T, 1, H, W) luma of (T, 3, H, W)."""
    return (x * _GRAY.to(x).view(1, 3, 1, 1)).sum(1, keepdim=True)


def _per_frame(v: np.ndarray, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(np.asarray(v, dtype=np.float64), dtype=like.dtype).view(-1, 1, 1, 1)


def adjust_colour(x: torch.Tensor, brightness: np.ndarray, contrast: np.ndarray, saturation: np.ndarray,
                  hue: np.ndarray) -> torch.Tensor:
    """Per-frame brightness / contrast / saturation factors and hue shift (fraction of a turn, YIQ rotation)."""
    x = (x * _per_frame(brightness, x)).clamp(0, 1)
    mean = grayscale(x).mean(dim=(-1, -2), keepdim=True)
    c = _per_frame(contrast, x)
    x = (c * x + (1 - c) * mean).clamp(0, 1)
    s = _per_frame(saturation, x)
    x = (s * x + (1 - s) * grayscale(x)).clamp(0, 1)
    ang = torch.as_tensor(np.asarray(hue, dtype=np.float64) * 2 * math.pi, dtype=x.dtype)
    to_yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=x.dtype)
    rot = torch.zeros(len(ang), 3, 3, dtype=x.dtype)
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2] = torch.cos(ang), -torch.sin(ang)
    rot[:, 2, 1], rot[:, 2, 2] = torch.sin(ang), torch.cos(ang)
    m = torch.linalg.inv(to_yiq) @ rot @ to_yiq  # (T, 3, 3)
    return torch.einsum("tij,tjhw->tihw", m, x).clamp(0, 1)


def motion_colour_jitter(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Colour drifting along a random easing curve over the clip."""
    a = rng.standard_normal(8) * 0.1
    strength = rng.random() * 0.2
    p = eased_progress(x.shape[0], rng) * strength
    lerp = lambda i: a[i] * (1 - p) + a[i + 1] * p  # noqa: E731
    return adjust_colour(x, np.maximum(1 + lerp(0), 0.1), np.maximum(1 + lerp(2), 0.1),
                         np.maximum(1 + lerp(4), 0.1), np.clip(lerp(6) * 0.1, -0.5, 0.5))


def clip_colour_jitter(x: torch.Tensor, rng: np.random.Generator, b: float = 0.3, c: float = 0.3, s: float = 0.3,
                       h: float = 0.15) -> torch.Tensor:
    """One colour jitter for the whole clip (torchvision ColorJitter ranges)."""
    t = x.shape[0]
    f = lambda r: np.full(t, rng.uniform(max(0.0, 1 - r), 1 + r))  # noqa: E731
    return adjust_colour(x, f(b), f(c), f(s), np.full(t, rng.uniform(-h, h)))


def motion_noise(x: torch.Tensor, rng: np.random.Generator, grain: float, mono: bool) -> torch.Tensor:
    """Add film-grain-like Gaussian noise of grain size ``grain`` px."""
    t, c, h, w = x.shape
    g = torch.Generator().manual_seed(int(rng.integers(2**62)))
    noise = torch.randn((t, 1 if mono else c, max(1, round(h / grain)), max(1, round(w / grain))), generator=g)
    noise = noise.to(x.dtype) * (rng.random() * 0.2 / grain)
    if noise.shape[-2:] != (h, w):
        noise = F.interpolate(noise, size=(h, w), mode="bilinear", align_corners=False)
    return (x + noise).clamp(0, 1)


def sharpen(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Blend with a 3x3-smoothed copy (factor 0: smooth, 1: unchanged, >1: sharper); borders kept."""
    c = x.shape[1]
    k = torch.tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]], dtype=x.dtype) / 13
    smooth = x.clone()
    smooth[..., 1:-1, 1:-1] = F.conv2d(x, k.expand(c, 1, 3, 3), groups=c)
    return (factor * x + (1 - factor) * smooth).clamp(0, 1)


def gaussian_blur_per_frame(x: torch.Tensor, sigmas: np.ndarray) -> torch.Tensor:
    """Separable Gaussian blur with one sigma per frame (kernel size int(2 sigma) made odd; 0: unchanged)."""
    t, c, h, w = x.shape
    sizes = [int(2 * s) | 1 if s > 0 else 1 for s in sigmas]
    k = max(sizes)
    k = min(k, 2 * (min(h, w) // 2) - 1)
    if k <= 1:
        return x
    kernels = torch.zeros(t, k, dtype=x.dtype)
    for i, (s, n) in enumerate(zip(sigmas, sizes)):
        n = min(n, k)
        if s <= 0 or n <= 1:
            kernels[i, k // 2] = 1
            continue
        r = torch.arange(n, dtype=torch.float64) - (n - 1) / 2
        g = torch.exp(-0.5 * (r / s) ** 2)
        kernels[i, (k - n) // 2:(k - n) // 2 + n] = (g / g.sum()).to(x.dtype)
    weight = kernels.repeat_interleave(c, dim=0)  # (T*C, k)
    y = F.pad(x.reshape(1, t * c, h, w), (k // 2, k // 2, k // 2, k // 2), mode="reflect")
    y = F.conv2d(y, weight.view(t * c, 1, 1, k), groups=t * c)
    y = F.conv2d(y, weight.view(t * c, 1, k, 1), groups=t * c)
    return y.view(t, c, h, w)


def motion_blur(xs: list[torch.Tensor], rng: np.random.Generator) -> list[torch.Tensor]:
    """Blur whose strength (sigma 0..10) drifts along a random easing curve, the same for every tensor in ``xs``."""
    a, b = rng.random() * 10, rng.random() * 10
    p = eased_progress(xs[0].shape[0], rng)
    sig = np.maximum(a * (1 - p) + b * p, 0)
    return [gaussian_blur_per_frame(x, sig) for x in xs]


def pause(xs: list[torch.Tensor], rng: np.random.Generator) -> list[torch.Tensor]:
    """Freeze a random stretch of the clip on one frame."""
    t = xs[0].shape[0]
    f = int(rng.integers(t - 1))
    n = int(rng.integers(t - f))
    out = []
    for x in xs:
        x = x.clone()
        if n > 1:
            x[f + 1:f + n] = x[f]
        out.append(x)
    return out

# ---------------------------------------------------------------------------------------------- the recipe


@dataclass(frozen=True)
class MattingAugmentation:
    """Probabilities of the original's motion augmentation (fg, alpha and bg clips moved and coloured)."""

    prob_fgr_affine: float
    prob_bgr_affine: float = 0.3
    prob_noise: float = 0.1
    prob_color_jitter: float = 0.3
    prob_grayscale: float = 0.02
    prob_sharpness: float = 0.1
    prob_blur: float = 0.02
    prob_hflip: float = 0.5
    prob_pause: float = 0.03

    def __call__(self, fg: torch.Tensor, pha: torch.Tensor, bg: torch.Tensor,
                 rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Augment square clips: fg (T,3,S,S), pha (T,1,S,S), bg (T,3,S,S)."""
        t, _, h, w = fg.shape
        eye = np.repeat(np.eye(3)[None], t, axis=0)
        m_fg_motion = motion_matrices(t, (h, w), rng) if rng.random() < self.prob_fgr_affine else eye
        m_bg_motion = motion_matrices(t, (h, w), rng) if rng.random() < self.prob_bgr_affine / 2 else eye
        m_joint = motion_matrices(t, (h, w), rng) if rng.random() < self.prob_bgr_affine / 2 else eye
        m_fg = static_matrix(t, (h, w), rng, (0.5, 1.0)) @ m_joint @ m_fg_motion
        m_bg = static_matrix(t, (h, w), rng, (1.0, 1.5)) @ m_joint @ m_bg_motion
        fgp = warp(torch.cat([fg, pha], 1), m_fg)
        fg, pha = fgp[:, :3], fgp[:, 3:]
        bg = warp(bg, m_bg)
        if rng.random() < self.prob_pause:
            fg, pha, bg = pause([fg, pha, bg], rng)
        if rng.random() < self.prob_hflip:
            fg, pha = fg.flip(-1), pha.flip(-1)
        if rng.random() < self.prob_hflip:
            bg = bg.flip(-1)
        if rng.random() < self.prob_noise:
            grain, mono = rng.random() * 3 + 1, rng.random() < 0.5
            fg, bg = motion_noise(fg, rng, grain, mono), motion_noise(bg, rng, grain, mono)
        if rng.random() < self.prob_color_jitter:
            fg = motion_colour_jitter(fg, rng)
        if rng.random() < self.prob_color_jitter:
            bg = motion_colour_jitter(bg, rng)
        if rng.random() < self.prob_grayscale:
            fg, bg = grayscale(fg).expand(-1, 3, -1, -1), grayscale(bg).expand(-1, 3, -1, -1)
        if rng.random() < self.prob_sharpness:
            k = rng.random() * 8
            fg, pha, bg = sharpen(fg, k), sharpen(pha, k), sharpen(bg, k)
        if rng.random() < self.prob_blur / 3:
            fg, pha = motion_blur([fg, pha], rng)
        if rng.random() < self.prob_blur / 3:
            (bg,) = motion_blur([bg], rng)
        if rng.random() < self.prob_blur / 3:
            fg, pha, bg = motion_blur([fg, pha, bg], rng)
        return fg.contiguous(), pha.clamp(0, 1).contiguous(), bg.contiguous()


#: Distinctions646: a still foreground, so it gets motion almost always.
IMAGE_MATTE_AUGMENTATION = MattingAugmentation(prob_fgr_affine=0.95, prob_noise=0.05, prob_grayscale=0.03,
                                               prob_sharpness=0.05)
#: VideoMatting108: already moving.
VIDEO_MATTE_AUGMENTATION = MattingAugmentation(prob_fgr_affine=0.3)


def segmentation_augmentation(imgs: torch.Tensor, segs: torch.Tensor, size: int,
                              rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """YouTubeVIS clips: random resized crop (area 0.8-1), colour jitter, 5% grayscale, 50% flip."""
    state = rng.bit_generator.state
    imgs = resized_crop(imgs, size, rng, scale=(0.8, 1.0)).float() / 255
    rng.bit_generator.state = state  # the same window for the masks
    segs = resized_crop(segs, size, rng, scale=(0.8, 1.0), mode="nearest").float() / 255
    imgs = clip_colour_jitter(imgs, rng)
    if rng.random() < 0.05:
        imgs = grayscale(imgs).expand(-1, 3, -1, -1).contiguous()
    if rng.random() < 0.5:
        imgs, segs = imgs.flip(-1), segs.flip(-1)
    return imgs, segs

# ---------------------------------------------------------------------------------------------- trimaps


def structuring_element(size: int, shape: int) -> torch.Tensor:
    """A (kh, kw) 0/1 kernel: shape 1 square, 2 disc, 3 wide ellipse (size x size//2), 4 tall ellipse."""
    kw, kh = {1: (size, size), 2: (size, size), 3: (size, max(1, size // 2)), 4: (max(1, size // 2), size)}[shape]
    if shape == 1:
        return torch.ones(kh, kw)
    ys = (torch.arange(kh, dtype=torch.float64) - (kh - 1) / 2) / max(kh / 2, 0.5)
    xs = (torch.arange(kw, dtype=torch.float64) - (kw - 1) / 2) / max(kw / 2, 0.5)
    return ((ys[:, None] ** 2 + xs[None, :] ** 2) <= 1.0).float()


def binary_dilate(masks: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Dilate boolean (N, H, W) masks by a 0/1 (kh, kw) kernel, outside the frame counting as False.

    Computed as a convolution through the FFT, so the cost does not grow with the kernel (bands up to 31 px)."""
    n, h, w = masks.shape
    kh, kw = kernel.shape
    fh, fw = h + kh - 1, w + kw - 1
    spec = torch.fft.rfft2(masks.float(), s=(fh, fw)) * torch.fft.rfft2(kernel.float().flip(0, 1), s=(fh, fw))
    full = torch.fft.irfft2(spec, s=(fh, fw))
    oy, ox = kh - 1 - kh // 2, kw - 1 - kw // 2  # anchor at the kernel's centre (OpenCV's default)
    return full[:, oy:oy + h, ox:ox + w] > 0.5


def trimap_from_alpha(alpha: torch.Tensor, kernel: torch.Tensor, eps: float = 5e-3) -> torch.Tensor:
    """Trimap in {0, 0.5, 1}: erode the solid foreground and dilate everything non-zero by ``kernel``.

    ``alpha`` (T, 1, H, W). Dilation treats outside the frame as background, erosion as foreground (OpenCV's
    defaults), so a foreground touching the frame edge stays foreground there."""
    a = alpha[:, 0]
    grown = binary_dilate(torch.cat([a > eps, a <= 1 - eps]), kernel)
    some, full = grown[:len(a)], ~grown[len(a):]
    return (full.to(alpha.dtype) + 0.5 * (some & ~full).to(alpha.dtype)).unsqueeze(1)


def random_trimap(alpha: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Trimaps with a random band: kernel size 3..31 and a random one of the four kernel shapes."""
    size = int(rng.integers(1, 16)) * 2 + 1
    return trimap_from_alpha(alpha, structuring_element(size, int(rng.integers(1, 5))))
