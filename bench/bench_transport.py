"""Per-frame transport time between a client and ftpvm-server on one machine: inline, path and shared memory.

    python bench/bench_transport.py                         # 1920x1080, alpha + foreground, 12 frames per call
    python bench/bench_transport.py --size 960x540 --frames 4 --repeats 3
    python bench/bench_transport.py --shm-only --repeats 5   # shared memory and its floor only (quicker)

Each mode makes one warm-up call, then ``--repeats`` timed calls; the median per frame is printed (a host app
mattes range after range, and the median resists the load of other jobs).

The server here is the real service (``MattingService``: limits, payload decoding, the Matte stream, result
encoding) in its own process, over an engine stub that answers every frame at once with fixed passes, so the
time per frame is the transport alone: the client's encoding, gRPC or shared memory, the server's decoding and
sanitising, result encoding, and the client's decoding. Modes:
- inline  half planes in the gRPC stream (1 MiB chunks), both ways;
- shm     float32 pixels through POSIX shared memory, both ways (``transport="shm"``); the client's segment is
          kept across calls and the server keeps it mapped, as in a host app that mattes shot after shot; results
          copied into the caller's own arrays;
- shm views  the same with ``result_views=True``: results are views of the slot (valid until the next result);
- shm, no hash / shm views, no hash  the same on a shot for which the stub server skips the stream's input hash
          (the engine's cache key, SHA-256 of the plate, made in the stream's reader thread): the transport alone;
- shm f16 the same with half floats both ways (what the Nuke plugin used to force);
- path    the client sends paths of EXR plates; the server reads them and writes the passes as EXRs;
- memcpy  one plain copy of the bytes the shared-memory mode moves (plate + result, float32), the floor;
- shm data  the shared-memory data path alone (no gRPC, no stream machinery, warm pages): the client's copy in,
          the server's finite check, the engine's copy of alpha into the slot, the client's copy out
          (``shm data views``: no copy out).
With float32 results through shared memory the engine writes its passes into the client's slot (``Shot.matte``'s
``out``): the stub copies alpha there, as the engine does from the array its result cache keeps, and leaves the
foreground, which the engine's finishing step writes there as its last step (engine work, not transport).
By default (``ShotHandle.matte``'s dtypes) inline sends half floats and shared memory float32.
Everything stays on 127.0.0.1 and is bounded.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for _d in (ROOT, ROOT / "wire", ROOT / "server", ROOT / "plugins"):
    if str(_d) not in sys.path:
        sys.path.insert(0, str(_d))

PASSES = ("alpha", "foreground")
#: Shots whose id ends so are served without the stream's input hash (rows of the transport alone).
NOHASH = "-nohash"


class _StubShot:
    """Just enough of an engine shot for the Matte stream: fixed passes, no compute."""

    def __init__(self, shot_id: str, width: int, height: int, colorspace: str):
        from ftpvm_core.engine.settings import ShotSettings

        self.id, self.width, self.height, self.colorspace = shot_id, width, height, colorspace
        self.settings = ShotSettings()
        rng = np.random.default_rng(0)
        self._alpha = rng.random((height, width), dtype=np.float32)
        self._fg = rng.random((height, width, 3), dtype=np.float32)

    def keyframes(self) -> List[Any]:
        return [type("K", (), {"frame": 0})()]

    def cached_frames(self) -> int:
        return 0

    def matte(self, frames, passes=("alpha",), cancel=None, out=None):
        """With ``out`` (float32 results through shared memory) alpha is copied into the slot, as the engine copies
        it out of the array its result cache keeps; the foreground is left there as the engine's finishing step
        writes it there itself (that write is the engine's work, which the stub does not do)."""
        from ftpvm_core.engine.matting import FrameResult, placed

        for frame, _image, *_hash in frames:
            into = (out(frame) if out is not None else None) or {}
            fg = into.get("foreground", self._fg) if "foreground" in passes else None
            yield FrameResult(frame, placed(self._alpha, into.get("alpha")), fg, None, None, False)


class _StubEngine:
    def __init__(self) -> None:
        self.shots: Dict[str, _StubShot] = {}

    def list_shots(self) -> List[str]:
        return list(self.shots)

    def open_shot(self, shot_id, width, height, colorspace, settings=None, reset=False):
        self.shots[shot_id] = _StubShot(shot_id, width, height, colorspace)
        return self.shots[shot_id]

    def get_shot(self, shot_id):
        return self.shots[shot_id]


def _skip_hash_for_nohash_shots() -> None:
    """In the stub server only: streams of ``*-nohash`` shots leave the input hash out (see the module doc)."""
    from ftpvm_server.stream import MatteStream

    hashed = MatteStream._hashed

    def _hashed(stream: MatteStream, item: Any) -> Any:
        return item if stream.shot.id.endswith(NOHASH) else hashed(item)

    MatteStream._hashed = _hashed  # type: ignore[method-assign, assignment]


def serve_stub(root: str) -> None:
    """Run the real service over the stub engine; print the port; serve until stdin closes."""
    from concurrent import futures

    import grpc

    from ftpvm_server.limits import Limits
    from ftpvm_server.paths import PathGuard
    from ftpvm_server.scheduler import Scheduler
    from ftpvm_server.service import MattingService
    from ftpvm_wire.protocol import pb, pb_grpc

    _skip_hash_for_nohash_shots()

    limits = Limits()
    guard = PathGuard([root])
    service = MattingService(_StubEngine(), Scheduler(max_queue=limits.max_queue), limits, guard,
                             pb.ServerInfo(protocol="ftpvm.v1", path_mode=True, allowed_roots=[root]))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_send_message_length", limits.max_message_bytes),
                                  ("grpc.max_receive_message_length", limits.max_message_bytes)])
    pb_grpc.add_MattingServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    sys.stdin.read()
    server.stop(2).wait(5)
    service.shm.close()


