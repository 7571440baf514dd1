"""The streaming step (ftpvm_core.model.streaming, prepare, onnx_backend) equals the plain model.

Tolerances: synthetic weights amplify float32 rounding, so each comparison allows a few times
the plain model's own float32 error (measured against a float64 run), and at least 1e-4. Full
mattes are compared away from trimap argmax near-ties, where a rounding flips the class.
"""
from __future__ import annotations

import copy
import io
import os

import pytest
import torch

from ftpvm_core.model import FastTrimapPropagationVideoMatting, fingerprint
from ftpvm_core.model.fusion import MemoryReader
from ftpvm_core.model.layers import ConcatConv2d
from ftpvm_core.model.prepare import fold_batchnorm, prepare_for_inference
from ftpvm_core.model.step_types import Memory, StreamState
from ftpvm_core.model.streaming import StreamingStep
from ftpvm_core.model.working_size import auto_downsample_ratio

H, W = 40, 72  # not a multiple of 16: exercises padding and cropping
T = 3


@pytest.fixture(scope="module")
def plain(synthetic_weights):
    from ftpvm_core.model import FastTrimapPropagationVideoMatting

    m = FastTrimapPropagationVideoMatting(backbone_pretrained=False)
    m.load_state_dict(synthetic_weights, strict=True)
    return m.eval()


@pytest.fixture(scope="module")
def net(plain):
    return prepare_for_inference(plain, "cpu")


@pytest.fixture(scope="module")
def clip():
    g = torch.Generator().manual_seed(3)
    frames = torch.rand(T, 3, H, W, generator=g)
    trimap = torch.randint(0, 3, (1, H, W), generator=g).float() / 2
    return frames, trimap


_REFERENCES: dict = {}


def _reference(model, frames, trimap, ratio, replace=False):
    """Whole-clip forward in float32 and float64 (memory = frame 0), cached per case."""
    key = (id(model), frames.shape[0], ratio, replace)
    if key not in _REFERENCES:
        args = (frames[None], frames[None, :1], trimap[None, None])
        with torch.inference_mode():
            ref = model(*args, downsample_ratio=ratio, replace_given_seg=replace)
            m64 = copy.deepcopy(model).double()
            ref64 = m64(*(a.double() for a in args), downsample_ratio=ratio, replace_given_seg=replace)
        _REFERENCES[key] = ref, ref64
    return _REFERENCES[key]


def _tol(ref, ref64) -> float:
    return max(1e-4, 4 * (ref - ref64.float()).abs().max().item())


