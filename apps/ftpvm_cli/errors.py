"""The command line's one error type."""
from __future__ import annotations


class CLIError(Exception):
    """A user-facing error: printed as one line, exit code 2."""
