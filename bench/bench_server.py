"""Benchmark ftpvm-server end to end against the engine alone, in one run, and soak it.

    python bench/bench_server.py                       # 1920x1080, 4 frames per mode, then a soak
    python bench/bench_server.py --frames 16 --gpu 0   # on a GPU machine
    python bench/bench_server.py --skip-soak --width 960 --height 540

Prints, per mode, frames/s and p50/p99 per-frame latency:
- engine          the engine in this process, planes already in memory (the baseline);
- engine+exr      the engine plus reading the plate EXR and writing the alpha/foreground EXRs;
- server inline   client -> loopback gRPC (half planes, 1 MiB chunks) -> server -> engine -> planes back;
- server path     client sends paths; the server reads the EXRs under --allow-root and writes results.
Server overhead is (server time per frame - engine time per frame) / engine time per frame.
The soak runs N clients x M frames at once on small frames and reports errors (must be 0)
and the server's resident-memory growth. Everything talks to 127.0.0.1 only and is bounded.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for _d in (ROOT, ROOT / "server", ROOT / "plugins"):
    if str(_d) not in sys.path:
        sys.path.insert(0, str(_d))

from ftpvm_client import Client  # noqa: E402
from ftpvm_server.launch import start_server  # noqa: E402
from ftpvm_server.main import free_device_memory  # noqa: E402

COLORSPACE = "Linear Rec.709 (sRGB)"


def make_plates(frames: int, width: int, height: int, seed: int = 7) -> Tuple[List[np.ndarray], np.ndarray]:
    """Distinct plates (a small synthetic shot scaled up) and the first frame's trimap."""
    from ftpvm_core.synthetic import make_shot

    factor = max(1, min(width, height) // 128)
    small = make_shot(frames + 1, -(-height // factor), -(-width // factor), seed=seed)
    up = lambda a: np.repeat(np.repeat(a, factor, 0), factor, 1)[:height, :width]  # noqa: E731
    plates = [np.ascontiguousarray(up(small.plates_linear[i]), dtype=np.float32) for i in range(frames + 1)]
    return plates, np.ascontiguousarray(up(small.trimaps[0]), dtype=np.float32)


def summarize(name: str, latencies: Sequence[float], wall: float, shot_info=None) -> dict:
    """fps, p50/p99 latency; for server modes also the engine's own time inside the server
    (from the shot's counters), measured under the same machine load as the wall time."""
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[min(len(ms) - 1, int(round(0.99 * (len(ms) - 1))))]
    row = {"mode": name, "frames": len(ms), "fps": len(ms) / wall if wall > 0 else 0.0,
           "p50_ms": statistics.median(ms), "p99_ms": p99, "per_frame_ms": wall * 1000 / len(ms)}
    if shot_info is not None and shot_info.frames_per_second > 0:
        row["engine_in_server_ms"] = 1000.0 / shot_info.frames_per_second
    return row


def in_worker_thread(fn: Callable[[], List[dict]]) -> List[dict]:
    """Run ``fn`` in one worker thread, as the server's device queue runs the engine."""
    out: List[List[dict]] = []
    failure: List[BaseException] = []

    def target() -> None:
        try:
            out.append(fn())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            failure.append(exc)

    thread = threading.Thread(target=target, name="bench-engine")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return out[0]


def bench_engine(args, plates, trimap, tmp: Path) -> List[dict]:
    """The engine alone, set up exactly as the server does it: built in the main thread, driven
    from one worker thread (on a loaded CPU, torch's thread pools make the two differ a lot)."""
    from ftpvm_core.engine import Engine

    device = "cpu" if args.cpu else (f"cuda:{args.gpu}" if args.gpu is not None else "auto")
    engine = Engine(weights=args.weights, device=device, state_dir=tmp / "engine-state")
    try:
        return in_worker_thread(lambda: _bench_engine(engine, args, plates, trimap, tmp))
    finally:
        engine.close()
        free_device_memory()


def _bench_engine(engine, args, plates, trimap, tmp: Path) -> List[dict]:
    from ftpvm_core.imaging import io

    settings = {"downsample_ratio": args.downsample}
    passes = args.passes
    warm = engine.open_shot("warm", args.width, args.height, COLORSPACE, settings=settings)
    warm.set_keyframe(0, plates[0], trimap=trimap)
    list(warm.matte([(0, plates[0])], passes=passes))

    rows = []
    shot = engine.open_shot("engine", args.width, args.height, COLORSPACE, settings=settings)
    shot.set_keyframe(0, plates[0], trimap=trimap)
    lat = []
    began = time.perf_counter()
    for f in range(1, args.frames + 1):
        t = time.perf_counter()
        list(shot.matte([(f, plates[f])], passes=passes))
        lat.append(time.perf_counter() - t)
    rows.append(summarize("engine", lat, time.perf_counter() - began))

    shot = engine.open_shot("engine-exr", args.width, args.height, COLORSPACE, settings=settings)
    shot.set_keyframe(0, plates[0], trimap=trimap)
    lat = []
    began = time.perf_counter()
    for f in range(1, args.frames + 1):
        t = time.perf_counter()
        image = io.read_rgb(tmp / "in" / f"plate.{f:04d}.exr")
        r = next(iter(shot.matte([(f, image)], passes=passes)))
        io.write_exr(tmp / "engine-out" / f"alpha.{f:04d}.exr", {"A": r.alpha})
        if r.foreground is not None:
            io.write_exr(tmp / "engine-out" / f"fg.{f:04d}.exr",
                         {c: r.foreground[..., i] for i, c in enumerate("RGB")})
        lat.append(time.perf_counter() - t)
    rows.append(summarize("engine+exr", lat, time.perf_counter() - began))
    return rows


def timed_matte(shot, frames: Iterable[Tuple[int, object]], **kwargs) -> Tuple[List[float], float]:
    """Per-frame latency (sent -> result) and the wall time of one matte call."""
    sent = {}

    def feed() -> Iterator[Tuple[int, object]]:
        for frame, source in frames:
            sent[frame] = time.perf_counter()
            yield frame, source

    lat = []
    began = time.perf_counter()
    for r in shot.matte(feed(), **kwargs):
        lat.append(time.perf_counter() - sent[r.frame])
    return lat, time.perf_counter() - began


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def device_flags(args) -> List[str]:
    return ["--cpu"] if args.cpu else (["--gpu", str(args.gpu)] if args.gpu is not None else [])


def bench_server(args, plates, trimap, tmp: Path) -> List[dict]:
    extra = device_flags(args) + ["--allow-root", str(tmp)]
    server = start_server(state_dir=str(tmp / "server-state"), weights=args.weights, extra=extra,
                          log_path=str(tmp / "server.log"), timeout=300)
    rows = []
    settings = {"downsample_ratio": args.downsample}
    try:
        with Client(server.address, timeout=600) as client:
            warm = client.open_shot("warm", args.width, args.height, COLORSPACE, settings=settings)
            warm.set_keyframe(0, image=plates[0], trimap=trimap)
            list(warm.matte([(0, plates[0])], passes=args.passes))

            shot = client.open_shot("inline", args.width, args.height, COLORSPACE, settings=settings)
            shot.set_keyframe(0, image=plates[0], trimap=trimap)
            lat, wall = timed_matte(shot, [(f, plates[f]) for f in range(1, args.frames + 1)], passes=args.passes)
            rows.append(summarize("server inline", lat, wall, shot.refresh()))

            shot = client.open_shot("path", args.width, args.height, COLORSPACE, settings=settings)
            shot.set_keyframe(0, image=plates[0], trimap=trimap)
            outputs = {"alpha": str(tmp / "server-out" / "alpha.####.exr")}
            if "foreground" in args.passes:
                outputs["foreground"] = str(tmp / "server-out" / "fg.####.exr")
            frames = [(f, str(tmp / "in" / f"plate.{f:04d}.exr")) for f in range(1, args.frames + 1)]
            lat, wall = timed_matte(shot, frames, passes=args.passes, outputs=outputs, result_dtype="none")
            rows.append(summarize("server path", lat, wall, shot.refresh()))
    finally:
        server.stop()
    return rows


def soak(args, tmp: Path) -> dict:
    from ftpvm_core.synthetic import make_shot

    width, height = args.soak_size
    data = make_shot(args.soak_frames, height, width, seed=5)
    server = start_server(state_dir=str(tmp / "soak-state"), weights=args.weights, extra=device_flags(args),
                          log_path=str(tmp / "soak.log"), timeout=300)
    errors: List[str] = []
    done = [0]
    lock = threading.Lock()
    try:
        with Client(server.address) as c:  # warm, then measure memory from here
            s = c.open_shot("soak-warm", width, height, COLORSPACE)
            s.set_keyframe(0, image=data.plates_linear[0], trimap=data.trimaps[0])
            list(s.matte([(0, data.plates_linear[0])]))
        rss_before = rss_kib(server.process.pid)

        total = args.soak_clients * args.soak_rounds * args.soak_frames
        halfway: List[int] = []

        def worker(i: int) -> None:
            try:
                with Client(server.address) as c:
                    for round_ in range(args.soak_rounds):
                        shot = c.open_shot(f"soak-{i}-{round_}", width, height, COLORSPACE)
                        shot.set_keyframe(0, image=data.plates_linear[0], trimap=data.trimaps[0])
                        frames = [(f, data.plates_linear[f] * (1 + 1e-3 * i)) for f in range(args.soak_frames)]
                        for r in shot.matte(frames, passes=("alpha", "foreground"), raise_errors=False):
                            with lock:
                                if r.error is not None:
                                    errors.append(str(r.error))
                                done[0] += 1
                                if done[0] == total // 2:
                                    halfway.append(rss_kib(server.process.pid))
                        shot.delete()
            except Exception as exc:  # noqa: BLE001 - counted, not fatal
                with lock:
                    errors.append(f"client {i}: {exc}")

        began = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.soak_clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(args.soak_timeout)
        wall = time.perf_counter() - began
        hung = sum(t.is_alive() for t in threads)
        rss_after = rss_kib(server.process.pid)
    finally:
        server.stop()
    return {"clients": args.soak_clients, "frames": done[0], "errors": len(errors) + hung,
            "first_error": errors[0] if errors else "", "fps": done[0] / wall if wall else 0.0,
            "rss_before_mib": rss_before / 1024, "rss_after_mib": rss_after / 1024,
            "rss_growth_mib": (rss_after - rss_before) / 1024,
            "rss_second_half_mib": (rss_after - halfway[0]) / 1024 if halfway else float("nan")}


def print_table(rows: List[dict]) -> None:
    base = {"server inline": rows[0]["per_frame_ms"], "server path": rows[1]["per_frame_ms"]}
    print(f"{'mode':<15}{'frames':>7}{'fps':>9}{'p50 ms':>10}{'p99 ms':>10}{'vs engine':>11}"
          f"{'engine in srv':>15}{'srv overhead':>14}")
    for r in rows:
        versus = inside = overhead = ""
        if r["mode"] in base:
            versus = f"{100 * (r['per_frame_ms'] - base[r['mode']]) / base[r['mode']]:+.1f}%"
        if "engine_in_server_ms" in r:
            e = r["engine_in_server_ms"]
            inside = f"{e:.1f} ms"
            overhead = f"{100 * (r['per_frame_ms'] - e) / e:+.1f}%"
        print(f"{r['mode']:<15}{r['frames']:>7}{r['fps']:>9.2f}{r['p50_ms']:>10.1f}{r['p99_ms']:>10.1f}"
              f"{versus:>11}{inside:>15}{overhead:>14}")
    print("vs engine: wall time per frame against the in-process engine run (inline vs engine, path vs "
          "engine+exr; sensitive to machine load between runs).\nsrv overhead: wall time per frame against "
          "the engine's own time inside the server during the same run (decode, queue, encode, transport; "
          "in path mode also EXR read/write).\nlatency: frame sent -> its result, including the wait behind "
          "the frames the client sends ahead (up to 4).")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


def size(text: str) -> Tuple[int, int]:
    w, h = text.lower().split("x")
    return int(w), int(h)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="End-to-end ftpvm-server benchmark against the engine alone, plus a "
                                            "bounded soak. Talks to 127.0.0.1 only.")
    p.add_argument("--width", type=int, default=1920)
    p.add_argument("--height", type=int, default=1080)
    p.add_argument("--frames", type=int, default=4, help="timed frames per mode (default: 4)")
    p.add_argument("--passes", default="alpha,foreground", help="comma-separated passes (default: alpha,foreground)")
    p.add_argument("--downsample", default="auto", help="the shots' downsample_ratio (default: auto)")
    p.add_argument("--weights", help="checkpoint (default: the engine's resolution)")
    dev = p.add_mutually_exclusive_group()
    dev.add_argument("--cpu", action="store_true")
    dev.add_argument("--gpu", type=int)
    p.add_argument("--skip-soak", action="store_true")
    p.add_argument("--soak-only", action="store_true", help="only the soak")
    p.add_argument("--soak-clients", type=int, default=4)
    p.add_argument("--soak-frames", type=int, default=8)
    p.add_argument("--soak-rounds", type=int, default=2)
    p.add_argument("--soak-size", type=size, default=(160, 96), help="WxH of soak frames (default: 160x96)")
    p.add_argument("--soak-timeout", type=float, default=600.0)
    args = p.parse_args(argv)
    args.passes = tuple(x.strip() for x in args.passes.split(",") if x.strip())
    if args.downsample != "auto":
        args.downsample = float(args.downsample)

    from ftpvm_core.imaging import io

    with tempfile.TemporaryDirectory(prefix="ftpvm-bench-") as tmpdir:
        tmp = Path(tmpdir)
        for sub in ("in", "engine-out", "server-out"):
            (tmp / sub).mkdir()
        if not args.soak_only:
            plates, trimap = make_plates(args.frames, args.width, args.height)
            for f, plate in enumerate(plates):
                io.write_exr(tmp / "in" / f"plate.{f:04d}.exr", {c: plate[..., i] for i, c in enumerate("RGB")})
            print(f"ftpvm-server benchmark: {args.width}x{args.height}, {args.frames} frames per mode, passes "
                  f"{','.join(args.passes)}, downsample {args.downsample}, {os.cpu_count()} CPUs", flush=True)
            rows = bench_engine(args, plates, trimap, tmp)
            rows += bench_server(args, plates, trimap, tmp)
            print_table(rows)
        if not args.skip_soak:
            s = soak(args, tmp)
            print(f"soak: {s['clients']} clients x {args.soak_rounds} shots x {args.soak_frames} frames at "
                  f"{args.soak_size[0]}x{args.soak_size[1]}: {s['frames']} frames, {s['fps']:.1f} fps, "
                  f"errors {s['errors']}, server RSS {s['rss_before_mib']:.0f} -> {s['rss_after_mib']:.0f} MiB "
                  f"({s['rss_growth_mib']:+.0f} MiB; {s['rss_second_half_mib']:+.0f} MiB in the second half)")
            if s["errors"]:
                print(f"soak: first error: {s['first_error']}")
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
