"""Start an ``ftpvm-server`` subprocess on a free loopback port (for ``ftpvm demo``, tests, tools).

    with local_server(state_dir=tmp) as server:
        with Client(server.address) as client: ...

The server picks its own free port (``--port 0``) and reports it on its first stdout line, so
there is no race for the port. On exit the server gets SIGTERM (graceful), then SIGKILL if it
does not stop in time.
"""
from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import IO, Iterator, Optional, Sequence

READY_PREFIX = "ftpvm-server: ready on "


class LaunchError(RuntimeError):
    """The server did not start; the message carries the end of its log."""


@dataclass
class LocalServer:
    """A running server subprocess."""

    process: subprocess.Popen
    address: str
    log_path: Optional[str]

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])

    def log_tail(self, lines: int = 20) -> str:
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, wait up to ``timeout`` s, then SIGKILL; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL (as a crash would), and reap."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


def server_command(*, state_dir: Optional[str] = None, weights: Optional[str] = None, port: int = 0,
                   extra: Sequence[str] = ()) -> list[str]:
    """The command line of a loopback server (``python -m ftpvm_server``)."""
    cmd = [sys.executable, "-m", "ftpvm_server", "--bind", "127.0.0.1", "--port", str(port)]
    if state_dir:
        cmd += ["--state-dir", str(state_dir)]
    if weights:
        cmd += ["--weights", str(weights)]
    return cmd + list(extra)


def _read_ready(stdout: IO[str], process: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    buffer = ""
    fd = stdout.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            data = os.read(fd, 4096).decode(errors="replace")
            if not data:  # stdout closed: the process ended
                break
            buffer += data
            for line in buffer.splitlines():
                if line.startswith(READY_PREFIX):
                    return line[len(READY_PREFIX):].strip()
        elif process.poll() is not None:
            break
    raise LaunchError("no ready line")


def child_env(env: Optional[dict] = None) -> dict:
    """The environment for the server process: PYTHONPATH reaches the packages this process uses,
    so a checkout that is not installed works too."""
    import importlib.util

    env = dict(os.environ if env is None else env)
    paths = []
    for package in ("ftpvm_server", "ftpvm_wire", "ftpvm_core"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            parent = os.path.dirname(os.path.dirname(spec.origin))
            if parent not in paths:
                paths.append(parent)
    existing = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in existing if p not in paths])
    return env


def start_server(*, state_dir: Optional[str] = None, weights: Optional[str] = None, port: int = 0,
                 extra: Sequence[str] = (), log_path: Optional[str] = None, timeout: float = 120.0,
                 env: Optional[dict] = None) -> LocalServer:
    """Start a server and wait (bounded) until it serves; LaunchError with its log if it fails."""
    log_file = open(log_path, "ab") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(server_command(state_dir=state_dir, weights=weights, port=port, extra=extra),
                               stdout=subprocess.PIPE, stderr=log_file, env=child_env(env),
                               start_new_session=True)
    if log_path:
        log_file.close()  # the child holds its own descriptor
    server = LocalServer(process, "", log_path)
    try:
        server.address = _read_ready(process.stdout, process, timeout)
    except LaunchError:
        server.kill()
        tail = server.log_tail()
        status = process.returncode
        raise LaunchError(f"ftpvm-server did not start (exit status {status}, waited up to {timeout:g} s)"
                          + (f"; its log ends:\n{tail}" if tail else "")) from None
    return server


@contextlib.contextmanager
def local_server(*, state_dir: Optional[str] = None, weights: Optional[str] = None,
                 extra: Sequence[str] = (), log_path: Optional[str] = None,
                 timeout: float = 120.0) -> Iterator[LocalServer]:
    """Run a loopback ``ftpvm-server`` on a free port for the duration of the block."""
    server = start_server(state_dir=state_dir, weights=weights, extra=extra, log_path=log_path, timeout=timeout)
    try:
        yield server
    finally:
        server.stop()
