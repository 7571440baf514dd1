"""Who may call: loopback-only by default, a bearer token for anything else.

``check_bind`` refuses a non-loopback bind without a token; ``TokenInterceptor`` rejects
calls to the Matting service whose ``authorization: Bearer <token>`` metadata does not match
(constant-time compare). Everything needs the token (reflection too) except health checks, which
stay open so supervisors can probe the server.
"""
from __future__ import annotations

import hmac
import ipaddress
import socket
from typing import Callable, Optional

import grpc

#: The one service open without a token.
OPEN_PREFIX = "/grpc.health.v1.Health/"


class AuthConfigError(Exception):
    """The server's bind/token configuration is unsafe or invalid."""


def is_loopback(host: str) -> bool:
    """True when ``host`` only reaches this machine (127.0.0.0/8, ::1, localhost)."""
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback
                       for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def check_bind(host: str, token: Optional[str]) -> None:
    """Raise AuthConfigError when binding ``host`` without a token would expose the server."""
    if token is not None and len(token) < 16:
        raise AuthConfigError("the token is shorter than 16 characters; use a long random one "
                              "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    if not is_loopback(host) and not token:
        raise AuthConfigError(f"binding {host} exposes the server to the network; give a token with --token-file, "
                              f"$FTPVM_TOKEN or --token (or bind 127.0.0.1)")


def _deny(code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
    def handler(request_or_iterator, context):
        context.abort(code, message)

    return grpc.unary_unary_rpc_method_handler(handler)


def _deny_like(handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
    """A handler of the same streaming shape as ``handler`` that aborts with ``code``."""
    def abort(request_or_iterator, context):
        context.abort(code, message)

    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(abort)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(abort)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(abort)
    return grpc.unary_unary_rpc_method_handler(abort)


class TokenInterceptor(grpc.ServerInterceptor):
    """Rejects calls (all but health checks) without the right bearer token with UNAUTHENTICATED."""

    def __init__(self, token: str, on_reject: Optional[Callable[[str], None]] = None):
        self._expected = f"Bearer {token}".encode()
        self._on_reject = on_reject

    def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        if method.startswith(OPEN_PREFIX):
            return continuation(handler_call_details)
        given = ""
        for key, value in handler_call_details.invocation_metadata or ():
            if key == "authorization":
                given = value if isinstance(value, str) else value.decode("latin-1")
        if hmac.compare_digest(given.encode("utf-8", "replace"), self._expected):
            return continuation(handler_call_details)
        if self._on_reject:
            self._on_reject(method)
        handler = continuation(handler_call_details)
        message = ("this server needs a token: pass token= to ftpvm_client.Client or set $FTPVM_TOKEN"
                   if not given else "the token does not match the server's --token")
        if handler is None:
            return _deny(grpc.StatusCode.UNAUTHENTICATED, message)
        return _deny_like(handler, grpc.StatusCode.UNAUTHENTICATED, message)
