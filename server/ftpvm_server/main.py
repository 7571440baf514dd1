"""``ftpvm-server``: load the model once, serve the Matting service until SIGTERM/SIGINT.

Prints one line ``ftpvm-server: ready on HOST:PORT`` to stdout when it serves (``--port 0``
picks a free port; launchers read that line). Logs go to stderr. Configuration errors are one
line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from concurrent import futures
from typing import Any, Optional, Sequence

os.environ.setdefault("GRPC_VERBOSITY", "ERROR")  # gRPC core's own stderr lines: errors only
import grpc  # noqa: E402

from . import __version__

log = logging.getLogger("ftpvm_server")


class ConfigError(Exception):
    """A bad command line or environment: printed as one line, exit 2."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ftpvm-server",
        description="Serve FTP-VM matting over gRPC: one model on one device, shared by every host app. "
                    "Shots, keyframes and cached results live in the engine's state directory and survive "
                    "restarts.",
        epilog="Security: the server binds 127.0.0.1 by default. Binding any other address needs --token "
               "(or $FTPVM_TOKEN); clients send it as 'authorization: Bearer <token>'. Path mode reads and "
               "writes files only under --allow-root directories.")
    dev = p.add_mutually_exclusive_group()
    dev.add_argument("--gpu", type=int, metavar="N", help="run on CUDA device N (error if it does not exist)")
    dev.add_argument("--cpu", action="store_true", help="run on the CPU even when a GPU is available")
    p.add_argument("--bind", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, loopback only)")
    p.add_argument("--port", type=int, default=50051, help="port (default: 50051; 0 picks a free one)")
    p.add_argument("--weights", metavar="PATH",
                   help="checkpoint (default: $FTPVM_WEIGHTS, saves/ftpvm.pth, built-in demo weights, else "
                        "synthetic weights with a notice)")
    p.add_argument("--state-dir", metavar="DIR", help="the engine's state directory (default: $FTPVM_STATE_DIR "
                                                      "or the per-user state folder)")
    p.add_argument("--token", help="require this bearer token from clients; visible to every local user in "
                                   "/proc/PID/cmdline, so prefer --token-file or $FTPVM_TOKEN")
    p.add_argument("--token-file", metavar="FILE",
                   help="read the bearer token from the first line of FILE (keep it mode 600)")
    p.add_argument("--tls-cert", metavar="PEM", help="serve TLS with this certificate chain (needs --tls-key)")
    p.add_argument("--tls-key", metavar="PEM", help="private key for --tls-cert")
    p.add_argument("--allow-root", action="append", default=[], metavar="DIR",
                   help="allow path mode under DIR (repeatable); without it only inline pixels are accepted")
    p.add_argument("--max-shots", type=int, default=1000, metavar="N", help="most shots kept (default: 1000)")
    p.add_argument("--max-queue", type=int, default=64, metavar="N",
                   help="most frames waiting for the device before RESOURCE_EXHAUSTED (default: 64)")
    p.add_argument("--precision", default="auto", metavar="{auto,fp32,fp16,bf16}",
                   help="network arithmetic for shots that leave it on auto (default: auto = fp16 on CUDA, "
                        "fp32 on CPU; float32, float16, bfloat16 are accepted too)")
    p.add_argument("--backend", choices=("auto", "torch", "onnx"), default="auto",
                   help="network runtime: auto = ONNX Runtime on the CPU when installed (faster), else torch "
                        "(default: auto)")
    p.add_argument("--compile", choices=("off", "default", "reduce-overhead"), default="off",
                   help="opt-in: torch.compile the per-frame step (default) and also capture CUDA graphs "
                        "(reduce-overhead); bench/gpu_check.py measures both against eager (default: off)")
    p.add_argument("--workers", type=int, default=16, metavar="N",
                   help="threads answering RPCs (compute still goes through one device queue; default: 16)")
    p.add_argument("--stream-idle-timeout", type=float, default=60.0, metavar="S",
                   help="close a streaming call whose client sends nothing for S seconds (default: 60)")
    p.add_argument("--stream-max-seconds", type=float, default=6 * 3600.0, metavar="S",
                   help="close any streaming call after S seconds in all (default: 21600 = 6 h)")
    p.add_argument("--decode-memory", type=int, default=2048, metavar="MIB",
                   help="MiB of uploaded and decoded pixels held at once over every call; more waits or is "
                        "refused (default: 2048)")
    p.add_argument("--idle-release", type=float, default=120.0, metavar="S",
                   help="give back the RAM caches of a shot unused for S seconds (its states stay on disk and "
                        "resume exactly; default: 120)")
    p.add_argument("--shutdown-grace", type=float, default=10.0, metavar="S",
                   help="seconds in-flight calls get to finish on SIGTERM before they are cancelled (default: 10)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"),
                   help="log verbosity (default: info)")
    p.add_argument("--log-format", default="text", choices=("text", "json"),
                   help="'text' lines or one JSON object per line (default: text)")
    p.add_argument("--no-warmup", action="store_true", help="skip the warm-up pass at start")
    p.add_argument("--no-shm", action="store_true",
                   help="no shared-memory transport: clients on this machine send pixels inline")
    p.add_argument("--version", action="version", version=f"ftpvm-server {__version__}")
    return p


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": round(record.created, 3), "level": record.levelname.lower(), "logger": record.name,
                 "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def setup_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def resolve_device(args: argparse.Namespace) -> str:
    """'cpu', 'cuda:N' or 'auto'; ConfigError when --gpu names a device that is not there."""
    if args.cpu:
        return "cpu"
    if args.gpu is None:
        return "auto"
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if not 0 <= args.gpu < count:
        have = f"this machine has {count} CUDA device(s)" if count else "this machine has no usable CUDA GPU"
        raise ConfigError(f"--gpu {args.gpu}: {have}; use --gpu 0..{count - 1} or --cpu" if count else
                          f"--gpu {args.gpu}: {have}; use --cpu")
    return f"cuda:{args.gpu}"


