"""Issue 19 figures: what refusing oversized input costs, what exact recovery costs per frame, what a lost state
costs to recover, and the server's RSS over 8 shots before and after they go idle.

Run: ``.venv/bin/python bench/bench_reliability.py [--shots 8] [--frames 8] [--idle 3]`` (CPU, small shots, nothing
beyond 127.0.0.1; the huge cases are refused from their headers, so nothing large is ever allocated).
"""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for d in (ROOT, ROOT / "wire", ROOT / "server", ROOT / "tests", ROOT / "tests" / "server"):
    sys.path.insert(0, str(d))


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def refusals() -> None:
    from ftpvm_server.limits import Limits, WireError
    from ftpvm_server.paths import expand_template
    from ftpvm_server.payloads import check_exr
    from test_reliability_units import exr_header_bytes

    for size in ((12000, 12000), (20000, 20000)):
        data = exr_header_bytes(size)
        before, t = peak_mib(), time.perf_counter()
        try:
            check_exr(data, "plate", (320, 192), Limits())
        except WireError:
            pass
        print(f"EXR of {len(data)} bytes declaring {size[0]}x{size[1]}: refused in "
              f"{(time.perf_counter() - t) * 1e3:.2f} ms, peak RSS +{peak_mib() - before:.1f} MiB")
    t = time.perf_counter()
    try:
        expand_template("/r/a.%0400000000d.exr", 1)
    except WireError:
        pass
    print(f"template %0400000000d: refused in {(time.perf_counter() - t) * 1e3:.2f} ms")
    print(f"largest EXR accepted for a 320x192 shot: {Limits().exr_byte_limit((320, 192))} bytes")


def flush_cost(frames: int = 8) -> None:
    import torch

    torch.set_num_threads(1)
    from ftpvm_core.engine import Engine
    from ftpvm_core.engine.store import Store
    from ftpvm_core.synthetic import make_shot
    from ftpvm_core.weights import synthetic_weights

    data = make_shot(frames, 192, 320, seed=3)
    weights = synthetic_weights()
    flush = Store.flush
    for label, patched in (("answered after flush (now)", False), ("write-behind only (before)", True)):
        if patched:
            Store.flush = lambda self: None  # type: ignore[method-assign]
        e = Engine(weights=weights, device="cpu", state_dir=tempfile.mkdtemp(), backend="torch")
        shot = e.open_shot("b", 320, 192, "Linear Rec.709 (sRGB)")
        shot.set_keyframe(0, data.plates_linear[0], trimap=data.trimaps[0])
        list(shot.matte([(0, data.plates_linear[0])], passes=("alpha",)))  # warm
        t = time.perf_counter()
        list(shot.matte([(f, data.plates_linear[f]) for f in range(1, frames)], passes=("alpha",)))
        per = (time.perf_counter() - t) / (frames - 1)
        Store.flush = flush  # type: ignore[method-assign]
        e.close()
        print(f"320x192 CPU, {label}: {per * 1e3:.0f} ms per frame")


def lost_state(frames: int = 13) -> None:
    """A shot whose stored inputs were evicted after its RAM went: the next frame names the frames since the last
    checkpoint (every 8 frames; 13 frames leave 5 after it), and matting it with them read again costs their
    replay."""
    import torch

    torch.set_num_threads(1)
    from ftpvm_core.engine import Engine
    from ftpvm_core.errors import StateLost
    from ftpvm_core.synthetic import make_shot
    from ftpvm_core.weights import synthetic_weights

    data = make_shot(frames + 1, 192, 320, seed=3)
    e = Engine(weights=synthetic_weights(), device="cpu", state_dir=tempfile.mkdtemp(), backend="torch")
    shot = e.open_shot("b", 320, 192, "Linear Rec.709 (sRGB)")
    shot.set_keyframe(0, data.plates_linear[0], trimap=data.trimaps[0])
    t = time.perf_counter()
    list(shot.matte([(f, data.plates_linear[f]) for f in range(frames)], passes=("alpha",)))
    per = (time.perf_counter() - t) / frames
    e.flush()
    for p in (e.store.shot_dir("b") / "cache" / "inputs").glob("*"):
        p.unlink()
    shot.release_ram()
    t = time.perf_counter()
    try:
        list(shot.matte([(frames, data.plates_linear[frames])], passes=("alpha",)))
        named = []
    except StateLost as lost:
        named = lost.frames
    refused = time.perf_counter() - t
    t = time.perf_counter()
    list(shot.matte([(frames, data.plates_linear[frames])], passes=("alpha",),
                    refetch=lambda f: data.plates_linear[f]))
    print(f"lost state after {frames} frames (inputs evicted): frames {named[0]}-{named[-1]} named in "
          f"{refused * 1e3:.0f} ms; recovered with them in {time.perf_counter() - t:.2f} s "
          f"({len(named) + 1} frames at {per * 1e3:.0f} ms per frame in order)")
    e.close()


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def ram_over_shots(shots: int, frames: int, idle: float) -> None:
    """The server's RSS while 8 shots of 320x192 are matted one after another, once they have been idle for
    ``idle`` seconds (--idle-release), and after DeleteShot."""
    import torch

    from ftpvm_client import Client
    from ftpvm_core.synthetic import make_shot
    from ftpvm_core.weights import synthetic_weights
    from server_harness import COLORSPACE, launch

    tmp = Path(tempfile.mkdtemp())
    torch.save(synthetic_weights(), tmp / "w.pth")
    data = make_shot(frames, 192, 320, seed=3)
    srv = launch(tmp / "state", tmp / "w.pth", tmp / "server.log", extra=["--cpu", "--idle-release", str(idle)])
    try:
        pid = srv.process.pid
        rows = [f"start {_rss_mib(pid):.0f}"]
        with Client(srv.address) as client:
            for i in range(shots):
                shot = client.open_shot(f"s{i}", 320, 192, COLORSPACE)
                shot.set_keyframe(0, image=data.plates_linear[0], trimap=data.trimaps[0])
                list(shot.matte([(f, data.plates_linear[f]) for f in range(frames)], transport="inline"))
                rows.append(f"{i + 1}: {_rss_mib(pid):.0f}")
            busy = _rss_mib(pid)
            time.sleep(idle + 2.5)
            idled = _rss_mib(pid)
            for i in range(shots):
                client.delete_shot(f"s{i}")
            deleted = _rss_mib(pid)
        print(f"server RSS (MiB) over {shots} shots of 320x192, {frames} frames each: " + ", ".join(rows))
        print(f"after the shots: {busy:.0f} MiB; idle {idle + 2.5:g} s (--idle-release {idle:g}): {idled:.0f} MiB; "
              f"after DeleteShot: {deleted:.0f} MiB")
    finally:
        srv.stop()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=8)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--idle", type=float, default=3.0, help="the server's --idle-release for the RSS rows")
    args = parser.parse_args()
    refusals()
    flush_cost()
    lost_state()
    ram_over_shots(args.shots, args.frames, args.idle)
