"""The ``ftpvm`` command: one entry point, one sub-command per module of this package.

Each sub-command module exposes ``register(subparsers)`` which adds its parser and sets
``func`` to a callable taking the parsed namespace and returning an exit code. Every sub-command (down to the
actions of ``ftpvm shots`` and the like) gets ``--quiet`` and ``--log-level``; an ``OSError`` or
:class:`~ftpvm_cli.errors.CLIError` is one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from .console import add_common_arguments, configure, describe_os_error
from .errors import CLIError

# Sub-command modules, in the order they appear in ``ftpvm --help``.
SUBCOMMANDS: tuple[str, ...] = ("demo", "matte", "shots", "checkpoint", "nuke", "resolve")


def _version() -> str:
    import ftpvm_core

    return f"ftpvm {ftpvm_core.__version__}"


def _leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers that run something: ``parser`` itself, or the leaves under its sub-commands."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [parser]
    return [leaf for a in subs for p in dict.fromkeys(a.choices.values()) for leaf in _leaf_parsers(p)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ftpvm",
        description="FTP-VM video matting: matte shots, run the demo, manage shot state, inspect checkpoints.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(f"{__package__}.{name}").register(sub)
    for command in dict.fromkeys(sub.choices.values()):
        for leaf in _leaf_parsers(command):
            add_common_arguments(leaf)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure(args)
    try:
        return int(args.func(args) or 0)
    except CLIError as exc:
        print(f"ftpvm {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"ftpvm {args.command}: error: {describe_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ftpvm {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
