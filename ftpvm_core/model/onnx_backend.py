"""Optional ONNX Runtime backend for streaming FTP-VM on CPU (extra ``ftpvm[onnx]``).

The network step (padded working-size frame + encoded memory + recurrent state -> trimap
logits, boundary matte, new state) is exported once per working size (the number of memory
frames is a dynamic axis), with the recurrent state as explicit inputs and outputs (zeros at the
start of a shot). Resizing, the trimap/matte fusion and the guided filter stay in torch. :class:`OnnxCore` is
the "onnx" core of :class:`ftpvm_core.model.streaming.StreamingStep`.

Exported files go to ``cache_dir``: by default ``$FTPVM_ONNX_CACHE`` or the user cache directory
(``platformdirs.user_cache_dir("ftpvm")/onnx``), never into the source tree.
"""
from __future__ import annotations

import copy
import logging
import os
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ..atomic import atomic_output
from .checkpoint import fingerprint
from .step_types import Memory, state_shapes

log = logging.getLogger(__name__)

OPSET = 17
#: Bump when the exported graph changes (part of the cache file name).
GRAPH_VERSION = 7
STATE_NAMES = ("state_seg8", "state_seg16", "state_mat1", "state_mat2")


def is_available() -> bool:
    """True when both ``onnx`` and ``onnxruntime`` can be imported."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def default_cache_dir() -> Path:
    """``$FTPVM_ONNX_CACHE`` or ``<user cache>/ftpvm/onnx``."""
    env = os.environ.get("FTPVM_ONNX_CACHE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("ftpvm", appauthor=False)) / "onnx"


def _pool_matrix(bins: int, size: int) -> Tensor:
    """(bins, size) averaging matrix of adaptive average pooling along one axis."""
    m = torch.zeros(bins, size, dtype=torch.float64)
    for i in range(bins):
        start, end = (i * size) // bins, -((-(i + 1) * size) // bins)
        m[i, start:end] = 1.0 / (end - start)
    return m.float()


class AdaptivePoolAsMatmul(nn.Module):
    """Adaptive average pooling for one fixed input size, as two matrix products (exportable
    for any size; ONNX has no adaptive pooling when the size is not a multiple of the bins)."""

    def __init__(self, bins: int, height: int, width: int) -> None:
        super().__init__()
        self.register_buffer("rows", _pool_matrix(bins, height))
        self.register_buffer("cols", _pool_matrix(bins, width).t().contiguous())

    def forward(self, x: Tensor) -> Tensor:
        return self.rows @ x @ self.cols


class _Step(nn.Module):
    """The exported graph: ``(image, mem_feat16, mem_value, *state) -> (logits, boundary, *state)``.

    ``forward_with_memory`` for one padded frame, with the decoders run on (1, c, h, w) frames
    rather than (1, 1, c, h, w) clips: without the clip reshapes between layers, onnxruntime keeps
    whole runs of the decoders in its blocked (NCHWc) layout instead of converting back and forth.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: Tensor, feat16: Tensor, value: Tensor,
                s8: Tensor, s16: Tensor, s1: Tensor, s2: Tensor) -> tuple[Tensor, ...]:
        net = self.net
        feats = net.backbone(image)
        feats[-1] = net.bottleneck_fuse(feats[-1], feat16, value)
        frame = image[:, 0]
        no_pad = (0, 0, 0, 0)
        logits, boundary, _, ((r8, r16), (r1, r2)) = net._decode(frame, frame, no_pad, [f[:, 0] for f in feats], 1,
                                                                 False, [s8, s16], [s1, s2], None)
        return logits[:, None], boundary[:, None], r8, r16, r1, r2


