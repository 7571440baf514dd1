"""Issue 19 figures: what refusing oversized input costs, and what exact recovery costs per frame.

Run: ``.venv/bin/python bench/bench_reliability.py`` (CPU, small shots, nothing beyond 127.0.0.1; the huge
cases are refused from their headers, so nothing large is ever allocated).
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


if __name__ == "__main__":
    refusals()
    flush_cost()
