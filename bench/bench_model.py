#!/usr/bin/env python
"""Benchmark FTP-VM streaming inference: frames/s and peak memory per backend.

Streaming as an application runs it: batch 1, the keyframe memory encoded once, frames one at a
time carrying the recurrent state. Every backend runs in the same process and the timed rounds
are interleaved (round 1 of every backend, then round 2, ...), so machine load affects all of
them alike; the table reports the median over rounds (and the best round, the least disturbed
one on a shared machine) and the speed-up against the baseline
measured in the same run (the original implementation when ``--original-repo`` is given and
importable, else our plain eager model).

Backends:
  original      the original FTP-VM code (``--original-repo``; needs timm), forward_with_memory
  eager         our model, plain forward_with_memory under torch.no_grad (what a naive app does)
  folded        the engine's path: StreamingStep (inference_mode, conv+BN folded) on the float16-rounded
                input, then the frame-size passes (alpha, trimap, boundary) as the engine makes them
  folded-cl     the same in channels_last layout
  compiled      the same through torch.compile (slow to compile; falls back to eager on failure)
  onnx          the same with the onnxruntime backend (CPU; needs the [onnx] extra; the engine's CPU default)
  onnx-spin     the same with spinning worker threads (fastest on an idle CPU, worse next to a busy app)
  On CUDA each of eager/folded/compiled is run for every --precisions entry (fp16/bf16 = autocast).

Peak memory: on CPU the peak RSS of a separate short probe process per (size, backend) (the
whole process: Python, torch and the model included); on CUDA ``max_memory_allocated`` during
one frame.

Examples:
  python bench/bench_model.py --quick
  python bench/bench_model.py --original-repo /path/to/FTP-VM            # run with a python that has timm
  python bench/bench_model.py --sizes 3840x2160@0.125 --backends folded  # 4K on CPU via the downsample path
  python bench/bench_model.py --device cuda --sizes 1024x576,3840x2160@0.25
"""
from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from ftpvm_core.model import FastTrimapPropagationVideoMatting, load_model  # noqa: E402
from ftpvm_core.engine.matting import frame_passes  # noqa: E402
from ftpvm_core.model.prepare import prepare_for_inference  # noqa: E402
from ftpvm_core.model.streaming import StreamingStep  # noqa: E402
from ftpvm_core.model.working_size import auto_downsample_ratio  # noqa: E402
from ftpvm_core.model.synthetic_weights import read_manifest, synthetic_state_dict  # noqa: E402

MANIFEST = ROOT / "tests" / "data" / "ftpvm-checkpoint-manifest.tsv"
CPU_BACKENDS = ("original", "eager", "folded", "folded-cl", "compiled", "onnx", "onnx-spin")
CUDA_BACKENDS = ("original", "eager", "folded", "compiled")
DEFAULT_SIZES = "512x288@1,1024x576@1,1920x1080@auto"


# ---------------------------------------------------------------------------- setup
@dataclass(frozen=True)
class Size:
    width: int
    height: int
    ratio: float

    @property
    def label(self) -> str:
        return f"{self.width}x{self.height}"


def parse_sizes(text: str) -> list[Size]:
    """``WxH[@ratio|@auto]`` comma-separated; no ratio = 1 up to 1024 px long side, else auto."""
    sizes = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        dims, _, ratio = item.partition("@")
        w, h = (int(v) for v in dims.lower().split("x"))
        if not ratio:
            ratio = "1" if max(w, h) <= 1024 else "auto"
        r = auto_downsample_ratio(h, w) if ratio == "auto" else float(ratio)
        sizes.append(Size(w, h, r))
    return sizes


def build_model(weights: str | None) -> FastTrimapPropagationVideoMatting:
    """Our model on CPU in eval mode: a checkpoint, or deterministic synthetic weights."""
    if weights:
        return load_model(weights, device="cpu")
    model = FastTrimapPropagationVideoMatting(backbone_pretrained=False)
    model.load_state_dict(synthetic_state_dict(read_manifest(MANIFEST), seed=0), strict=True)
    return model.eval()