def _read_pem(path: Optional[str], flag: str) -> bytes:
    try:
        with open(path, "rb") as f:  # type: ignore[arg-type]
            return f.read()
    except OSError as exc:
        raise ConfigError(f"{flag} {path}: cannot read it ({exc.strerror})") from None


def check_config(args: argparse.Namespace) -> Optional[str]:
    """Validate flags that need no model; return the token in force."""
    from .auth import AuthConfigError, check_bind

    token = resolve_token(args)
    try:
        check_bind(args.bind, token)
    except AuthConfigError as exc:
        raise ConfigError(str(exc)) from None
    if not 0 <= args.port <= 65535:
        raise ConfigError(f"--port {args.port} is not a port; use 1..65535 or 0 for a free one")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise ConfigError("--tls-cert and --tls-key go together; give both or neither")
    for root in args.allow_root:
        if not os.path.isdir(root):
            raise ConfigError(f"--allow-root {root}: no such directory")
    from ftpvm_core.model.precision import normalize_precision

    try:
        args.precision = normalize_precision(args.precision)
    except ValueError as exc:
        raise ConfigError(f"--precision: {exc}") from None
    if args.max_shots < 1 or args.max_queue < 1 or args.workers < RESERVED_WORKERS + 1:
        raise ConfigError(f"--max-shots and --max-queue must be at least 1, --workers at least {RESERVED_WORKERS + 1}")
    if args.stream_idle_timeout <= 0 or args.stream_max_seconds <= 0 or args.decode_memory < 1 \
            or args.idle_release <= 0:
        raise ConfigError("--stream-idle-timeout, --stream-max-seconds, --decode-memory and --idle-release must be "
                          "positive")
    return token


#: RPC threads never given to streaming calls, so unary calls and health checks always find one.
RESERVED_WORKERS = 4


