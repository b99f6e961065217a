"""The allelemesh exception family and its mapping onto gRPC statuses.

Every error that can cross an API boundary is a :class:`MeshError`. Each subclass
knows its gRPC status code, a machine-readable UPPER_SNAKE ``reason`` (sent as a
``google.rpc.ErrorInfo``) and, for bad input, the request ``field`` at fault (sent
as a ``google.rpc.BadRequest``). Servicers raise these; one function turns them
into a rich ``google.rpc.Status`` so that clients never see ``INTERNAL`` or
``UNKNOWN`` for input they could have fixed.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

ERROR_DOMAIN = "allelemesh.org"


class MeshError(Exception):
    """Base of every allelemesh error."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    default_reason: str = "INTERNAL"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata = dict(metadata or {})

    def to_status(self) -> status_pb2.Status:
        """Return the ``google.rpc.Status`` with this error's details."""
        info = error_details_pb2.ErrorInfo(
            reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata
        )
        details = [_pack(info), *self._extra_details()]
        return status_pb2.Status(code=self.code.value[0], message=self.message, details=details)

    def _extra_details(self) -> list[any_pb2.Any]:
        return []


class InvalidArgumentError(MeshError, ValueError):
    """Input that can never succeed as given; names the offending field."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    default_reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        field: str,
        message: str,
        *,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.field = field

    def _extra_details(self) -> list[any_pb2.Any]:
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=self.field, description=self.message
        )
        return [_pack(error_details_pb2.BadRequest(field_violations=[violation]))]

    def with_field_prefix(self, prefix: str) -> InvalidArgumentError:
        """Return a copy whose field path is nested under ``prefix`` (e.g. ``variants[3]``)."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return InvalidArgumentError(
            field, f"{prefix}: {self.message}", reason=self.reason, metadata=self.metadata
        )


class NotFoundError(MeshError, LookupError):
    """A named resource (dataset, trace) does not exist here."""

    code = grpc.StatusCode.NOT_FOUND
    default_reason = "NOT_FOUND"


class PermissionDeniedError(MeshError):
    """The caller's identity may not see this resource."""

    code = grpc.StatusCode.PERMISSION_DENIED
    default_reason = "PERMISSION_DENIED"


class ResourceExhaustedError(MeshError):
    """A server over its limit or a caller over its budget; says when to retry."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    default_reason = "RESOURCE_EXHAUSTED"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.retry_after_s = retry_after_s

    def _extra_details(self) -> list[any_pb2.Any]:
        if self.retry_after_s is None:
            return []
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(self.retry_after_s * 1e9))
        return [_pack(error_details_pb2.RetryInfo(retry_delay=delay))]


class UnavailableError(MeshError):
    """Nothing could answer: every peer asked failed."""

    code = grpc.StatusCode.UNAVAILABLE
    default_reason = "UNAVAILABLE"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
        details: list[any_pb2.Any] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.details = list(details or [])

    def _extra_details(self) -> list[any_pb2.Any]:
        return list(self.details)


class ConfigError(MeshError):
    """A configuration file or command-line option is wrong; names the key."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = "BAD_CONFIG"


class IndexBuildError(MeshError):
    """An index could not be built from the given input; names the file and record."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    default_reason = "BAD_INPUT_RECORD"


class IndexStoreError(MeshError):
    """An index directory cannot be opened or read."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    default_reason = "INDEX_UNREADABLE"


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def ok_status() -> status_pb2.Status:
    """Return a ``google.rpc.Status`` for success."""
    return status_pb2.Status(code=code_pb2.OK, message="")


def status_from_code(code: grpc.StatusCode, message: str) -> status_pb2.Status:
    """Return a plain ``google.rpc.Status`` for a gRPC code and message."""
    return status_pb2.Status(code=code.value[0], message=message)
