"""Errors as RFC 7807 ``application/problem+json``, and the request body size limit.

Every error leaves the HTTP API as a problem document with ``type``, ``title``,
``status`` and ``detail``, plus the extensions ``field`` (the request parameter at
fault) and ``reason`` (the machine-readable cause), and ``outcomes`` when every node
failed. FastAPI's request validation errors (422) become 400s naming the parameter.
Under ``/api`` (Beacon) the document also carries Beacon's ``meta`` and ``error``, so
it is a valid ``beaconErrorResponse`` too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.convert import JsonObject, outcome_json, outcomes_from_details
from mesh.errors import InvalidArgumentError, MeshError, UnavailableError

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://allelemesh.org/problems/"

#: HTTP status of each gRPC code a backend may answer with.
_HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    # FAILED_PRECONDITION from a backend is a server-side state (an unreadable index).
    grpc.StatusCode.FAILED_PRECONDITION: 503,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "reason": {"type": "string"},
        "field": {"type": "string"},
        "outcomes": {"type": "array", "items": {"type": "object"}},
    },
}


def _documented(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_SCHEMA}},
    }


#: OpenAPI ``responses`` of the errors every route may answer with.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented("Bad request: the problem names the parameter (field) at fault"),
    404: _documented("No such dataset or resource"),
    413: _documented("Request body too large"),
    503: _documented("No node could answer; outcomes say why"),
    504: _documented("The deadline passed before the nodes answered"),
}


class ProblemError(Exception):
    """An HTTP error raised by a route; rendered as a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        reason: str | None = None,
        field: str | None = None,
        extra: JsonObject | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.reason = reason or HTTPStatus(status).name
        self.field = field
        self.extra = dict(extra or {})


def bad_request(field: str, detail: str, reason: str = "INVALID_ARGUMENT") -> ProblemError:
    """A 400 naming the request parameter at fault."""
    return ProblemError(400, detail, reason=reason, field=field)


def problem_from_mesh_error(error: MeshError) -> ProblemError:
    """The problem for an error a backend raised (or request parsing raised)."""
    status = _HTTP_STATUS.get(error.code, 500)
    if status == 500:
        # INTERNAL is a bug somewhere: log it, but do not leak the message.
        log.error("backend failed: %s (%s)", error.message, error.reason)
        return ProblemError(500, "internal error; it has been logged", reason="INTERNAL")
    extra: JsonObject = {}
    if error.metadata:
        extra["metadata"] = dict(error.metadata)
    if isinstance(error, UnavailableError):
        extra["outcomes"] = [outcome_json(o) for o in outcomes_from_details(error.details)]
    field = error.field or None if isinstance(error, InvalidArgumentError) else None
    if field is None and "field" in error.metadata:
        field = error.metadata["field"]
    return ProblemError(status, error.message, reason=error.reason, field=field, extra=extra)


def problem_body(problem: ProblemError) -> JsonObject:
    """The RFC 7807 document of a problem."""
    body: JsonObject = {
        "type": PROBLEM_TYPE_BASE + problem.reason.lower().replace("_", "-"),
        "title": _title(problem.status),
        "status": problem.status,
        "detail": problem.detail,
        "reason": problem.reason,
    }
    if problem.field:
        body["field"] = problem.field
    body.update(problem.extra)
    return body


def _title(status: int) -> str:
    if status == 499:
        return "Client Closed Request"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


#: Adds Beacon's ``meta``/``error`` to problems under ``/api`` (set by the Beacon module).
BeaconDecorator = Callable[[Request, JsonObject], JsonObject]


def problem_response(request: Request, problem: ProblemError) -> JSONResponse:
    """Render a problem, in Beacon dress under ``/api``."""
    body = problem_body(problem)
    decorate: BeaconDecorator | None = getattr(request.app.state, "beacon_error_decorator", None)
    if decorate is not None and request.url.path.startswith("/api"):
        body = decorate(request, body)
    headers = {"Retry-After": "1"} if problem.status in (429, 503) else None
    return JSONResponse(
        body, status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


def _validation_field(error: dict[str, Any]) -> str:
    """``page_size`` from FastAPI's ``loc`` ``("query", "page_size")``; body paths dotted."""
    loc = [str(part) for part in error.get("loc", ())]
    if loc and loc[0] in ("query", "path", "header", "body", "cookie"):
        loc = loc[1:]
    return ".".join(loc) or "body"


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(request, exc)


async def _on_mesh_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MeshError)
    return problem_response(request, problem_from_mesh_error(exc))


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {}
    field = _validation_field(first)
    message = str(first.get("msg", "invalid request"))
    detail = f"{field}: {message}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more problems)"
    violations = [{"field": _validation_field(e), "message": str(e.get("msg"))} for e in errors]
    problem = ProblemError(
        400, detail, reason="INVALID_ARGUMENT", field=field, extra={"violations": violations}
    )
    return problem_response(request, problem)


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no such resource: {request.url.path}"
    problem = ProblemError(exc.status_code, detail)
    response = problem_response(request, problem)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return problem_response(
        request, ProblemError(500, "internal error; it has been logged", reason="INTERNAL")
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of ``app`` a problem document."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(MeshError, _on_mesh_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)


#: Most bytes read and discarded from a refused body before answering 413.
DRAIN_LIMIT = 16 * 1024 * 1024


class BodySizeLimit:
    """ASGI middleware: refuse bodies above ``max_bytes`` with a 413 problem.

    The body is read (up to the limit) before the app runs and then replayed, so a
    chunked body without ``Content-Length`` is held to the same limit, and the app
    never sees a half-read body. Bodies here are small JSON documents, so holding one
    in memory is what the app would do anyway.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._refuse(scope, receive, send, drain=int(value) <= DRAIN_LIMIT)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, *, drain: bool = True
    ) -> None:
        # A client that is still uploading only reads the answer once its body is sent;
        # closing on it mid-upload shows up as a reset, not a 413. So read and discard
        # what is left, up to DRAIN_LIMIT.
        drained = 0
        while drain and drained <= DRAIN_LIMIT:
            message = await receive()
            if message["type"] != "http.request":
                return
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        request = Request(scope, receive)
        problem = ProblemError(
            413,
            f"request body is larger than {self.max_bytes} bytes",
            reason="BODY_TOO_LARGE",
        )
        response = problem_response(request, problem)
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