def resolve_token(args: argparse.Namespace) -> Optional[str]:
    """The token from --token, --token-file or $FTPVM_TOKEN (one of them), or None."""
    if args.token is not None and args.token_file:
        raise ConfigError("--token and --token-file both give the token; keep one (preferably --token-file)")
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as f:
                token = f.readline().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"--token-file {args.token_file}: cannot read it "
                              f"({getattr(exc, 'strerror', None) or exc})") from None
        if not token:
            raise ConfigError(f"--token-file {args.token_file} is empty; write the token on its first line")
        return token
    if args.token is not None:
        return args.token
    return os.environ.get("FTPVM_TOKEN") or None


def build_engine(args: argparse.Namespace, device: str) -> Any:
    """The engine, its weights resolved by the engine's one weights function."""
    from ftpvm_core.engine import Engine

    return Engine(weights=args.weights, device=device, state_dir=args.state_dir, backend=args.backend, exclusive=True,
                  compile=args.compile)


def default_settings(args: argparse.Namespace) -> dict:
    """Shot settings the server applies when a client leaves them out (--precision)."""
    return {"precision": args.precision} if args.precision != "auto" else {}


def advertised_schema(schema: list, args: argparse.Namespace) -> list:
    """The engine's settings schema with this server's defaults (what a shot gets when a client leaves a setting out)."""
    defaults = default_settings(args)
    return [{**f, "default": defaults[f["name"]]} if f["name"] in defaults else f for f in schema]


def build_info(engine: Any, args: argparse.Namespace, limits: Any, guard: Any, token: Optional[str]) -> Any:
    from ftpvm_wire.passes import PASS_ORDER
    from ftpvm_wire.protocol import PROTOCOL, pb

    facts = engine.info()
    try:
        from ftpvm_core.imaging.colour import list_colorspaces

        colorspaces = list_colorspaces()
    except Exception:  # noqa: BLE001 - an OCIO config problem must not stop the server
        colorspaces = []
    return pb.ServerInfo(
        server_version=__version__, protocol=PROTOCOL, engine_version=str(facts.get("engine_version", "")),
        model_fingerprint=str(facts.get("model_fingerprint", "")),
        weights_source=str(facts.get("weights_source", "")), device=str(facts.get("device", "")),
        precision=args.precision if args.precision != "auto" else str(facts.get("precision", "")),
        limits=limits.to_proto(),
        passes=list(PASS_ORDER),
        settings_schema_json=json.dumps(advertised_schema(facts.get("settings_schema", []), args)),
        auth_required=bool(token), path_mode=guard.enabled, allowed_roots=list(guard.roots),
        colorspaces=colorspaces)


