"""What the artist reads when something goes wrong: one message that says what to do."""
from __future__ import annotations

from typing import Any

from .plan import TITLE, PlanError


def explain(error: BaseException, address: str = "") -> str:
    """A message for a Nuke dialog (no traceback) for any error the node can meet."""
    if isinstance(error, PlanError):
        return f"{TITLE}: {error}"
    name = type(error).__name__
    text = getattr(error, "message", None) or str(error)
    if name == "Unavailable":
        return (f"{TITLE}: cannot reach the FTPVM server at {address or 'the given address'}.\n"
                f"Start it on that machine with 'ftpvm-server' (add '--allow-root <cache folder>' for "
                f"path mode), or fix the 'server' knob, then try again.")
    if name in ("AlreadyExists", "FailedPrecondition") and ("size" in text or "colo" in text):
        return (f"{TITLE}: the server already has this shot with another size or colour space ({text}).\n"
                f"Use another 'shot id', or press 'clear cache' and process again.")
    if name == "FailedPrecondition":
        return f"{TITLE}: {text}\nSet a keyframe (go to a frame with a good roto, press 'set keyframe')."
    if name in ("Unauthenticated", "PermissionDenied"):
        return f"{TITLE}: the server refused the request: {text}"
    if name == "InvalidArgument":
        return f"{TITLE}: the server refused the input: {text}"
    if name == "ResourceExhausted":
        return f"{TITLE}: the server is busy ({text}). Try again in a moment."
    if name == "DeadlineExceeded":
        return f"{TITLE}: the server did not answer in time ({text}). Check that it is running, then try again."
    if name in ("Cancelled",):
        return f"{TITLE}: cancelled."
    if isinstance(error, ImportError):
        return (f"{TITLE}: the FTPVM client is not installed for Nuke's Python ({text}).\n"
                f"Run 'ftpvm nuke install' (see the FTPVM Nuke README), then restart Nuke.")
    if isinstance(error, RuntimeError):
        return (f"{TITLE}: Nuke could not render an input: {text}\n"
                f"Check that the Source and Roto inputs render at that frame.")
    if isinstance(error, OSError):
        return f"{TITLE}: cannot use the cache folder: {text}\nCheck the 'cache folder' knob and its permissions."
    return f"{TITLE}: unexpected error ({name}: {text}). Details are in the Script Editor."


def status_line(info: Any, transfer: str) -> str:
    """The status knob's text after a successful connection."""
    model = f"{info.weights_source} weights ({info.model_fingerprint[:8]})"
    return f"connected: {info.device}, {model}, server {info.server_version}, {transfer} transfer"
