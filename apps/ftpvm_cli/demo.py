"""``ftpvm demo``: matte a synthetic shot with known alpha, write EXRs and a contact sheet, print the error."""
from __future__ import annotations

import argparse
import os
import tempfile

from .console import progress, report
from .errors import CLIError


def register(subparsers: argparse._SubParsersAction) -> None:
    from .matte import add_engine_arguments

    p = subparsers.add_parser(
        "demo", help="matte a synthetic shot and compare with its known alpha",
        description="Makes a synthetic shot (a soft-edged moving shape with fine strands over a moving textured "
                    "background, known alpha), mattes it from a keyframe trimap on the first frame, writes EXRs "
                    "and a PNG contact sheet (plate | trimap | alpha | foreground over a checkerboard) and prints "
                    "the error against the known alpha.")
    p.add_argument("--out", default="ftpvm-demo", help="output folder (default: ./ftpvm-demo)")
    p.add_argument("--frames", type=int, default=12, help="number of frames (default 12)")
    p.add_argument("--size", default="256x192", metavar="WxH", help="frame size (default 256x192)")
    p.add_argument("--seed", type=int, default=0, help="synthetic shot seed (default 0)")
    p.add_argument("--local", action="store_true",
                   help="run the engine in this process instead of through a loopback ftpvm-server")
    add_engine_arguments(p)
    p.set_defaults(func=run)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise CLIError(f"--size {text!r} must be WIDTHxHEIGHT, e.g. 256x192") from None
    if not (32 <= w <= 4096 and 32 <= h <= 4096):
        raise CLIError(f"--size {text!r}: width and height must be in 32..4096")
    return w, h


