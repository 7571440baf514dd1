"""What every ``ftpvm`` sub-command shares: ``--quiet`` / ``--log-level``, its messages and its progress bars.

Messages go to stderr through the ``ftpvm`` logger (info and above by default; ``--quiet`` keeps warnings and
errors). Progress bars show only on a terminal (tqdm's ``disable=None``) and never with ``--quiet``.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, Iterable

LOG = logging.getLogger("ftpvm")
LEVELS = ("debug", "info", "warning", "error")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record is emitted (so redirections and test captures work)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:  # StreamHandler.__init__ sets it; the property always reads stderr
        pass


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """``--quiet`` and ``--log-level`` on a sub-command parser."""
    group = parser.add_argument_group("messages")
    group.add_argument("--quiet", "-q", action="store_true",
                       help="print only warnings and errors; no progress bars")
    group.add_argument("--log-level", choices=LEVELS, default=None,
                       help="how much to print: debug, info (default), warning or error")


def configure(args: argparse.Namespace) -> None:
    """Set the ``ftpvm`` logger from ``--quiet`` / ``--log-level`` (a given --log-level wins)."""
    level = args.log_level or ("warning" if args.quiet else "info")
    LOG.handlers[:] = [_StderrHandler()]
    LOG.handlers[0].setFormatter(logging.Formatter("%(message)s"))
    LOG.setLevel(level.upper())
    LOG.propagate = False


def progress(iterable: Iterable | None = None, **kwargs: Any) -> Any:
    """A tqdm bar on stderr, shown only on a terminal and never when messages are at warning or above."""
    from tqdm import tqdm

    quiet = not LOG.isEnabledFor(logging.INFO)
    return tqdm(iterable, disable=True if quiet else None, **kwargs)


def info(message: str) -> None:
    """A progress message on stderr (not with --quiet)."""
    LOG.info(message)


def report(message: str) -> None:
    """A line of a command's report on stdout (not with --quiet)."""
    if LOG.isEnabledFor(logging.INFO):
        print(message)


def warning(message: str) -> None:
    LOG.warning(message)


def describe_os_error(exc: OSError) -> str:
    """One line for an OSError: what went wrong and the path, without the errno noise."""
    what = exc.strerror or str(exc) or type(exc).__name__
    paths = [p for p in (exc.filename, getattr(exc, "filename2", None)) if p is not None]
    return f"{what}: {' -> '.join(map(str, paths))}" if paths else what
