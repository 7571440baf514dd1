"""One prepared check of the GPU path; prints one table. Meant to finish in under 8 minutes on a CUDA machine.

    python bench/gpu_check.py              # on a CUDA machine: the full check on cuda:0
    python bench/gpu_check.py --quick      # tiny sizes and counts (what CI runs; forced when there is no CUDA)

Sections (each row: section, what, result, status ok | FAIL | skip: why):
- tests      the CUDA tests (``pytest -k cuda`` over tests/model, engine, imaging and client);
- golden     every golden case (tests/fixtures/golden) on CUDA in float32 against the same calls on the CPU
             (TF32 off), max abs difference of every output;
- stream     the engine's one streaming step (``StreamingStep``) at 1024x576 (ratio 1) and 3840x2160 (auto
             downsampling) in fp32, fp16 and bf16: frames/s and peak device memory;
- server     ``ftpvm-server --gpu 0`` end to end with a client at 1920x1080 in inline, path and shared-memory
             modes: frames/s and the server's overhead over the engine alone (same shot size, same passes);
- train      50 training iterations with AMP (``ftpvm-train`` on tiny synthetic data);
- colour     the full-resolution finishing on the device at the server's size: each baked colour conversion
             (model input, the foreground's to and from scene-linear) for two non-linear spaces, ms against
             OCIO on the CPU and max difference from the same bake on the CPU; foreground estimation, ms;
- compile    the per-frame step at 1024x576 fp16 eager, under ``torch.compile`` and under ``torch.compile`` with
             CUDA graphs ("reduce-overhead"): frames/s, speed-up over eager, compile time, largest difference of
             the matte from eager. Both are opt-in (``ftpvm-server --compile``); the verdict says whether to
             turn one on.
Without CUDA the sizes and counts shrink, CPU-only rows run, and every row that needs CUDA says "skip: needs
CUDA". Exit status 1 when any row failed. Speed targets (issue 18) are printed next to the numbers they judge.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = [ROOT, ROOT / "wire", ROOT / "server", ROOT / "plugins"]
for _d in reversed(SOURCE_DIRS):
    if str(_d) not in sys.path:
        sys.path.insert(0, str(_d))

import numpy as np  # noqa: E402
import torch  # noqa: E402

NEEDS_CUDA = "skip: needs CUDA"
COLORSPACE = "Linear Rec.709 (sRGB)"
GOLDEN_TOL = 1e-3  # CUDA float32 vs CPU float32 (the CPU itself matches the reference to 1e-4)


@dataclass
class Row:
    section: str
    what: str
    result: str
    status: str = "ok"


@dataclass
class Plan:
    """Sizes and counts of one run (full on CUDA, tiny with --quick)."""

    cuda: bool
    full: bool                      # the sizes: the speed targets are judged
    stream_sizes: Sequence[tuple]   # (width, height, downsample_ratio)
    precisions: Sequence[str]
    stream_frames: int
    server_size: tuple
    server_frames: int
    train_iterations: int
    train_size: int

    @classmethod
    def make(cls, cuda: bool, quick: bool) -> "Plan":
        if cuda and not quick:
            return cls(True, True, [(1024, 576, 1.0), (3840, 2160, "auto")], ("fp32", "fp16", "bf16"), 60,
                       (1920, 1080), 24, 50, 256)
        return cls(cuda, False, [(128, 96, 1.0), (256, 160, "auto")], ("fp32", "fp16", "bf16"), 2, (128, 96), 2,
                   50 if cuda else 2, 32)


def env_for_children() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(d) for d in SOURCE_DIRS] + [env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep)
    return env


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ----------------------------------------------------------------------------------------- tests
def check_tests(plan: Plan, timeout: float) -> List[Row]:
    if not plan.cuda:
        return [Row("tests", "pytest -k cuda", "-", NEEDS_CUDA)]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "cuda", "-rs",
               "tests/model", "tests/engine", "tests/imaging", "tests/client"]
    began = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env_for_children(), capture_output=True, text=True,
                          timeout=timeout)
    summary = (done.stdout.strip().splitlines() or ["no output"])[-1]
    return [Row("tests", "pytest -k cuda", f"{summary} ({time.monotonic() - began:.0f} s)",
                "ok" if done.returncode == 0 and "skipped" not in summary else "FAIL")]


# ---------------------------------------------------------------------------------------- golden
def _golden_module():
    spec = importlib.util.spec_from_file_location("ftpvm_golden", ROOT / "tests" / "model" / "test_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _to(value, device: torch.device):
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(_to(v, device) for v in value)
    return value


def check_golden(plan: Plan) -> List[Row]:
    golden = _golden_module()
    rows = []
    cases = golden.CASES if plan.cuda else golden.CASES[:1]
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    for case in cases:
        meta, arrays = golden._load(case)
        model = golden._model(meta, arrays)
        cuda_model = __import__("copy").deepcopy(model).to("cuda") if plan.cuda else None
        worst, flipped_share = 0.0, 0.0
        for call in meta["calls"]:
            args = [golden._resolve(a, arrays) for a in call["args"]]
            kwargs = {k: golden._resolve(v, arrays) for k, v in call["kwargs"].items()}
            with torch.no_grad():
                ours = list(golden._pairs(call["outputs"], getattr(model, call["method"])(*args, **kwargs)))
                if cuda_model is None:  # the CPU against the recorded reference instead
                    other = [torch.from_numpy(arrays[key]) for key, _ in ours]
                else:
                    cuda = torch.device("cuda")
                    out = getattr(cuda_model, call["method"])(*_to(args, cuda), **_to(kwargs, cuda))
                    other = [t.cpu() for _, t in golden._pairs(call["outputs"], out)]
            full_key = call["outputs"][2] if call["full_matte"] else None
            for (key, a), b in zip(ours, other):
                diff = (a.float() - b.float()).abs()
                if key == full_key:  # trimap argmax flips at near-ties move whole pixels
                    flipped_share = max(flipped_share, float((diff > GOLDEN_TOL).float().mean()))
                    diff = diff[diff <= GOLDEN_TOL]
                worst = max(worst, float(diff.max()) if diff.numel() else 0.0)
        ok = worst < GOLDEN_TOL and flipped_share < 0.005
        what = f"{case} {'cuda fp32 vs cpu' if plan.cuda else 'cpu vs reference'}"
        rows.append(Row("golden", what, f"max abs {worst:.1e}, full-matte pixels apart {flipped_share:.3%}",
                        "ok" if ok else "FAIL"))
    if not plan.cuda:
        rows.append(Row("golden", "cuda fp32 vs cpu", "-", NEEDS_CUDA))
    return rows


# ---------------------------------------------------------------------------------------- stream
def check_stream(plan: Plan) -> List[Row]:
    from ftpvm_core.model import FastTrimapPropagationVideoMatting
    from ftpvm_core.model.prepare import prepare_for_inference
    from ftpvm_core.model.streaming import StreamingStep
    from ftpvm_core.weights import synthetic_weights

    device = torch.device("cuda" if plan.cuda else "cpu")
    net = FastTrimapPropagationVideoMatting(backbone_pretrained=False)
    net.load_state_dict(synthetic_weights())
    prepared = prepare_for_inference(net.eval(), device)
    rows = []
    for width, height, ratio in plan.stream_sizes:
        gen = torch.Generator().manual_seed(0)
        frames = torch.rand(4, 3, height, width, generator=gen).to(device)
        trimap = (torch.rand(1, height, width, generator=gen) * 2).round().div(2).to(device)
        for precision in plan.precisions:
            what = f"{width}x{height} ratio {ratio} {precision}"
            if precision != "fp32" and not plan.cuda:
                rows.append(Row("stream", what, "-", NEEDS_CUDA))
                continue
            step = StreamingStep(prepared, downsample_ratio=ratio, precision=precision, backend="torch")
            memory = step.encode_memory(frames[0], trimap)
            out = step(frames[0], memory, trimap=trimap)
            state = out.state
            for i in range(2):  # warm-up (cuDNN autotuning, allocator)
                state = step(frames[i % 4], memory, state).state
            sync(device)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            began = time.perf_counter()
            for i in range(plan.stream_frames):
                out = step(frames[i % 4], memory, state)
                state = out.state
            sync(device)
            fps = plan.stream_frames / (time.perf_counter() - began)
            finite = bool(torch.isfinite(out.full).all())
            peak = f"{torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB" if device.type == "cuda" else "n/a"
            target = ""
            status = "ok" if finite else "FAIL"
            if plan.full and (width, height, precision) == (1024, 576, "fp16"):
                target = " (target >= 300)"
                status = status if fps >= 300 else "FAIL"
            elif plan.full and (width, height) == (3840, 2160) and precision == "fp16":
                target = " (target >= 60)"
                status = status if fps >= 60 else "FAIL"
            rows.append(Row("stream", what, f"{fps:.1f} frames/s{target}, peak {peak}, "
                            f"working {'x'.join(map(str, step.working_size(height, width)))}", status))
    return rows


# ---------------------------------------------------------------------------------------- server
def _engine_seconds(plan: Plan, plates, trimap, tmp: Path, passes) -> float:
    """Seconds per frame of the engine alone, driven from a worker thread as the server drives it."""
    import threading

    from ftpvm_core.engine import Engine
    from ftpvm_core.weights import synthetic_weights

    width, height = plan.server_size
    engine = Engine(weights=synthetic_weights(), device="cuda:0" if plan.cuda else "cpu", state_dir=tmp / "engine")
    result: List[float] = []

    def run() -> None:
        shot = engine.open_shot("engine", width, height, COLORSPACE)
        shot.set_keyframe(0, plates[0], trimap=trimap)
        list(shot.matte([(0, plates[0])], passes=passes))
        began = time.perf_counter()
        for f in range(1, plan.server_frames + 1):
            list(shot.matte([(f, plates[f])], passes=passes))
        result.append((time.perf_counter() - began) / plan.server_frames)

    try:
        worker = threading.Thread(target=run)
        worker.start()
        worker.join()
    finally:
        engine.close()
    if not result:
        raise RuntimeError("the engine run failed (see the traceback above)")
    return result[0]


def check_server(plan: Plan) -> List[Row]:
    import torch as _torch

    from ftpvm_client import Client
    from ftpvm_core.imaging import io
    from ftpvm_core.synthetic import make_shot
    from ftpvm_core.weights import synthetic_weights
    from ftpvm_server.launch import start_server

    width, height = plan.server_size
    passes = ("alpha", "foreground")
    rows = []
    with tempfile.TemporaryDirectory(prefix="ftpvm-gpu-check-") as name:
        tmp = Path(name)
        small = make_shot(plan.server_frames + 1, max(32, height // 8), max(32, width // 8), seed=7)
        up = lambda a: np.ascontiguousarray(  # noqa: E731
            np.repeat(np.repeat(a, -(-height // a.shape[0]), 0), -(-width // a.shape[1]), 1)[:height, :width],
            dtype=np.float32)
        plates = [up(p) for p in small.plates_linear]
        trimap = up(small.trimaps[0])
        (tmp / "in").mkdir()
        (tmp / "out").mkdir()
        for f, plate in enumerate(plates):
            io.write_exr(tmp / "in" / f"plate.{f:04d}.exr", {c: plate[:, :, i] for i, c in enumerate("RGB")})
        weights = tmp / "weights.pth"
        _torch.save(synthetic_weights(), weights)
        engine = _engine_seconds(plan, plates, trimap, tmp, passes)
        rows.append(Row("server", f"engine alone {width}x{height}", f"{1 / engine:.1f} frames/s"))
        device = ["--gpu", "0"] if plan.cuda else ["--cpu"]
        server = start_server(state_dir=str(tmp / "state"), weights=str(weights),
                              extra=[*device, "--allow-root", str(tmp)], log_path=str(tmp / "server.log"),
                              timeout=300, env=env_for_children())
        try:
            with Client(server.address, timeout=600) as client:
                modes = {"inline": {}, "shm": {}, "path": {"outputs": {"alpha": str(tmp / "out" / "a.####.exr"),
                                                                        "foreground": str(tmp / "out" / "f.####.exr")},
                                                            "result_dtype": "none"}}
                for mode, extra in modes.items():
                    what = f"ftpvm-server {' '.join(device)} {mode} {width}x{height}"
                    if mode == "shm" and not client.shared_memory():
                        rows.append(Row("server", what, "-", "FAIL: the server does not share memory here"))
                        continue
                    shot = client.open_shot(mode, width, height, COLORSPACE)
                    shot.set_keyframe(0, image=plates[0], trimap=trimap)
                    source = (lambda f: str(tmp / "in" / f"plate.{f:04d}.exr")) if mode == "path" else \
                        (lambda f: plates[f])
                    list(shot.matte([(0, source(0))], passes=passes, transport=mode, **extra))
                    began = time.perf_counter()
                    results = list(shot.matte([(f, source(f)) for f in range(1, plan.server_frames + 1)],
                                              passes=passes, transport=mode, **extra))
                    per_frame = (time.perf_counter() - began) / plan.server_frames
                    overhead = per_frame / engine - 1
                    ok = all(r.ok for r in results)
                    target = " (target <= 15%)" if plan.full else ""
                    status = "ok" if ok and (not plan.full or overhead <= 0.15) else "FAIL"
                    rows.append(Row("server", what, f"{1 / per_frame:.1f} frames/s, overhead over the engine "
                                    f"{overhead:+.0%}{target}", status))
        finally:
            server.stop()
        if not plan.cuda:
            rows.append(Row("server", "ftpvm-server --gpu 0 at 1920x1080", "-", NEEDS_CUDA))
    return rows


# ----------------------------------------------------------------------------------------- train
def check_train(plan: Plan, timeout: float) -> List[Row]:
    from ftpvm_core.weights import synthetic_weights

    with tempfile.TemporaryDirectory(prefix="ftpvm-gpu-train-") as name:
        weights = Path(name) / "weights.pth"
        torch.save(synthetic_weights(), weights)
        size = str(plan.train_size)
        command = [sys.executable, "-m", "ftpvm_core.train", "--dataset", "synthetic", "--id", "gpu_check",
                   "--save_root", name, "--load_network", str(weights), "-i", str(plan.train_iterations),
                   "--iter_switch_dataset", str(plan.train_iterations // 2), "--seg_stop", "-1",
                   "--size", size, "-b_img_mat", "2", "-b_vid_mat", "2", "-s_img_mat", "2", "-s_vid_mat", "3",
                   "--num_worker", "0", "--warmup", "0", "--save_model_interval", str(10 ** 6),
                   "--device", "cuda" if plan.cuda else "cpu"]
        what = f"{plan.train_iterations} iterations {'AMP' if plan.cuda else 'float32'} {size}px"
        began = time.monotonic()
        done = subprocess.run(command, cwd=ROOT, env=env_for_children(), capture_output=True, text=True,
                              timeout=timeout)
        seconds = time.monotonic() - began
        final = Path(name) / "gpu_check" / f"gpu_check_{plan.train_iterations}.pth"
        if done.returncode != 0 or not final.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            rows = [Row("train", what, f"exit {done.returncode}: {tail[0][:120]}", "FAIL")]
        else:
            state = torch.load(final, map_location="cpu")
            finite = all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
            rows = [Row("train", what, f"{plan.train_iterations / seconds:.1f} it/s (with start-up), "
                        f"weights {'finite' if finite else 'NOT finite'}", "ok" if finite else "FAIL")]
    if not plan.cuda:
        rows.append(Row("train", "50 iterations with AMP", "-", NEEDS_CUDA))
    return rows


# ---------------------------------------------------------------------------------------- colour
COLOUR_SPACES = ("ACEScct", "sRGB Encoded AP1")
COLOUR_TOL = 1e-5  # the bake on CUDA against the same bake on the CPU, relative to max(1, |value|)


def _bench_colour_module():
    spec = importlib.util.spec_from_file_location("ftpvm_bench_colour", ROOT / "bench" / "bench_colour.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _median_ms(fn: Callable[[], object], device: torch.device, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat + 1):  # the first is a warm-up
        sync(device)
        began = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - began)
    return 1e3 * float(np.median(times[1:]))


def check_colour(plan: Plan) -> List[Row]:
    width, height = plan.server_size
    size = f"{width}x{height}"
    whats = [f"{size} {space} {name}" for space in COLOUR_SPACES
             for name in ("model input", "to scene-linear", "back from scene-linear")]
    if not plan.cuda:
        return [Row("colour", what, "-", NEEDS_CUDA) for what in whats + [f"{size} foreground estimation"]]
    from ftpvm_core.imaging.colour import ColourConverter
    from ftpvm_core.imaging.foreground import estimate_foreground_torch

    conversions = _bench_colour_module().conversions
    device = torch.device("cuda")
    plate = np.random.default_rng(0).random((height, width, 3)).astype(np.float32)
    rows = []
    for space in COLOUR_SPACES:
        cases = conversions(ColourConverter(space), plate)
        if cases is None:
            rows += [Row("colour", f"{size} {space} {n}", "does not bake", "FAIL")
                     for n in ("model input", "to scene-linear", "back from scene-linear")]
            continue
        for name, ocio_fn, baked_fn, source in cases:
            on_gpu = torch.from_numpy(source).to(device)
            gpu_ms = _median_ms(lambda: baked_fn(on_gpu), device)
            cpu_ms = _median_ms(lambda: ocio_fn(source), torch.device("cpu"), repeat=2)
            reference = baked_fn(torch.from_numpy(source)).double()
            diff = float(((baked_fn(on_gpu).cpu().double() - reference).abs() / reference.abs().clamp(min=1)).max())
            rows.append(Row("colour", f"{size} {space} {name}",
                            f"{gpu_ms:.2f} ms on the device (OCIO CPU {cpu_ms:.1f} ms), "
                            f"max rel |cuda - cpu bake| {diff:.1e}", "ok" if diff <= COLOUR_TOL else "FAIL"))
    image = torch.from_numpy(plate).to(device).permute(2, 0, 1)[None]
    alpha = torch.rand(1, 1, height, width, generator=torch.Generator().manual_seed(1)).to(device)
    ms = _median_ms(lambda: estimate_foreground_torch(image, alpha), device)
    rows.append(Row("colour", f"{size} foreground estimation", f"{ms:.2f} ms on the device"))
    return rows


# --------------------------------------------------------------------------------------- compile
COMPILE_TOL = 2e-2  # fp16 matte, compiled vs eager (kernel fusion reorders half-precision arithmetic)


def _time_step(step, frames, memory, count: int, device: torch.device):
    """(frames/s over ``count`` steps after a warm-up of 3, seconds of that warm-up, the last matte)."""
    began = time.perf_counter()
    state = None
    for i in range(3):
        state = step(frames[i % 4], memory, state).state
    sync(device)
    warm = time.perf_counter() - began
    began = time.perf_counter()
    out = None
    for i in range(count):
        out = step(frames[i % 4], memory, state)
        state = out.state
    sync(device)
    return count / (time.perf_counter() - began), warm, out.full.float()


def check_compile(plan: Plan) -> List[Row]:
    modes = (("eager", False), ("torch.compile", True), ("torch.compile + CUDA graphs", "reduce-overhead"))
    if not plan.cuda:
        return [Row("compile", f"1024x576 fp16 {name}", "-", NEEDS_CUDA) for name, _ in modes]
    from ftpvm_core.model import FastTrimapPropagationVideoMatting
    from ftpvm_core.model.prepare import prepare_for_inference
    from ftpvm_core.model.streaming import StreamingStep
    from ftpvm_core.weights import synthetic_weights

    device = torch.device("cuda")
    net = FastTrimapPropagationVideoMatting(backbone_pretrained=False)
    net.load_state_dict(synthetic_weights())
    prepared = prepare_for_inference(net.eval(), device)
    width, height = (1024, 576) if plan.full else (128, 96)
    gen = torch.Generator().manual_seed(0)
    frames = torch.rand(4, 3, height, width, generator=gen).to(device)
    trimap = (torch.rand(1, height, width, generator=gen) * 2).round().div(2).to(device)
    count = plan.stream_frames
    rows, eager_fps, eager_out = [], 0.0, None
    for name, mode in modes:
        what = f"{width}x{height} fp16 {name}"
        try:
            step = StreamingStep(prepared, downsample_ratio=1.0, precision="fp16", backend="torch", compile=mode)
            memory = step.encode_memory(frames[0], trimap)
            fps, warm, out = _time_step(step, frames, memory, count, device)
        except Exception as exc:  # noqa: BLE001 - an opt-in that does not work here stays off
            rows.append(Row("compile", what, "-", f"skip: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"))
            continue
        if mode is False:
            eager_fps, eager_out = fps, out
            rows.append(Row("compile", what, f"{fps:.1f} frames/s"))
            continue
        fell_back = not step.core._compiled
        diff = float((out - eager_out).abs().max()) if eager_out is not None else float("nan")
        speedup = fps / eager_fps if eager_fps else float("nan")
        verdict = "fell back to eager: keep off" if fell_back else (
            f"faster: consider --compile {'default' if mode is True else mode}" if speedup > 1.05 else
            "not faster: keep off")
        rows.append(Row("compile", what, f"{fps:.1f} frames/s, {speedup:.2f}x eager, warm-up {warm:.0f} s, "
                        f"max |d alpha| {diff:.1e}; {verdict}", "ok" if fell_back or diff <= COMPILE_TOL else "FAIL"))
    return rows


# ------------------------------------------------------------------------------------------ main
SECTIONS = ("tests", "golden", "stream", "server", "train", "colour", "compile")


def run_section(name: str, fn: Callable[[], List[Row]]) -> List[Row]:
    began = time.monotonic()
    try:
        rows = fn()
    except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others
        import traceback

        traceback.print_exc()
        rows = [Row(name, "section", f"{type(exc).__name__}: {str(exc).splitlines()[0][:150] if str(exc) else ''}",
                    "FAIL")]
    print(f"[gpu_check] {name}: {time.monotonic() - began:.1f} s", file=sys.stderr, flush=True)
    return rows


def print_table(rows: List[Row], header: str) -> None:
    print(header)
    widths = [max(len(getattr(r, f)) for r in rows + [Row("section", "check", "result", "status")])
              for f in ("section", "what", "result")]
    line = lambda a, b, c, d: f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}"  # noqa: E731
    print(line("section", "check", "result", "status"))
    print(line(*("-" * w for w in widths), "------"))
    for r in rows:
        print(line(r.section, r.what, r.result, r.status))


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes and counts (forced without CUDA)")
    p.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections (default: all of "
                                                               f"{','.join(SECTIONS)})")
    p.add_argument("--timeout", type=float, default=150.0, help="limit for each subprocess (tests, train), s")
    args = p.parse_args(argv)
    only = [s for s in args.only.split(",") if s]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        p.error(f"unknown section(s) {sorted(unknown)}; choose from {','.join(SECTIONS)}")
    cuda = torch.cuda.is_available()
    plan = Plan.make(cuda, args.quick)
    began = time.monotonic()
    jobs = {"tests": lambda: check_tests(plan, args.timeout), "golden": lambda: check_golden(plan),
            "stream": lambda: check_stream(plan), "server": lambda: check_server(plan),
            "train": lambda: check_train(plan, args.timeout),
            "colour": lambda: check_colour(plan), "compile": lambda: check_compile(plan)}
    rows: List[Row] = []
    for name in SECTIONS:
        if name in only:
            rows.extend(run_section(name, jobs[name]))
    device = f"cuda:0 ({torch.cuda.get_device_name(0)})" if cuda else "cpu (no CUDA: small sizes, CUDA rows skipped)"
    print_table(rows, f"FTP-VM GPU check on {device}, torch {torch.__version__}, "
                      f"{'quick' if args.quick or not cuda else 'full'}, {time.monotonic() - began:.0f} s")
    return 1 if any(r.status.startswith("FAIL") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
