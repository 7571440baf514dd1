"""The connection to an ``ftpvm-server``: channel, token, retries and the shot-level calls."""
from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, TypeVar, Union

import grpc

from ftpvm_wire.planes import CHUNK_BYTES
from ftpvm_wire.protocol import pb, pb_grpc

from .errors import FTPVMError, Unavailable, from_rpc_error
from .retry import RetryPolicy, call_with_retry
from .shot import ShotHandle
from .types import ServerInfo, ShotInfo, ShotUsage

if TYPE_CHECKING:  # multiprocessing is imported only when a call uses shared memory
    from .shm import ShmPool

T = TypeVar("T")

DEFAULT_ADDRESS = "127.0.0.1:50051"
#: Raised on both ends so no message size ever surfaces as an error (senders chunk at 1 MiB).
MAX_MESSAGE_BYTES = 64 << 20


class Client:
    """A connection to one server. Use as a context manager, or call ``close()``.

    ``address`` is ``host:port`` (default ``$FTPVM_SERVER`` or 127.0.0.1:50051); ``token`` (default
    ``$FTPVM_TOKEN``) is sent as ``authorization: Bearer <token>``; ``tls_root_cert`` (PEM bytes or a
    file path) switches to TLS; ``timeout`` bounds each non-streaming call in seconds.
    """

    def __init__(self, address: Optional[str] = None, token: Optional[str] = None, *,
                 timeout: float = 60.0, retry: Optional[RetryPolicy] = None,
                 tls_root_cert: Union[bytes, str, None] = None, chunk_bytes: int = CHUNK_BYTES,
                 max_message_bytes: int = MAX_MESSAGE_BYTES):
        self.address = address or os.environ.get("FTPVM_SERVER") or DEFAULT_ADDRESS
        token = token if token is not None else os.environ.get("FTPVM_TOKEN") or None
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.chunk_bytes = int(chunk_bytes)
        options = [
            ("grpc.max_send_message_length", int(max_message_bytes)),
            ("grpc.max_receive_message_length", int(max_message_bytes)),
            ("grpc.enable_retries", 0),
        ]
        if tls_root_cert is not None:
            pem = tls_root_cert if isinstance(tls_root_cert, bytes) else open(tls_root_cert, "rb").read()
            self._channel = grpc.secure_channel(self.address, grpc.ssl_channel_credentials(pem), options)
        else:
            self._channel = grpc.insecure_channel(self.address, options)
        self.stub = pb_grpc.MattingStub(self._channel)
        self._shared_memory: Optional[bool] = None
        self._shm_pool: Optional["ShmPool"] = None

    # -- plumbing ------------------------------------------------------------------------
    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel (calls in flight are cancelled) and unlink the shared-memory segments kept."""
        self._channel.close()
        if self._shm_pool is not None:
            self._shm_pool.close()

    @property
    def metadata(self) -> tuple:
        """Call metadata (the token)."""
        return self._metadata

    def call(self, method: Callable[..., T], request: Any, timeout: Optional[float] = None) -> T:
        """A unary call with the token, a timeout and transient-failure retries."""
        return call_with_retry(
            lambda: method(request, timeout=timeout or self.timeout, metadata=self._metadata), self.retry)

    def wait_ready(self, timeout: float = 30.0) -> ServerInfo:
        """Wait (bounded) until the server answers GetInfo; Unavailable if it never does."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return ServerInfo.from_proto(self.stub.GetInfo(
                    pb.GetInfoRequest(), timeout=max(0.5, min(5.0, deadline - time.monotonic())),
                    metadata=self._metadata, wait_for_ready=True))
            except grpc.RpcError as exc:
                if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise from_rpc_error(exc) from None
                if time.monotonic() >= deadline:
                    raise Unavailable(f"no ftpvm-server answered at {self.address} within {timeout:g} s; "
                                      f"is it running?") from None
                time.sleep(0.1)

    def shared_memory(self) -> bool:
        """True when this client shares POSIX shared memory with the server (same machine, the server
        offers the transport and its probe segment is readable here); asked once per client."""
        if self._shared_memory is None:
            from ftpvm_wire.shm import probe_matches

            support = self.call(self.stub.GetInfo, pb.GetInfoRequest()).shm
            self._shared_memory = bool(support.enabled) and probe_matches(support.probe_name, support.probe_token)
        return self._shared_memory

    def shm_pool(self) -> "ShmPool":
        """The shared-memory segments this client keeps between Matte calls (made on first use)."""
        if self._shm_pool is None:
            from .shm import ShmPool

            self._shm_pool = ShmPool()
        return self._shm_pool

    # -- server and shots ----------------------------------------------------------------
    def info(self) -> ServerInfo:
        """Server, engine, model and device facts, limits and the settings schema."""
        return ServerInfo.from_proto(self.call(self.stub.GetInfo, pb.GetInfoRequest()))

    def open_shot(self, shot_id: str, width: int, height: int, colorspace: str = "ACEScg",
                  settings: Optional[Dict[str, Any]] = None, reset: bool = False) -> ShotHandle:
        """Open (or create) a shot; idempotent by id. Returns a handle to drive it."""
        request = pb.OpenShotRequest(shot_id=shot_id, width=int(width), height=int(height),
                                     colorspace=colorspace, reset=reset,
                                     settings_json=json.dumps(settings) if settings is not None else "")
        info = ShotInfo.from_proto(self.call(self.stub.OpenShot, request))
        return ShotHandle(self, info)

    def shot(self, shot_id: str) -> ShotHandle:
        """A handle to an existing shot (NotFound if there is none)."""
        return ShotHandle(self, self.get_shot(shot_id))

    def get_shot(self, shot_id: str) -> ShotInfo:
        """The shot as the server holds it."""
        return ShotInfo.from_proto(self.call(self.stub.GetShot, pb.ShotRef(shot_id=shot_id)))

    def list_shots(self) -> List[ShotInfo]:
        """Every shot in the server's state directory."""
        return [ShotInfo.from_proto(s) for s in self.call(self.stub.ListShots, pb.ListShotsRequest()).shots]

    def delete_shot(self, shot_id: str) -> bool:
        """Delete a shot with its keyframes and cache; False if there was none."""
        return self.call(self.stub.DeleteShot, pb.ShotRef(shot_id=shot_id)).deleted

    def shot_usage(self) -> List[ShotUsage]:
        """Every shot's size on disk, keyframes and last change, by shot id."""
        return [ShotUsage.from_proto(s) for s in self.call(self.stub.ShotUsage, pb.ShotUsageRequest()).shots]

    def prune_shots(self, older_than_s: Optional[float] = None, max_total_bytes: Optional[int] = None,
                    dry_run: bool = False) -> List[ShotUsage]:
        """Remove shots unchanged for longer than ``older_than_s`` seconds and/or the least recently changed until
        the rest fit in ``max_total_bytes``; ``dry_run`` only names them. Returns the shots (to be) removed."""
        if older_than_s is None and max_total_bytes is None:
            raise ValueError("prune_shots needs older_than_s and/or max_total_bytes")
        request = pb.PruneShotsRequest(dry_run=dry_run)
        if older_than_s is not None:
            request.older_than_s = float(older_than_s)
        if max_total_bytes is not None:
            request.max_total_bytes = int(max_total_bytes)
        return [ShotUsage.from_proto(s) for s in self.call(self.stub.PruneShots, request).removed]


__all__: Sequence[str] = ("Client", "DEFAULT_ADDRESS", "FTPVMError")