def export_step(net: nn.Module, height: int, width: int, path: str | Path, memory_frames: int = 1) -> Path:
    """Export the streaming step for a working size (multiples of 16) to ``path``; the graph takes
    any number of memory frames (``memory_frames`` only sizes the example inputs)."""
    if height % 16 or width % 16:
        raise ValueError(f"working size must be a multiple of 16, got {height}x{width}")
    net = copy.deepcopy(net).float().cpu().eval()
    for module in list(net.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.AdaptiveAvgPool2d):
                bins = child.output_size if isinstance(child.output_size, int) else child.output_size[0]
                setattr(module, name, AdaptivePoolAsMatmul(bins, height // 16, width // 16))
    c = net.backbone.channels[-1]
    h16, w16 = height // 16, width // 16
    args = (torch.zeros(1, 1, 3, height, width), torch.zeros(1, memory_frames, c, h16, w16),
            torch.zeros(1, c, memory_frames, h16, w16),
            *(torch.zeros(s) for s in state_shapes(net, height, width)))
    path = Path(path)
    with torch.no_grad(), warnings.catch_warnings(), atomic_output(path, ".onnx") as tmp:
        warnings.simplefilter("ignore")
        torch.onnx.export(_Step(net), args, str(tmp), dynamo=False, opset_version=OPSET,
                          input_names=["image", "mem_feat16", "mem_value", *STATE_NAMES],
                          output_names=["trimap_logits", "boundary", *(n + "_out" for n in STATE_NAMES)],
                          dynamic_axes={"mem_feat16": {1: "memory_frames"}, "mem_value": {2: "memory_frames"}})
        drop_identity_slices(str(tmp))
    return path


def drop_identity_slices(path: str) -> int:
    """Remove ``Slice`` nodes that keep their whole input (the decoders crop an upsampled map to
    the skip size, which is a no-op at padded sizes but a copy in ONNX). Returns how many."""
    import onnx
    from onnx import numpy_helper, shape_inference

    model = shape_inference.infer_shapes(onnx.load(path))
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    shapes = {}
    for vi in [*graph.value_info, *graph.input, *graph.output]:
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in vi.type.tensor_type.shape.dim]
        shapes[vi.name] = dims
    outputs = {o.name for o in graph.output}
    removed = []
    for node in graph.node:
        if node.op_type != "Slice" or node.output[0] in outputs:
            continue
        src, dst = node.input[0], node.output[0]
        same = shapes.get(src) == shapes.get(dst) and -1 not in shapes.get(src, [-1])
        starts = consts.get(node.input[1]) if len(node.input) > 1 else None
        steps = consts.get(node.input[4]) if len(node.input) > 4 and node.input[4] else None
        if not same or starts is None or starts.any() or (steps is not None and (steps != 1).any()):
            continue
        for other in graph.node:
            for i, name in enumerate(other.input):
                if name == dst:
                    other.input[i] = src
        removed.append(node)
    for node in removed:
        graph.node.remove(node)
    used = {name for node in graph.node for name in node.input} | outputs
    for node in [n for n in graph.node if n.op_type == "Constant" and n.output[0] not in used]:
        graph.node.remove(node)
    onnx.save(model, path)
    return len(removed)


class OnnxCore:
    """Runs exported steps with onnxruntime (CPU); sessions are cached per working size."""

    def __init__(self, net: nn.Module, cache_dir: str | Path | None = None, threads: int | None = None,
                 optimization: str = "all", spin: bool = False) -> None:
        """``threads`` defaults to torch's thread count; ``spin=False`` keeps idle worker threads
        from busy-waiting (measured faster on a loaded machine, and kinder to a host app)."""
        if not is_available():
            raise ImportError("the ONNX backend needs the optional extra: pip install 'ftpvm[onnx]'")
        self.net = net
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.threads = threads
        self.optimization = optimization
        self.spin = spin
        self._tag = f"{fingerprint(net)}-t{torch.__version__.split('+')[0]}-o{OPSET}-g{GRAPH_VERSION}"
        self._sessions: dict[tuple[int, int], object] = {}
        self._lock = threading.Lock()  # engines call from several threads: one export per size

    def session(self, height: int, width: int):
        """The onnxruntime session for a working size (exported on first use; thread-safe)."""
        key = (height, width)
        with self._lock:
            if key not in self._sessions:
                self._sessions[key] = self._open(height, width)
            return self._sessions[key]

    def _open(self, height: int, width: int):
        import onnxruntime as ort

        path = self.cache_dir / f"ftpvm-{self._tag}-{height}x{width}.onnx"
        if not path.is_file():
            log.info("exporting FTP-VM step to %s", path)
            export_step(self.net, height, width, path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads or torch.get_num_threads()
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3  # errors only
        level = {"all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
                 "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                 "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC}[self.optimization]
        opts.graph_optimization_level = level
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.spin else "0")
        try:
            return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - a damaged cached file: export it afresh, once
            log.warning("cached ONNX graph %s unusable (%s); exporting it again", path, str(exc).splitlines()[0])
            export_step(self.net, height, width, path)
            return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def __call__(self, q: Tensor, memory: Memory, state: tuple[Tensor, ...]):
        h, w = q.shape[-2:]
        sess = self.session(h, w)

        def arr(t: Tensor) -> np.ndarray:
            return np.ascontiguousarray(t.detach().float().cpu().numpy())

        feeds = {"image": arr(q), "mem_feat16": arr(memory.feat16), "mem_value": arr(memory.value)}
        feeds.update({n: arr(s) for n, s in zip(STATE_NAMES, state)})
        logits, boundary, *new_state = sess.run(None, feeds)
        return torch.from_numpy(logits), torch.from_numpy(boundary), tuple(torch.from_numpy(s) for s in new_state)


__all__ = ["AdaptivePoolAsMatmul", "OnnxCore", "default_cache_dir", "drop_identity_slices",
           "export_step", "is_available"]
