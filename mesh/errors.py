"""The allelemesh exception family and its mapping onto gRPC statuses.

Every error that can cross an API boundary is a :class:`MeshError`. Each subclass
knows its gRPC status code, a machine-readable UPPER_SNAKE ``reason`` (sent as a
``google.rpc.ErrorInfo``) and, for bad input, the request ``field`` at fault (sent
as a ``google.rpc.BadRequest``). Servicers raise these; one function turns them
into a rich ``google.rpc.Status`` so that clients never see ``INTERNAL`` or
``UNKNOWN`` for input they could have fixed.

This module is the one status <-> error codec: :meth:`MeshError.to_status` one way,
:func:`error_from_status` / :func:`error_from_rpc` the other, :func:`rich_status` /
:func:`status_of` to read what a server sent, and :func:`code_name` / :func:`code_of`
for the numeric codes a ``google.rpc.Status`` carries.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.message import DecodeError
from google.rpc import code_pb2, error_details_pb2, status_pb2

ERROR_DOMAIN = "allelemesh.org"

#: The trailer in which a server sends its rich ``google.rpc.Status``.
STATUS_DETAILS_KEY = "grpc-status-details-bin"


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


class RemoteError(MeshError):
    """A gRPC failure with a status code that has no dedicated :class:`MeshError` subclass."""

    def __init__(self, code: grpc.StatusCode, message: str, *, reason: str | None = None) -> None:
        super().__init__(message, reason=reason or code.name)
        self.code = code


_CODES: dict[int, grpc.StatusCode] = {code.value[0]: code for code in grpc.StatusCode}


def code_of(value: int) -> grpc.StatusCode:
    """The ``grpc.StatusCode`` of a numeric code (``UNKNOWN`` if out of range)."""
    return _CODES.get(value, grpc.StatusCode.UNKNOWN)


def code_name(value: int, default: str = "UNKNOWN") -> str:
    """``NOT_FOUND`` for 5: the name of a numeric status code, ``default`` if out of range."""
    code = _CODES.get(value)
    return default if code is None else str(code.name)


def rich_status(error: grpc.RpcError) -> status_pb2.Status | None:
    """The ``google.rpc.Status`` a server attached to a failed call, if any."""
    for key, value in error.trailing_metadata() or ():  # type: ignore[attr-defined]
        if key == STATUS_DETAILS_KEY and isinstance(value, bytes):
            try:
                return status_pb2.Status.FromString(value)
            except DecodeError:
                return None
    return None


def status_of(error: grpc.RpcError) -> status_pb2.Status:
    """The server's rich status if it sent one, else the call's code and message."""
    return rich_status(error) or _plain_status(error)


def _plain_status(error: grpc.RpcError) -> status_pb2.Status:
    code: grpc.StatusCode = error.code()  # type: ignore[attr-defined]
    return status_pb2.Status(code=code.value[0], message=error.details() or "")  # type: ignore[attr-defined]


def error_from_status(status: status_pb2.Status, *, prefix: str = "") -> MeshError:
    """Rebuild the :class:`MeshError` a server raised from its status and details.

    ``prefix`` goes before the message (who answered); field, reason, metadata and
    details are kept, so the error reads the same on this side of the wire.
    """
    code = code_of(status.code)
    message = prefix + (status.message or code.name)
    reason: str | None = None
    metadata: dict[str, str] = {}
    field = ""
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(info):
            reason, metadata = info.reason, dict(info.metadata)
        elif detail.Unpack(bad) and bad.field_violations:
            field = bad.field_violations[0].field
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgumentError(field, message, reason=reason, metadata=metadata)
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFoundError(message, reason=reason, metadata=metadata)
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return PermissionDeniedError(message, reason=reason, metadata=metadata)
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return ResourceExhaustedError(message, reason=reason, metadata=metadata)
    if code == grpc.StatusCode.UNAVAILABLE:
        details = list(status.details)
        return UnavailableError(message, reason=reason, metadata=metadata, details=details)
    return RemoteError(code, message, reason=reason)


def error_from_rpc(error: grpc.RpcError, target: str = "") -> MeshError:
    """The :class:`MeshError` behind a failed call (see :func:`error_from_status`).

    An ``UNAVAILABLE`` no server sent (the connection failed) names ``target``.
    """
    status = rich_status(error)
    if status is None:
        unreachable = error.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
        prefix = f"{target} is unavailable: " if unreachable and target else ""
        return error_from_status(_plain_status(error), prefix=prefix)
    if not status.message:
        status.message = error.details() or ""  # type: ignore[attr-defined]
    return error_from_status(status)
