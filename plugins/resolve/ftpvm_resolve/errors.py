"""One message per failure, saying what to do: shown in the dialog and the console, never a traceback."""
from __future__ import annotations

from typing import Optional


class ResolveScriptError(RuntimeError):
    """A failure the user can act on; ``str()`` is the whole message."""


class ResolveNotRunning(ResolveScriptError):
    """The scripting API found no running Resolve."""


class HostError(ResolveScriptError):
    """A Resolve call failed (render, import, timeline edit)."""


class JobCancelled(ResolveScriptError):
    """The user pressed Cancel."""


def explain(exc: BaseException, address: Optional[str] = None) -> str:
    """A one-paragraph message for ``exc`` with what to do next."""
    if isinstance(exc, ResolveScriptError):
        return str(exc)
    try:
        from ftpvm_client import errors as ce
    except ImportError:  # pragma: no cover - the client is vendored next to this package
        ce = None
    if ce is not None and isinstance(exc, ce.FTPVMError):
        where = address or "the server"
        hints = {
            ce.Unavailable: f"No ftpvm-server answers at {where}. Start it (ftpvm-server) or fix the address, "
                            f"then press Run again.",
            ce.Unauthenticated: "The server wants a token: put it in the Token field (or set FTPVM_TOKEN).",
            ce.PermissionDenied: "The server may not use these files: start ftpvm-server with --allow-root on the "
                                 "output folder, or set Transport to 'pixels'.",
            ce.ResourceExhausted: "The server is busy or out of memory; wait a moment and run again, or matte a "
                                  "shorter range.",
            ce.Cancelled: "The matte was cancelled.",
            ce.DeadlineExceeded: "The server took too long to answer; check its log and run again.",
            ce.FailedPrecondition: "The shot is not ready; add a keyframe and run again.",
        }
        for cls, hint in hints.items():
            if isinstance(exc, cls):
                return f"{hint}\n(server said: {exc.message})"
        return f"The server refused the request: {exc.message}. Check the keyframes and settings, then run again."
    if isinstance(exc, OSError):
        return f"File problem: {exc}. Check the output folder exists and is writable."
    if isinstance(exc, ValueError):
        return str(exc)
    return f"Unexpected error ({type(exc).__name__}: {exc}). Details are in Resolve's console (Workspace > Console)."
