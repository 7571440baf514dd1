"""Errors raised by the client: one class per gRPC status a plugin may want to handle.

Every error carries the gRPC status ``code`` and the server's ``message`` (which says what to
fix); ``str(error)`` is that message prefixed by the status name, ready for an artist.
"""
from __future__ import annotations

from typing import Optional, Tuple

import grpc

from ftpvm_wire.protocol import RETRY_AFTER_KEY


class FTPVMError(Exception):
    """Base of every error the client raises."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str, code: Optional[grpc.StatusCode] = None, frame: Optional[int] = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.frame = frame

    def __str__(self) -> str:
        where = f" (frame {self.frame})" if self.frame is not None else ""
        return f"{self.code.name}{where}: {self.message}"


class InvalidArgument(FTPVMError):
    """The request was malformed: wrong size or dtype, bad trimap, corrupt EXR, bad name..."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(FTPVMError):
    """The shot (or keyframe) does not exist on the server."""

    code = grpc.StatusCode.NOT_FOUND


class FailedPrecondition(FTPVMError):
    """The request is valid but the shot is not ready for it (e.g. no keyframe yet). ``resend_frames``: frames the
    server asks for again before this one (its stored state was evicted or damaged); empty otherwise."""

    code = grpc.StatusCode.FAILED_PRECONDITION

    def __init__(self, message: str, code: Optional[grpc.StatusCode] = None, frame: Optional[int] = None,
                 resend_frames: Tuple[int, ...] = ()):
        super().__init__(message, code, frame)
        self.resend_frames = tuple(resend_frames)




class AlreadyExists(FTPVMError):
    """The shot exists with another size, colorspace or settings (open it with ``reset=True``)."""

    code = grpc.StatusCode.ALREADY_EXISTS


class Unauthenticated(FTPVMError):
    """The server needs a token (``Client(..., token=...)`` or ``$FTPVM_TOKEN``)."""

    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(FTPVMError):
    """A path outside the server's ``--allow-root`` directories, or path mode disabled."""

    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(FTPVMError):
    """The server is busy or out of memory; ``retry_after`` (seconds) says when to try again."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED

    def __init__(self, message: str, code: Optional[grpc.StatusCode] = None, frame: Optional[int] = None,
                 retry_after: Optional[float] = None):
        super().__init__(message, code, frame)
        self.retry_after = retry_after


class Unavailable(FTPVMError):
    """The server cannot be reached (not running, restarting, wrong address)."""

    code = grpc.StatusCode.UNAVAILABLE


class Cancelled(FTPVMError):
    """The work was cancelled (by the caller or by a server shutdown)."""

    code = grpc.StatusCode.CANCELLED


class DeadlineExceeded(FTPVMError):
    """The call took longer than its timeout."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


class ServerError(FTPVMError):
    """The server failed unexpectedly (INTERNAL, UNKNOWN, ...); its log has the details."""

    code = grpc.StatusCode.INTERNAL


class DataLoss(ServerError):
    """The server's record of the shot is damaged (DATA_LOSS): delete the shot and open it again."""

    code = grpc.StatusCode.DATA_LOSS


_BY_CODE = {cls.code: cls for cls in (
    InvalidArgument, NotFound, FailedPrecondition, AlreadyExists, Unauthenticated, PermissionDenied,
    ResourceExhausted, Unavailable, Cancelled, DeadlineExceeded, DataLoss,
)}


def error_for(code: grpc.StatusCode, message: str, frame: Optional[int] = None,
              retry_after: Optional[float] = None, resend_frames: Tuple[int, ...] = ()) -> FTPVMError:
    """The FTPVMError subclass instance for a status code and message."""
    cls = _BY_CODE.get(code, ServerError)
    if cls is ResourceExhausted:
        return ResourceExhausted(message, code, frame, retry_after=retry_after)
    if cls is FailedPrecondition:
        return FailedPrecondition(message, code, frame, resend_frames=resend_frames)
    return cls(message, code, frame)


def from_rpc_error(exc: grpc.RpcError) -> FTPVMError:
    """Translate a grpc.RpcError (a failed call) into an FTPVMError."""
    code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
    message = (exc.details() if hasattr(exc, "details") else None) or str(exc)
    retry_after = None
    try:
        for key, value in exc.trailing_metadata() or ():
            if key == RETRY_AFTER_KEY:
                retry_after = int(value) / 1000.0
    except Exception:  # noqa: BLE001 - metadata is optional on some error objects
        pass
    return error_for(code, message, retry_after=retry_after)