def serve(args: argparse.Namespace) -> int:
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection

    from ftpvm_wire.protocol import pb, pb_grpc

    from .auth import TokenInterceptor
    from .calls import CallGuard, Watchdog
    from .limits import Limits
    from .paths import PathGuard
    from .scheduler import Scheduler
    from .service import MattingService
    from .warmup import warm_up

    token = check_config(args)
    if args.token is not None:
        log.warning("--token is readable by every local user in /proc/%d/cmdline; use --token-file or "
                    "$FTPVM_TOKEN instead", os.getpid())
    device = resolve_device(args)
    limits = Limits(max_shots=args.max_shots, max_queue=args.max_queue, decode_budget_bytes=args.decode_memory << 20)
    guard = PathGuard(args.allow_root)
    credentials = None
    if args.tls_cert:
        credentials = grpc.ssl_server_credentials([(_read_pem(args.tls_key, "--tls-key"),
                                                    _read_pem(args.tls_cert, "--tls-cert"))])

    began = time.monotonic()
    engine = build_engine(args, device)
    remove_stale_files()
    scheduler = Scheduler(max_queue=limits.max_queue, on_oom=free_device_memory,
                          decode_budget_bytes=limits.decode_budget_bytes)
    if not args.no_warmup:
        warm_up(engine, scheduler, args.precision)
    info = build_info(engine, args, limits, guard, token)
    notice = engine.info().get("weights_notice")
    if notice:
        (log.warning if info.weights_source == "synthetic" else log.info)("weights: %s", notice)
    log.info("model ready device=%s backend=%s precision=%s weights=%s fingerprint=%s seconds=%.1f", info.device,
             engine.info().get("backend", "torch"), info.precision, info.weights_source, info.model_fingerprint[:16],
             time.monotonic() - began)

    watchdog = Watchdog(args.stream_idle_timeout, args.stream_max_seconds)
    interceptors = [TokenInterceptor(token, on_reject=lambda m: log.warning("unauthenticated call to %s", m))] \
        if token else []
    interceptors.append(CallGuard(args.workers - RESERVED_WORKERS, watchdog))
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=args.workers, thread_name_prefix="ftpvm-rpc"),
        interceptors=interceptors, maximum_concurrent_rpcs=args.workers * 4,
        options=[("grpc.max_send_message_length", limits.max_message_bytes),
                 ("grpc.max_receive_message_length", limits.max_message_bytes),
                 ("grpc.so_reuseport", 0)])
    service = MattingService(engine, scheduler, limits, guard, info, default_settings(args),
                             temp_dir=str(engine.store.temp_dir), shm=not args.no_shm)
    pb_grpc.add_MattingServicer_to_server(service, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    service_name = pb.DESCRIPTOR.services_by_name["Matting"].full_name
    reflection.enable_server_reflection((service_name, health.SERVICE_NAME, reflection.SERVICE_NAME), server)

    host = f"[{args.bind}]" if ":" in args.bind and not args.bind.startswith("[") else args.bind
    address = f"{host}:{args.port}"
    try:
        port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    except RuntimeError as exc:
        raise ConfigError(f"cannot listen on {address} ({exc}); is another server using the port?") from None
    if port == 0:
        raise ConfigError(f"cannot listen on {address}; is another server using the port? (try --port 0)")
    server.start()
    for name in ("", service_name):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: stop.set())
    print(f"ftpvm-server: ready on {args.bind}:{port}", flush=True)
    log.info("serving address=%s:%d tls=%s auth=%s path_roots=%s", args.bind, port, bool(credentials),
             bool(token), ",".join(guard.roots) or "-")
    while not stop.wait(min(1.0, args.idle_release)):
        released = engine.release_idle(args.idle_release)
        if released:
            log.info("released the RAM caches of idle shot(s) %s (unused for %g s, --idle-release)",
                     ", ".join(released), args.idle_release)

    log.info("shutting down: finishing in-flight calls (up to %.0f s)", args.shutdown_grace)
    health_servicer.enter_graceful_shutdown()
    server.stop(args.shutdown_grace).wait(args.shutdown_grace + 5)
    watchdog.close()
    scheduler.close(cancel_running=True)
    engine.close()
    service.shm.close()
    log.info("stopped; state flushed")
    return 0


def remove_stale_files() -> None:
    """Temp files and shared-memory probes of earlier servers that no live process owns (see
    ``ftpvm_core.engine.images.remove_stale_temp_files`` and ``shm.remove_stale_probes``)."""
    from ftpvm_core.engine.images import remove_stale_temp_files

    from .shm import remove_stale_probes

    removed = remove_stale_temp_files() + remove_stale_probes()
    if removed:
        log.info("removed %d stale temp file(s) of earlier servers: %s", len(removed), ", ".join(removed[:5]))


def free_device_memory() -> None:
    """After an out-of-memory error: release cached device memory so the next job can run."""
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # noqa: BLE001
        pass


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level, args.log_format)
    try:
        return serve(args)
    except ConfigError as exc:
        print(f"ftpvm-server: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - engine start-up errors (bad weights, state dir) are one line
        from ftpvm_core.errors import EngineError

        if isinstance(exc, EngineError):
            print(f"ftpvm-server: error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
