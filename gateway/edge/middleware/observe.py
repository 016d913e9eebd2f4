"""Per-request observability, wired by `create_app`: an ASGI middleware, a GraphQL view mixin and
a schema extension.

    client ── traceparent, X-Request-Id ──▶ Observability (ASGI)      span `POST /graphql`, request
                                              │                        id, log line, request metrics
                                              ▼
                                           ObservedGraphQL (view)      outcome, `extensions.requestId`
                                              ▼
                                           ObservedOperation (schema)  span `query HomePage`, operation
                                              ▼                        name, hashed viewer
                                           Transport.send              span `crm GET /crm/api/…` per
                                                                       exchange (gateway/observability/tracing.py)

Outcomes of a GraphQL request: `ok` (no error), `partial` (data and errors), `error` (no data:
a back-end or the gateway failed), `refused` (the client's request was turned down: a syntax or
validation error, no or a bad token, a staff-only field, a rate limit, a limit of the document).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import structlog
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.extensions import SchemaExtension
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from gateway.observability import metrics
from gateway.observability.logs import scrub_text
from gateway.observability.tracing import RequestInfo, continue_trace, current, span

log = structlog.get_logger("gateway.request")
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
QUIET = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})  # probes and scrapes: no log line
# codes that mean "the client's request was turned down", not "something failed"
REFUSALS = frozenset(
    {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "BAD_USER_INPUT",
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "QUERY_TOO_COMPLEX",
        "PERSISTED_QUERY_NOT_FOUND",
        "PERSISTED_QUERY_NOT_SUPPORTED",
        "OPERATION_NOT_ALLOWED",
    }
)
FIRST_OPERATION = re.compile(r"^\s*(?:query|mutation|subscription)\s+([_A-Za-z]\w*)", re.M)


def request_id(given: str | None) -> str:
    """The client's `X-Request-Id` when it is sane (8–64 safe characters), else a fresh one."""
    if given and SANE_REQUEST_ID.match(given):
        return given
    return uuid.uuid4().hex


def route_of(path: str) -> str:
    if path.startswith("/documents/"):
        return "/documents/{token}"
    return path if path in ("/graphql", *QUIET) else "other"


def viewer_hash(subject: str, key: bytes) -> str:
    """A keyed hash of a client id: the same viewer correlates across lines, the id is not there."""
    return hmac.new(key, b"viewer:" + subject.encode(), hashlib.sha256).hexdigest()[:16]


class Observability:
    """Pure ASGI middleware: server span (continuing the client's `traceparent`), request id in
    the response header and every log event, one log line and the request metrics at the end."""

    def __init__(self, app: ASGIApp, log_requests: bool = True) -> None:
        self.app = app
        self.log_requests = log_requests  # GATEWAY_ACCESS_LOG

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in QUIET:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        info = RequestInfo(request_id(headers.get("x-request-id")))
        route, method = route_of(scope["path"]), scope["method"]
        status = 500
        echoed = (b"x-request-id", info.request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), echoed]
            await send(message)

        token = current.set(info)
        bound = structlog.contextvars.bind_contextvars(request_id=info.request_id)
        try:
            with continue_trace(
                headers,
                f"{method} {route}",
                kind=SpanKind.SERVER,
                attributes={"http.request.method": method, "http.route": route},
                record_exception=False,
            ) as server_span:
                server_span.set_attribute("gateway.request_id", info.request_id)
                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    server_span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        server_span.set_status(Status(StatusCode.ERROR))
                    self.finish(info, route, method, status, scope["path"])
        finally:
            structlog.contextvars.reset_contextvars(**bound)
            current.reset(token)

    def finish(self, info: RequestInfo, route: str, method: str, status: int, path: str) -> None:
        seconds = time.perf_counter() - info.started
        if route == "/graphql" and (info.outcome is not None or status >= 400):
            # no outcome and a success: the GraphiQL page, not a GraphQL request
            if info.outcome is None:
                info.outcome = "refused" if status < 500 else "error"
            metrics.graphql_request(info.operation, info.outcome, seconds)
        if not self.log_requests:
            return
        log.info(
            "request",
            method=method,
            path=scrub_text(path),
            status=status,
            operation=metrics.operation_label(info.operation) if route == "/graphql" else None,
            outcome=info.outcome,
            viewer=info.viewer,
            duration_ms=round(seconds * 1000, 1),
            backends=info.backend_timings(),
            error_codes=sorted(set(info.error_codes)) or None,
        )


def outcome_of(response: GraphQLHTTPResponse) -> tuple[str, list[str]]:
    errors: list[dict[str, Any]] = list(response.get("errors") or [])  # type: ignore[arg-type]
    if not errors:
        return "ok", []
    codes = [
        str((e.get("extensions") or {}).get("code", "GRAPHQL_VALIDATION_FAILED")) for e in errors
    ]
    data = response.get("data")
    has_data = isinstance(data, dict) and any(v is not None for v in data.values())
    if has_data:
        return "partial", codes
    if all(
        code in REFUSALS
        or (code == "RATE_LIMITED" and "backend" not in (e.get("extensions") or {}))
        for code, e in zip(codes, errors, strict=True)
    ):
        return "refused", codes
    return "error", codes


class ObservedGraphQL(GraphQL[Any, None]):
    """The view's part: the operation name of requests refused before the schema runs, the
    outcome of every answer, and the request id in each error's `extensions.requestId`."""

    async def parse_http_body(self, request: Any) -> Any:
        data = await super().parse_http_body(request)
        info = current.get()
        if info is not None and not isinstance(data, list):
            info.operation = data.operation_name or first_operation_name(data.query)
        return data

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        info = current.get()
        if info is None:
            return response
        info.outcome, codes = outcome_of(response)
        info.error_codes.extend(codes)
        errors: list[dict[str, Any]] = response.get("errors") or []  # type: ignore[assignment]
        for error in errors:
            error["extensions"] = {**(error.get("extensions") or {}), "requestId": info.request_id}
        return response


def first_operation_name(query: str | None) -> str | None:
    found = FIRST_OPERATION.search(query or "")
    return found.group(1) if found else None


class ObservedOperation(SchemaExtension):
    """One span per GraphQL operation (never per field), named after the safelisted operation."""

    def on_operation(self) -> Iterator[None]:
        with span("graphql", kind=SpanKind.INTERNAL, record_exception=False) as operation_span:
            yield
            context = self.execution_context
            name = context.operation_name
            try:
                kind = context.operation_type.value
            except Exception:  # no document: a syntax error
                kind = "operation"
            label = metrics.operation_label(name)
            operation_span.update_name(f"{kind} {label}")
            operation_span.set_attribute("graphql.operation.name", label)
            operation_span.set_attribute("graphql.operation.type", kind)
            info = current.get()
            principal = getattr(context.context, "principal", None)
            if info is not None:
                info.operation = name
                services = getattr(context.context, "services", None)
                if principal is not None and services is not None:
                    key = services.settings.jwt_secret.get_secret_value().encode()
                    info.viewer = viewer_hash(principal.subject, key)
            result = context.result
            if result is not None and result.errors:
                operation_span.set_attribute("gateway.errors", len(result.errors))