def build_original(repo: str, state: dict) -> torch.nn.Module:
    """The original implementation, imported from a user-supplied checkout (needs timm)."""
    sys.path.insert(0, str(Path(repo).resolve()))
    from FTPVM.model import FastTrimapPropagationVideoMatting as Original  # type: ignore[import-not-found]

    model = Original(backbone_pretrained=False)
    missing = model.load_state_dict(state, strict=False)
    if missing.missing_keys or missing.unexpected_keys:
        print(f"note: original loaded non-strictly ({len(missing.missing_keys)} missing keys)", file=sys.stderr)
    return model.eval()


def make_inputs(size: Size, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """A deterministic frame (3,H,W) and keyframe trimap (1,H,W) with 0 / 0.5 / 1 values."""
    g = torch.Generator().manual_seed(0)
    frame = torch.rand(3, size.height, size.width, generator=g)
    trimap = torch.randint(0, 3, (1, size.height, size.width), generator=g).float() / 2
    return frame.to(device), trimap.to(device)


@dataclass
class Runner:
    """One backend at one size: ``step()`` streams one frame."""

    name: str
    precision: str
    step: Callable[[], object]
    times: list[float] = field(default_factory=list)
    error: str = ""


def _plain_runner(model: torch.nn.Module, frame: torch.Tensor, trimap: torch.Tensor, ratio: float,
                  precision: str, device: torch.device) -> Callable[[], object]:
    """Streaming with a model's own forward_with_memory (our eager model or the original)."""
    dtype = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
    ctx = (lambda: torch.autocast(device.type, dtype=dtype)) if dtype else contextlib.nullcontext
    q, m, t = frame[None, None], frame[None, None], trimap[None, None]
    with torch.no_grad(), ctx():
        mem = model.encode_imgs_to_value(m, t, ratio)
    rec: list = [None, None]

    def step() -> object:
        with torch.no_grad(), ctx():
            out = model.forward_with_memory(q, *mem, *rec, downsample_ratio=ratio)
        rec[:] = out[3]
        return out

    return step


def make_runner(name: str, precision: str, size: Size, model: torch.nn.Module, device: torch.device,
                original: torch.nn.Module | None, onnx_cache: str | None) -> Runner:
    frame, trimap = make_inputs(size, device)
    if name in ("original", "eager"):
        net = original if name == "original" else model
        if net is None:
            raise RuntimeError("no --original-repo")
        net = net.to(device)
        step = _plain_runner(net, frame, trimap, size.ratio, precision, device)
    else:
        backend = "onnx" if name.startswith("onnx") else "torch"
        net = prepare_for_inference(model, device, channels_last=(name == "folded-cl") or None)
        stream = StreamingStep(net, downsample_ratio=size.ratio, precision=precision, backend=backend,
                               compile=(name == "compiled"), onnx_cache_dir=onnx_cache,
                               onnx_spin=(name == "onnx-spin"))
        x = frame.half().float()[None, None]  # the engine's input: the model-space frame rounded to float16
        memory = stream.encode_memory(x, trimap)
        state: list = [None]

        def step() -> object:
            out = stream(x, memory, state[0])
            state[0] = out.state
            return [p.cpu() for p in frame_passes(out, size.height, size.width, size.ratio)]
    return Runner(name, precision, step)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------------------- measurement
def measure(runners: list[Runner], device: torch.device, warmup: int, rounds: int, frames: int) -> None:
    """Warm every runner up, then interleave ``rounds`` timed rounds of ``frames`` frames."""
    for r in runners:
        try:
            for _ in range(warmup):
                r.step()
            sync(device)
        except Exception as exc:  # a backend that cannot run this size is reported, not fatal
            r.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:80] if str(exc) else ''}"
    for _ in range(rounds):
        for r in runners:
            if r.error:
                continue
            sync(device)
            start = time.perf_counter()
            for _ in range(frames):
                r.step()
            sync(device)
            r.times.append((time.perf_counter() - start) / frames)


