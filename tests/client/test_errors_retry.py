"""Errors map gRPC statuses to classes; transient failures retry with bounded backoff."""
from __future__ import annotations

import grpc
import pytest

import ftpvm_client
from ftpvm_client.errors import error_for, from_rpc_error
from ftpvm_client.retry import RetryPolicy, call_with_retry
from ftpvm_wire.protocol import RETRY_AFTER_KEY


class FakeRpcError(grpc.RpcError):
    def __init__(self, code, details="", trailing=()):
        self._code, self._details, self._trailing = code, details, trailing

    def code(self):
        return self._code

    def details(self):
        return self._details

    def trailing_metadata(self):
        return self._trailing


@pytest.mark.parametrize("code, cls", [
    (grpc.StatusCode.INVALID_ARGUMENT, ftpvm_client.InvalidArgument),
    (grpc.StatusCode.NOT_FOUND, ftpvm_client.NotFound),
    (grpc.StatusCode.FAILED_PRECONDITION, ftpvm_client.FailedPrecondition),
    (grpc.StatusCode.ALREADY_EXISTS, ftpvm_client.AlreadyExists),
    (grpc.StatusCode.UNAUTHENTICATED, ftpvm_client.Unauthenticated),
    (grpc.StatusCode.PERMISSION_DENIED, ftpvm_client.PermissionDenied),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, ftpvm_client.ResourceExhausted),
    (grpc.StatusCode.UNAVAILABLE, ftpvm_client.Unavailable),
    (grpc.StatusCode.CANCELLED, ftpvm_client.Cancelled),
    (grpc.StatusCode.DEADLINE_EXCEEDED, ftpvm_client.DeadlineExceeded),
    (grpc.StatusCode.INTERNAL, ftpvm_client.ServerError),
    (grpc.StatusCode.DATA_LOSS, ftpvm_client.DataLoss),  # a ServerError too: a damaged shot record
])
def test_status_codes_map_to_error_classes(code, cls):
    error = from_rpc_error(FakeRpcError(code, "what to fix"))
    assert type(error) is cls and isinstance(error, ftpvm_client.FTPVMError)
    assert error.code == code and error.message == "what to fix"
    assert str(error) == f"{code.name}: what to fix"


def test_frame_errors_name_the_frame_and_busy_errors_carry_the_hint():
    assert "(frame 1001)" in str(error_for(grpc.StatusCode.INVALID_ARGUMENT, "bad", frame=1001))
    busy = from_rpc_error(FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "busy", ((RETRY_AFTER_KEY, "250"),)))
    assert busy.retry_after == 0.25


def test_unavailable_is_retried_until_it_works():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise FakeRpcError(grpc.StatusCode.UNAVAILABLE, "connection refused")
        return "ok"

    assert call_with_retry(flaky, RetryPolicy(attempts=5, initial=0.001, maximum=0.002)) == "ok"
    assert len(calls) == 3


def test_retries_are_bounded_and_permanent_errors_are_not_retried():
    calls = []

    def down():
        calls.append(1)
        raise FakeRpcError(grpc.StatusCode.UNAVAILABLE, "connection refused")

    with pytest.raises(ftpvm_client.Unavailable):
        call_with_retry(down, RetryPolicy(attempts=4, initial=0.001, maximum=0.002))
    assert len(calls) == 4

    calls.clear()

    def bad():
        calls.append(1)
        raise FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT, "bad size")

    with pytest.raises(ftpvm_client.InvalidArgument):
        call_with_retry(bad, RetryPolicy(attempts=4, initial=0.001))
    assert len(calls) == 1

    calls.clear()

    def busy_without_hint():  # out of memory: no hint, so no retry
        calls.append(1)
        raise FakeRpcError(grpc.StatusCode.RESOURCE_EXHAUSTED, "out of memory")

    with pytest.raises(ftpvm_client.ResourceExhausted):
        call_with_retry(busy_without_hint, RetryPolicy(attempts=4, initial=0.001))
    assert len(calls) == 1