def time_mode(shot, frames, repeats: int, **kwargs) -> float:
    """Seconds per frame of a matte call over ``frames``: the median over ``repeats`` calls, after one warm-up call
    (the steady state of a host app that mattes range after range; the median resists the load of other jobs)."""
    list(shot.matte(frames, passes=PASSES, **kwargs))
    per_call = []
    for _ in range(repeats):
        began, n = time.perf_counter(), 0
        for result in shot.matte(frames, passes=PASSES, **kwargs):
            assert result.ok, result.error
            n += 1
        per_call.append((time.perf_counter() - began) / n)
    return statistics.median(per_call)


def memcpy_seconds(width: int, height: int, repeats: int = 10) -> float:
    """One copy of a plate's and a result's float32 pixels (the bytes the shared-memory mode moves): the median."""
    nbytes = width * height * (3 + 4) * 4
    src = np.random.default_rng(1).integers(0, 255, nbytes, dtype=np.uint8)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        np.copyto(dst, src)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def shm_data_path_seconds(width: int, height: int, repeats: int = 8, views: bool = False) -> float:
    """The shared-memory data path alone, in one process with warm pages: the client writes a plate into its slot,
    the server reads it (in place) and checks it is finite, the engine copies alpha into the slot (the foreground
    is written there by the engine's finishing step, which is not transport), the client copies them out (with
    ``views``, takes views of them)."""
    from multiprocessing import resource_tracker

    from ftpvm_client.shm import ShmSlots
    from ftpvm_core.engine.matting import placed
    from ftpvm_server.limits import Limits
    from ftpvm_server.payloads import sanitize
    from ftpvm_server.shm import ShmHost, ShmSession
    from ftpvm_wire.protocol import pb

    rng = np.random.default_rng(2)
    plate = rng.random((height, width, 3), dtype=np.float32)
    alpha, fg = rng.random((height, width), dtype=np.float32), rng.random((height, width, 3), dtype=np.float32)
    f32 = pb.ENCODING_RAW_F32
    slots = ShmSlots(width, height, f32, f32, 4, 1)
    host, limits = ShmHost(enabled=True), Limits()

    def one() -> None:
        session = ShmSession(host)  # one call per frame; the host keeps the segment mapped between calls
        header, region = slots.put_plate(plate)
        image, _ = sanitize(session.read_plate(header, "plate", limits))
        del image
        into = session.result_arrays(region, [1, 3], width, height, f32)
        assert into is not None
        layouts = [pb.PassLayout(), pb.PassLayout()]
        assert session.write_result(region, [placed(alpha, into[0]), into[1]], f32, layouts)
        slots.read(region, 0, layouts[0].byte_size, width, height, 1, f32, view=views)
        slots.read(region, layouts[0].byte_size, layouts[1].byte_size, width, height, 3, f32, view=views)
        session.close()

    try:
        one()
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            one()
            times.append(time.perf_counter() - began)
        return statistics.median(times)
    finally:
        host.close()
        # this process both created and attached the segment: attaching unregistered it from the resource
        # tracker, so register it again for close() to unregister cleanly
        resource_tracker.register(getattr(slots.segment, "_name", ""), "shared_memory")
        slots.close()