def _classes(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Trimap class per pixel (argmax of sigmoid, as the model fuses) and the sigmoid values."""
    prob = torch.sigmoid(logits)
    return prob.argmax(dim=-3, keepdim=True), prob


def _stream(step, frames, trimap, first_given=False):
    memory = step.encode_memory(frames[0], trimap)
    outs, state = [], None
    for i, f in enumerate(frames):
        out = step(f, memory, state, trimap=trimap if (i == 0 and first_given) else None)
        outs.append(out)
        state = out.state
    return [torch.stack([o[i] for o in outs], 1) for i in range(3)]


def _assert_matches(outs, ref, ref64):
    logits, boundary, full = outs
    assert logits.shape == ref[0].shape and boundary.shape == ref[1].shape and full.shape == ref[2].shape
    assert (logits - ref[0]).abs().max().item() <= _tol(ref[0], ref64[0])
    tol = _tol(ref[1], ref64[1])
    assert (boundary - ref[1]).abs().max().item() <= tol
    # a class flip is allowed only at a near-tie; the full matte is compared everywhere else
    cls_ref, prob_ref = _classes(ref[0])
    cls, _ = _classes(logits)
    flipped = cls != cls_ref
    gap = (prob_ref.gather(-3, cls_ref) - prob_ref.gather(-3, cls)).abs()
    assert (gap[flipped] < 1e-3).all()
    keep = (~flipped).float().flatten(0, 1)
    if keep.shape[-2:] != full.shape[-2:]:  # downsample path: a flip spreads through the guided filter
        keep = -torch.nn.functional.max_pool2d(-keep, 5, 1, 2)
        keep = torch.nn.functional.interpolate(keep, size=full.shape[-2:], mode="nearest")
    keep = keep.bool().unflatten(0, full.shape[:2])
    assert (full - ref[2])[keep].abs().max().item() <= tol


def test_auto_downsample_ratio():
    # one rule for the model and the engine: the long side at most 1024 pixels
    assert auto_downsample_ratio(576, 1024) == 1
    assert auto_downsample_ratio(1080, 1920) == pytest.approx(1024 / 1920)
    assert auto_downsample_ratio(2160, 3840) == pytest.approx(1024 / 3840)
    assert auto_downsample_ratio(100, 80) == 1
    from ftpvm_core.engine import ShotSettings

    assert ShotSettings().ratio_for(1080, 1920) == auto_downsample_ratio(1080, 1920)
    assert StreamingStep(prepare_for_inference(FastTrimapPropagationVideoMatting(backbone_pretrained=False), "cpu")
                         ).ratio_for(2160, 3840) == auto_downsample_ratio(2160, 3840)


@pytest.mark.parametrize("name, short", [("fp16", "fp16"), ("float16", "fp16"), ("bfloat16", "bf16"),
                                         ("float32", "fp32"), ("auto", "auto")])
def test_precision_names_normalise_to_the_short_ones(name, short):
    from ftpvm_core.engine import ShotSettings
    from ftpvm_core.model.precision import normalize_precision, resolve_precision

    assert normalize_precision(name) == short
    assert ShotSettings(precision=name).precision == short
    assert resolve_precision(name, torch.device("cpu")) == ("fp32" if short == "auto" else short)
    assert resolve_precision("auto", torch.device("cuda")) == "fp16"
    with pytest.raises(ValueError, match="fp16"):
        normalize_precision("int8")
    with pytest.raises(ValueError, match="fp32"):
        normalize_precision("auto", allow_auto=False)


def test_prepare_leaves_model_untouched_and_folds(plain, synthetic_weights):
    before = fingerprint(plain)
    net = prepare_for_inference(plain, "cpu")
    assert fingerprint(plain) == before
    assert net.inference_config.folded == 49
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.backbone.modules())
    # the original still takes the checkpoint strictly
    plain.load_state_dict(synthetic_weights, strict=True)
    # folding an already folded copy is a no-op
    assert fold_batchnorm(net) == 0


@pytest.mark.parametrize("ratio,channels_last,split", [(1, False, True), (1, True, True), (0.5, False, True),
                                                        (1, False, False)])
def test_optimised_stream_equals_whole_clip(plain, clip, ratio, channels_last, split):
    frames, trimap = clip
    ref, ref64 = _reference(plain, frames, trimap, ratio)
    step = StreamingStep(prepare_for_inference(plain, "cpu", channels_last=channels_last, split_guides=split),
                         downsample_ratio=ratio)
    _assert_matches(_stream(step, frames, trimap), ref, ref64)


def test_split_image_guides(plain, net):
    # the decoders' convolutions over [features, image]: 3 GRU upsampling convs, and conv1 + skip of
    # the segmentation decoder's upsampling ResBlock and of the matting decoder's decode0
    split = [name for name, m in net.named_modules() if isinstance(m, ConcatConv2d) and m.guide_weight is not None]
    assert len(split) == 7 and all(name.startswith(("seg_decoder", "mat_decoder")) for name in split)
    # inference-only buffers, never saved: the state dict holds the (folded) weights only
    assert not [k for k in net.state_dict() if k.endswith(("guide_weight", "main_weight"))]
    unsplit = prepare_for_inference(plain, "cpu", split_guides=False)
    assert list(net.state_dict()) == list(unsplit.state_dict())
    conv = net.mat_decoder.decode2.conv[0]
    g = torch.Generator().manual_seed(5)
    feats, image = torch.randn(2, 32, 9, 11, generator=g), torch.rand(2, 3, 9, 11, generator=g)
    joined = torch.nn.functional.conv2d(torch.cat([feats, image], 1), conv.weight, conv.bias, padding=1)
    torch.testing.assert_close(conv([feats, image]), joined, atol=1e-5, rtol=1e-5)
    assert torch.equal(conv(torch.cat([feats, image], 1)), joined)  # one tensor: the plain convolution
    # a list whose last part is not the guide falls back to the concatenation
    torch.testing.assert_close(conv([feats[:, :30], torch.cat([feats[:, 30:], image], 1)]), joined, atol=1e-5,
                               rtol=1e-5)
    plain_conv = plain.mat_decoder.decode2.conv[0]
    assert plain_conv.guide_weight is None and plain_conv.guide_channels == 3


def test_first_frame_with_given_trimap(plain, net, clip):
    frames, trimap = clip
    ref, ref64 = _reference(plain, frames, trimap, 1, replace=True)
    step = StreamingStep(net, downsample_ratio=1)
    outs = _stream(step, frames, trimap, first_given=True)
    _assert_matches(outs, ref, ref64)


def test_memory_of_several_keyframes(plain, net, clip):
    frames, trimap = clip
    trimaps = torch.stack([trimap, 1 - trimap])
    with torch.inference_mode():
        ref = plain(frames[None, 2:], frames[None, :2], trimaps[None])
    step = StreamingStep(net, downsample_ratio=1)
    parts = [step.encode_memory(frames[i], trimaps[i]) for i in range(2)]
    out = step(frames[2], step.join_memory(parts))
    assert (out.boundary - ref[1][:, 0]).abs().max().item() < 1e-3
    joint = step.encode_memory(frames[:2], trimaps)
    assert torch.allclose(Memory.cat(parts).value, joint.value, atol=1e-4)


def test_state_save_and_restore_resumes_identically(net, clip):
    frames, trimap = clip
    step = StreamingStep(net, downsample_ratio=1)
    memory = step.encode_memory(frames[0], trimap)
    saved = step(frames[0], memory).state.clone()
    assert saved.frames == 1
    first, state = [], saved
    for f in frames[1:]:
        first.append(step(f, memory, state))
        state = first[-1].state
    buffer = io.BytesIO()
    torch.save(saved.as_dict(), buffer)  # what the shot engine does to checkpoint a shot
    buffer.seek(0)
    state = StreamState.from_dict(torch.load(buffer, weights_only=True))
    second = []
    for f in frames[1:]:
        second.append(step(f, memory, state))
        state = second[-1].state
    for x, y in zip(first, second):
        for u, v in zip(x[:3], y[:3]):
            assert torch.equal(u, v)
        for u, v in zip(x.state.tensors, y.state.tensors):
            assert torch.equal(u, v)
    # None is the start of a shot: zeros, as the model's own start
    assert all(not t.any() for t in step.start_state(H, W).tensors)


def test_errors(plain, net, clip):
    frames, trimap = clip
    step = StreamingStep(net, downsample_ratio=1)
    memory = step.encode_memory(frames[0], trimap)
    with pytest.raises(ValueError, match="frame size"):
        step(frames[0, :, :64, :64], memory)
    state = step(frames[0], memory).state
    with pytest.raises(ValueError, match="frame size .* state"):
        step(frames[0, :, :32, :64], step.encode_memory(frames[0, :, :32, :64], trimap[:, :32, :64]), state)
    with pytest.raises(ValueError, match="frame must be"):
        step(frames[:2], memory)
    with pytest.raises(ValueError, match="downsample_ratio"):
        StreamingStep(plain, downsample_ratio=2.0, device="cpu")
    with pytest.raises(ValueError, match="precision"):
        StreamingStep(net, precision="int8")
    with pytest.raises(ValueError, match="backend must be one of"):
        StreamingStep(net, backend="tensorrt")


def test_compile_failure_falls_back_to_eager(net, clip, monkeypatch):
    frames, trimap = clip

    def broken_compile(fn, **kwargs):
        def run(*a, **k):
            raise RuntimeError("no compiler here")
        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    eager = _stream(StreamingStep(net, downsample_ratio=1), frames[:1], trimap)
    compiled = _stream(StreamingStep(net, downsample_ratio=1, compile=True), frames[:1], trimap)
    for u, v in zip(eager, compiled):
        assert torch.equal(u, v)


@pytest.mark.skipif(not os.environ.get("FTPVM_TEST_COMPILE"),
                    reason="slow (compiles for ~30 s); set FTPVM_TEST_COMPILE=1")
def test_compiled_stream_equals_whole_clip(plain, net, clip):
    frames, trimap = clip
    ref, ref64 = _reference(plain, frames, trimap, 1)
    step = StreamingStep(net, downsample_ratio=1, compile=True)
    _assert_matches(_stream(step, frames, trimap), ref, ref64)
    assert step.core._compiled  # really compiled, not the eager fallback


def test_onnx_backend_equals_plain(plain, net, clip, tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    frames, trimap = clip
    frames = frames[:2]
    ref, ref64 = _reference(plain, frames, trimap, 1)
    step = StreamingStep(net, downsample_ratio=1, backend="onnx", onnx_cache_dir=str(tmp_path))
    _assert_matches(_stream(step, frames, trimap), ref, ref64)
    exported = list(tmp_path.glob("*.onnx"))
    assert exported  # exported into the given cache dir, reused afterwards
    spinning = StreamingStep(net, downsample_ratio=1, backend="onnx", onnx_cache_dir=str(tmp_path), onnx_spin=True)
    assert spinning.core is not step.core and spinning.core.spin
    _assert_matches(_stream(spinning, frames, trimap), ref, ref64)
    assert list(tmp_path.glob("*.onnx")) == exported  # the same exported file, not a second export
    # a damaged cached graph is exported again, not a permanent failure
    exported[0].write_bytes(b"not an onnx file")
    fresh = StreamingStep(prepare_for_inference(plain, "cpu"), downsample_ratio=1, backend="onnx",
                          onnx_cache_dir=str(tmp_path))
    _assert_matches(_stream(fresh, frames, trimap), ref, ref64)
    assert exported[0].stat().st_size > 1000
    # no flush-to-zero left behind on this thread: half-float denormals (the client's transfer format) survive
    import numpy as np

    assert np.float32(3e-6).astype(np.float16) != 0 and np.float32(1e-40) != 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_cuda_precisions_close_to_cpu(plain, clip, precision):
    frames, trimap = clip
    ref, ref64 = _reference(plain, frames, trimap, 1)
    step = StreamingStep(prepare_for_inference(plain, "cuda"), downsample_ratio=1, precision=precision)
    logits, boundary, full = (x.cpu() for x in _stream(step, frames, trimap))
    tol = {"fp32": 5e-3, "fp16": 5e-2, "bf16": 2e-1}[precision]
    assert boundary.dtype == torch.float32 and full.dtype == torch.float32
    assert (boundary - ref[1]).abs().mean().item() < tol


def test_memory_affinity_zeroes_denormal_weights(net):
    # logits from 0 down to -150 over 64 memory positions: softmax weights from ~1 through the
    # denormal range (e^-87 .. e^-103) to exact zeros
    mem_key = torch.zeros(1, 32, 1, 8, 8)
    mem_key[0, 0] = torch.linspace(0, -150, 64).reshape(1, 8, 8) * 32 ** 0.5
    query_key = torch.zeros(1, 32, 1, 2, 2)
    query_key[0, 0] = 1.0
    weights = net.bottleneck_fuse.reader.affinity(mem_key, query_key)
    plain = MemoryReader.affinity(mem_key, query_key)
    tiny = torch.finfo(torch.float32).tiny
    assert ((plain > 0) & (plain < tiny)).any()  # the plain softmax does produce denormals here
    assert not ((weights > 0) & (weights < tiny)).any()
    assert torch.equal(weights, torch.where(plain < tiny, torch.zeros_like(plain), plain))


def test_memory_affinity_stays_float32_under_autocast(net):
    g = torch.Generator().manual_seed(0)
    mem_key, query_key = torch.randn(1, 32, 1, 3, 5, generator=g), torch.randn(1, 32, 1, 3, 5, generator=g)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        affinity = net.bottleneck_fuse.reader.affinity(mem_key.bfloat16(), query_key.bfloat16())
    assert affinity.dtype == torch.float32
    assert torch.allclose(affinity.sum(1), torch.ones(1, 15))


def test_fast_guided_upsampler_is_the_same_filter():
    from ftpvm_core.model.guided_filter import FastGuidedUpsampler, GuidedUpsampler

    g = torch.Generator().manual_seed(11)
    fine = torch.rand(2, 1, 3, 45, 70, generator=g, dtype=torch.float64)
    coarse = torch.nn.functional.interpolate(fine[:, 0], size=(16, 32), mode="bilinear")[:, None]
    matte = (torch.rand(2, 1, 1, 16, 32, generator=g, dtype=torch.float64) * 1.2 - 0.1).clamp(0, 1)
    plain, fast = GuidedUpsampler(), FastGuidedUpsampler()
    exact = plain(fine, coarse, matte)
    # the same arithmetic in float64, clips (b, t, c, h, w) and frames (n, c, h, w) alike
    torch.testing.assert_close(fast(fine, coarse, matte), exact, atol=1e-12, rtol=0)
    torch.testing.assert_close(fast(fine[:, 0], coarse[:, 0], matte[:, 0]), exact[:, 0], atol=1e-12, rtol=0)
    # in float32 it is no further from the exact result than the plain filter (the variance cancels)
    f32 = [t.float() for t in (fine, coarse, matte)]
    err_plain = (plain(*f32) - exact).abs().max().item()
    err_fast = (fast(*f32) - exact).abs().max().item()
    assert err_fast <= max(2 * err_plain, 1e-5)
    # a black (zero-padded) guide has exactly zero variance and covariance: no 1/eps blow-up
    args = (torch.zeros(1, 3, 40, 80), torch.zeros(1, 3, 16, 32), torch.rand(1, 1, 16, 32, generator=g))
    torch.testing.assert_close(fast(*args), plain(*args), atol=1e-6, rtol=0)
