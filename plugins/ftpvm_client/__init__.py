"""``ftpvm_client``: the one client every FTP-VM plugin uses to talk to ``ftpvm-server``.

Pure Python on numpy, grpcio and protobuf (no torch) over ``ftpvm_wire`` (the stubs, planes and pass names), small
enough to vendor into a host application with it (``ftpvm_client.vendoring`` says what a host must carry)::

    from ftpvm_client import Client, FTPVMError
    with Client("127.0.0.1:50051") as client:
        shot = client.open_shot("sh010", width=1920, height=1080, colorspace="ACEScg")
        shot.set_keyframe(1001, image=plate, trimap=tri)
        for r in shot.matte([(1001, plate)], passes=("alpha", "foreground")):
            r.alpha, r.foreground
"""
from ftpvm_wire.protocol import PASSES, PROTOCOL

from .connection import DEFAULT_ADDRESS, Client
from .errors import (AlreadyExists, Cancelled, DataLoss, DeadlineExceeded, FailedPrecondition, FTPVMError,
                     InvalidArgument, NotFound, PermissionDenied, ResourceExhausted, ServerError, Unauthenticated,
                     Unavailable)
from .retry import RetryPolicy
from .shot import ShotHandle
from .types import Keyframe, MatteResult, Progress, ServerInfo, ShotInfo, ShotUsage

__version__ = "0.1.0"

__all__ = [
    "Client", "ShotHandle", "DEFAULT_ADDRESS", "PROTOCOL", "PASSES", "RetryPolicy",
    "ServerInfo", "ShotInfo", "ShotUsage", "Keyframe", "MatteResult", "Progress",
    "FTPVMError", "AlreadyExists", "InvalidArgument", "NotFound", "FailedPrecondition", "Unauthenticated",
    "PermissionDenied", "ResourceExhausted", "Unavailable", "Cancelled", "DeadlineExceeded", "DataLoss",
    "ServerError",
]