def run(width: int, height: int, frames: int, repeats: int = 1, shm_only: bool = False) -> Dict[str, float]:
    """Per-frame seconds of each mode (``shm_only``: the shared-memory rows and their floor alone)."""
    from ftpvm_client import Client
    from ftpvm_core.imaging import io

    rows: Dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ftpvm-transport-") as tmp:
        plates = [np.random.default_rng(i).random((height, width, 3), dtype=np.float32) for i in range(frames)]
        os.makedirs(os.path.join(tmp, "out"))
        for i, plate in enumerate(plates):
            io.write_exr(os.path.join(tmp, f"plate.{i:04d}.exr"), {c: plate[:, :, k] for k, c in enumerate("RGB")})
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(p) for p in (ROOT, ROOT / "wire", ROOT / "server",
                                                                            ROOT / "plugins")))
        child = subprocess.Popen([sys.executable, __file__, "--serve-stub", tmp], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, env=env)
        try:
            port = int(child.stdout.readline())
            with Client(f"127.0.0.1:{port}", timeout=300) as client:
                shot = client.open_shot("bench", width, height, "ACEScg")
                array_frames = [(i, p) for i, p in enumerate(plates)]
                if not shm_only:
                    rows["inline"] = time_mode(shot, array_frames, repeats, transport="inline")
                if client.shared_memory():
                    rows["shm"] = time_mode(shot, array_frames, repeats, transport="shm")
                    rows["shm views"] = time_mode(shot, array_frames, repeats, transport="shm", result_views=True)
                    bare = client.open_shot("bench" + NOHASH, width, height, "ACEScg")
                    rows["shm, no hash"] = time_mode(bare, array_frames, repeats, transport="shm")
                    rows["shm views, no hash"] = time_mode(bare, array_frames, repeats, transport="shm",
                                                           result_views=True)
                if client.shared_memory() and not shm_only:
                    rows["shm f16"] = time_mode(shot, array_frames, repeats, transport="shm", send_dtype="float16",
                                                result_dtype="float16")
                if not shm_only:
                    path_frames = [(i, os.path.join(tmp, f"plate.{i:04d}.exr")) for i in range(frames)]
                    outputs = {"alpha": os.path.join(tmp, "out", "alpha.####.exr"),
                               "foreground": os.path.join(tmp, "out", "fg.####.exr")}
                    rows["path"] = time_mode(shot, path_frames, repeats, transport="path", outputs=outputs,
                                             result_dtype="none")
        finally:
            child.stdin.close()
            child.wait(30)
    rows["memcpy"] = memcpy_seconds(width, height)
    rows["shm data"] = shm_data_path_seconds(width, height)
    rows["shm data views"] = shm_data_path_seconds(width, height, views=True)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="1920x1080", help="WxH (default: 1920x1080)")
    p.add_argument("--frames", type=int, default=12, help="frames per timed call (default: 12)")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per mode, the median kept (default: 3)")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.add_argument("--shm-only", action="store_true", help="time the shared-memory rows and their floor alone")
    p.add_argument("--serve-stub", metavar="ROOT", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve_stub:
        serve_stub(args.serve_stub)
        return 0
    width, height = (int(v) for v in args.size.lower().split("x"))
    rows = run(width, height, args.frames, args.repeats, args.shm_only)
    if args.json:
        print(json.dumps(rows))
        return 0
    floor = rows["memcpy"]
    print(f"transport per frame at {width}x{height}, passes {'+'.join(PASSES)}, {args.frames} frames")
    print(f"{'mode':<18} {'ms/frame':>9} {'x memcpy':>9}")
    for mode in ("memcpy", "shm data", "shm data views", "shm", "shm, no hash", "shm views", "shm views, no hash",
                 "shm f16", "inline", "path"):
        if mode in rows:
            print(f"{mode:<18} {rows[mode] * 1000:9.2f} {rows[mode] / floor:9.2f}")
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    sys.exit(main())
