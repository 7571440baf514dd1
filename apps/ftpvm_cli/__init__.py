"""``ftpvm_cli``: the ``ftpvm`` command line, the top of the stack.

It is the only package allowed to import everything: the engine (``ftpvm_core``), the server's launcher, the client
and the host plugins' installers. Nothing imports it.
"""
from __future__ import annotations

from .errors import CLIError
from .command import build_parser, main

__all__ = ["main", "build_parser", "CLIError"]