def cuda_peak(r: Runner, device: torch.device) -> float:
    """Peak CUDA memory (MiB) allocated during one frame."""
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    r.step()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) / 2**20


def probe_rss(args: argparse.Namespace, size: Size, name: str, precision: str) -> float | None:
    """Peak RSS (MiB) of a fresh process running a few frames of one backend."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--probe", name, "--probe-precision", precision,
           "--sizes", f"{size.width}x{size.height}@{size.ratio}", "--threads", str(args.threads), "--device", "cpu"]
    if args.original_repo:
        cmd += ["--original-repo", args.original_repo]
    if args.weights:
        cmd += ["--weights", args.weights]
    if args.onnx_cache:
        cmd += ["--onnx-cache", args.onnx_cache]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        return float(out.stdout.strip().splitlines()[-1])
    except Exception:
        return None


def run_probe(args: argparse.Namespace) -> None:
    """Child mode: run 3 frames of one backend and print the process's peak RSS in MiB."""
    torch.set_num_threads(args.threads)
    size = parse_sizes(args.sizes)[0]
    model = build_model(args.weights)
    original = build_original(args.original_repo, model.state_dict()) if args.probe == "original" else None
    runner = make_runner(args.probe, args.probe_precision, size, model, torch.device("cpu"), original, args.onnx_cache)
    for _ in range(3):
        runner.step()
    print(peak_rss_mib())


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM; unlike ru_maxrss it is not inherited over fork+exec)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 2**20)


# ---------------------------------------------------------------------------- report
@dataclass
class Row:
    size: str
    ratio: float
    backend: str
    precision: str
    fps: float | None
    ms: float | None
    best_fps: float | None
    peak_mib: float | None
    speedup: float | None
    best_speedup: float | None
    note: str = ""