def checkerboard(height: int, width: int, cell: int = 8) -> "np.ndarray":
    import numpy as np

    yy, xx = np.mgrid[0:height, 0:width]
    c = (((yy // cell) + (xx // cell)) % 2).astype(np.float32)
    return np.repeat((0.18 + 0.25 * c)[..., None], 3, -1)


def contact_sheet(plates_srgb, trimaps, alphas, foregrounds_linear, max_rows: int = 6) -> "np.ndarray":
    """Rows of plate | trimap | alpha | foreground over a checkerboard (sRGB [0, 1])."""
    import numpy as np

    from ftpvm_core.synthetic import srgb_encode

    n = len(alphas)
    rows = []
    picks = sorted({round(i * (n - 1) / max(min(n, max_rows) - 1, 1)) for i in range(min(n, max_rows))})
    for i in picks:
        h, w = alphas[i].shape
        a = alphas[i][..., None]
        over = srgb_encode(foregrounds_linear[i] * a + checkerboard(h, w) * (1 - a))
        grey = lambda x: np.repeat(x[..., None], 3, -1)  # noqa: E731
        rows.append(np.concatenate([plates_srgb[i], grey(trimaps[i]), grey(alphas[i]), over], 1))
    return np.concatenate(rows, 0)


def _server_device_flags(device: str) -> list[str]:
    """Translate ``--device`` into ``ftpvm-server`` flags."""
    if device in ("auto", ""):
        return []
    if device == "cpu":
        return ["--cpu"]
    if device == "cuda" or device.startswith("cuda:"):
        return ["--gpu", device.partition(":")[2] or "0"]
    raise CLIError(f"--device {device!r}: use auto, cpu, cuda or cuda:N")


def _matte_in_process(args: argparse.Namespace, shot_data, width: int, height: int, state_dir: str):
    """Run the shot through an in-process engine; returns (results, weights line, fingerprint, synthetic?)."""
    from ftpvm_core.engine import Engine
    from ftpvm_core.errors import EngineError
    from ftpvm_core.model.checkpoint import CheckpointError
    from ftpvm_core.synthetic import LINEAR_COLORSPACE

    try:
        engine = Engine(weights=args.weights, device=args.device, state_dir=state_dir)
    except (CheckpointError, RuntimeError) as exc:
        raise CLIError(str(exc)) from None
    report(engine.weights_notice)
    results = []
    try:
        with engine:
            shot = engine.open_shot(f"demo-{args.seed}-{width}x{height}", width, height, LINEAR_COLORSPACE,
                                    reset=True)
            shot.set_keyframe(0, shot_data.plates_linear[0], trimap=shot_data.trimaps[0])
            frames = [(i, shot_data.plates_linear[i]) for i in range(args.frames)]
            for res in progress(shot.matte(frames), total=args.frames, desc="demo", unit="frame"):
                results.append((res.frame, res.alpha, res.trimap, res.foreground))
    except EngineError as exc:
        raise CLIError(str(exc)) from None
    return results, engine.fingerprint, engine.weights_source == "synthetic"


def _matte_through_server(args: argparse.Namespace, shot_data, width: int, height: int, state_dir: str):
    """Run the shot the way a plugin does: a loopback ``ftpvm-server`` driven through ``ftpvm_client``."""
    from ftpvm_client import Client, FTPVMError
    from ftpvm_core.synthetic import LINEAR_COLORSPACE
    from ftpvm_server.launch import LaunchError, local_server

    extra = _server_device_flags(args.device)
    log_path = os.path.join(args.out, "server.log")
    try:
        with local_server(state_dir=state_dir, weights=args.weights, extra=extra, log_path=log_path) as server:
            report(f"demo: started ftpvm-server on {server.address} (pid {server.process.pid}, log {log_path})")
            with Client(server.address) as client:
                info = client.info()
                report(f"demo: server on {info.device} ({info.precision}), weights: {info.weights_source}, "
                      f"model {info.model_fingerprint}")
                shot = client.open_shot(f"demo-{args.seed}-{width}x{height}", width=width, height=height,
                                        colorspace=LINEAR_COLORSPACE)
                shot.reset_cache()
                shot.set_keyframe(0, image=shot_data.plates_linear[0], trimap=shot_data.trimaps[0])
                frames = [(i, shot_data.plates_linear[i]) for i in range(args.frames)]
                results = [(r.frame, r.alpha, r.trimap, r.foreground)
                           for r in progress(shot.matte(frames, passes=("alpha", "foreground", "trimap")),
                                         total=args.frames, desc="demo", unit="frame")]
        report("demo: ftpvm-server stopped")
    except LaunchError as exc:
        raise CLIError(f"could not start ftpvm-server ({exc}); try --local") from None
    except FTPVMError as exc:
        raise CLIError(f"server error: {exc}") from None
    return results, info.model_fingerprint, "synthetic" in info.weights_source.lower()


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ftpvm_core.imaging.io import write_exr, write_image
    from ftpvm_core.synthetic import LINEAR_COLORSPACE, make_shot

    width, height = _size(args.size)
    if not 2 <= args.frames <= 1000:
        raise CLIError("--frames must be in 2..1000")
    shot_data = make_shot(args.frames, height, width, seed=args.seed)
    os.makedirs(args.out, exist_ok=True)
    state_dir = args.state_dir or tempfile.mkdtemp(prefix="state-", dir=args.out)
    matte = _matte_in_process if args.local else _matte_through_server
    results, fingerprint, synthetic = matte(args, shot_data, width, height, state_dir)
    alphas, trimaps, fgs = [], [], []
    for frame, alpha, trimap, foreground in results:
        alphas.append(alpha)
        trimaps.append(trimap)
        fgs.append(foreground)
        write_exr(os.path.join(args.out, f"demo.{frame:04d}.exr"),
                  {"A": alpha, "trimap": trimap, "fg.R": foreground[..., 0],
                   "fg.G": foreground[..., 1], "fg.B": foreground[..., 2]},
                  metadata={"shot": f"demo-{args.seed}", "frame": frame, "model_fingerprint": fingerprint,
                            "colorspace": LINEAR_COLORSPACE})
    sheet = contact_sheet(shot_data.plates_srgb, trimaps, alphas, fgs)
    sheet_path = os.path.join(args.out, "contact_sheet.png")
    write_image(sheet_path, sheet)
    alpha = np.stack(alphas)
    err = alpha - shot_data.alpha
    mad = float(np.abs(err[1:]).mean()) * 1e3
    mse = float((err[1:] ** 2).mean()) * 1e3
    print(f"wrote {args.frames} EXRs and {sheet_path}")
    print(f"alpha error vs known alpha (frames 1..{args.frames - 1}): MAD {mad:.2f}e-3, MSE {mse:.2f}e-3"
          + ("  [synthetic weights: expect large errors]" if synthetic else ""))
    return 0