def print_table(rows: list[Row], baseline: str, mem_label: str) -> None:
    head = f"{'size':>10} {'ratio':>6} {'backend':>10} {'prec':>5} {'frames/s':>9} {'ms/frame':>9} " \
           f"{'best f/s':>9} {mem_label:>14} {'vs ' + baseline:>12} {'best vs':>8}"
    print(head)
    print("-" * len(head))
    for r in rows:
        if r.fps is None:
            print(f"{r.size:>10} {r.ratio:>6.3g} {r.backend:>10} {r.precision:>5}   n/a  {r.note}")
            continue
        mem = f"{r.peak_mib:.0f}" if r.peak_mib is not None else "-"
        sp = f"{r.speedup:.2f}x" if r.speedup is not None else "-"
        bsp = f"{r.best_speedup:.2f}x" if r.best_speedup is not None else "-"
        print(f"{r.size:>10} {r.ratio:>6.3g} {r.backend:>10} {r.precision:>5} {r.fps:>9.2f} {r.ms:>9.1f} "
              f"{r.best_fps:>9.2f} {mem:>14} {sp:>12} {bsp:>8}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=DEFAULT_SIZES,
                        help="comma-separated WxH[@ratio|@auto] (default: %(default)s; auto = long side at most "
                             "1024 px, as the engine)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "all"],
                        help="where to run (default: cpu; 'all' = cpu then cuda if available)")
    parser.add_argument("--backends", default=None,
                        help=f"comma-separated subset (cpu default: {','.join(CPU_BACKENDS)}; "
                             f"cuda default: {','.join(CUDA_BACKENDS)}; also: compiled, folded-cl)")
    parser.add_argument("--precisions", default="fp32,fp16,bf16", help="CUDA precisions (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch and onnxruntime (default: 2)")
    parser.add_argument("--frames", type=int, default=4, help="frames per timed round (default: 4)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timed rounds (default: 5)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed frames per backend first (default: 2)")
    parser.add_argument("--original-repo", default=None, help="path to the original FTP-VM code (baseline)")
    parser.add_argument("--weights", default=None, help="checkpoint to load (default: synthetic weights)")
    parser.add_argument("--onnx-cache", default=None, help="where exported ONNX files go (default: user cache)")
    parser.add_argument("--no-memory", action="store_true", help="skip the CPU peak-RSS probe processes")
    parser.add_argument("--quick", action="store_true", help="512x288 only, 3 rounds of 2 frames")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    parser.add_argument("--probe", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--probe-precision", default="fp32", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.probe:
        run_probe(args)
        return 0
    if args.quick:
        args.sizes, args.rounds, args.frames = "512x288@1", 3, 2

    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] if args.device in ("cpu", "all") else []
    if args.device in ("cuda", "all"):
        if torch.cuda.is_available():
            devices.append(torch.device("cuda"))
        else:
            print("CUDA not available: skipping the GPU part", file=sys.stderr)
    model = build_model(args.weights)
    original = None
    if args.original_repo:
        try:
            original = build_original(args.original_repo, model.state_dict())
        except Exception as exc:
            print(f"original implementation not importable ({type(exc).__name__}: {exc}); "
                  "baseline = our eager model", file=sys.stderr)

    from ftpvm_core.model import onnx_backend

    all_rows: list[dict] = []
    for device in devices:
        names = (args.backends.split(",") if args.backends else
                 list(CPU_BACKENDS if device.type == "cpu" else CUDA_BACKENDS))
        if original is None:
            names = [n for n in names if n != "original"]
        if device.type != "cpu" or not onnx_backend.is_available():
            names = [n for n in names if not n.startswith("onnx")]
        precisions = ["fp32"] if device.type == "cpu" else args.precisions.split(",")
        baseline = "original" if "original" in names else "eager"
        print(f"\n== {device.type}: {torch.cuda.get_device_name(device) if device.type == 'cuda' else ''}"
              f" threads={torch.get_num_threads()} torch={torch.__version__} "
              f"rounds={args.rounds}x{args.frames} frames, median; baseline={baseline}")
        rows: list[Row] = []
        mem_label = "peak RSS MiB" if device.type == "cpu" else "CUDA peak MiB"
        for size in parse_sizes(args.sizes):
            runners: list[Runner] = []
            for name in names:
                for prec in (["fp32"] if name in ("original", "onnx", "onnx-spin") else precisions):
                    try:
                        runners.append(make_runner(name, prec, size, model, device, original, args.onnx_cache))
                    except Exception as exc:
                        runners.append(Runner(name, prec, lambda: None, error=f"{type(exc).__name__}: {exc}"[:90]))
            measure(runners, device, args.warmup, args.rounds, args.frames)
            base = next((r for r in runners if r.name == baseline and r.precision == "fp32" and r.times), None)
            base_fps = 1 / statistics.median(base.times) if base else None
            base_best = 1 / min(base.times) if base else None
            for r in runners:
                if r.error or not r.times:
                    rows.append(Row(size.label, size.ratio, r.name, r.precision, None, None, None, None, None, None,
                                    r.error))
                    continue
                sec = statistics.median(r.times)
                if device.type == "cuda":
                    peak = cuda_peak(r, device)
                else:
                    peak = None if args.no_memory else probe_rss(args, size, r.name, r.precision)
                best = 1 / min(r.times)
                rows.append(Row(size.label, size.ratio, r.name, r.precision, 1 / sec, sec * 1000, best, peak,
                                (1 / sec) / base_fps if base_fps else None, best / base_best if base_best else None))
            del runners
            print_table([r for r in rows if r.size == size.label and r.ratio == size.ratio], baseline, mem_label)
            sys.stdout.flush()
        print("\nall sizes:")
        print_table(rows, baseline, mem_label)
        all_rows += [dict(asdict(r), device=device.type) for r in rows]
    if args.json:
        Path(args.json).write_text(json.dumps(all_rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
