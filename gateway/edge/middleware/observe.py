"""The request's observability at the HTTP edge (pure ASGI): the server span (continuing the
client's `traceparent`), the request id in the answer's header and in every log event, one access
line and the request metrics at the end.

    client ── traceparent, X-Request-Id ──▶ Observability (this)       span `POST /graphql`, request
                                              │                        id, log line, request metrics
                                              ▼
                                           GraphQLApp (edge/graphql_view.py)   outcome, `requestId`
                                              ▼
                                           ObservedOperation (engine/extensions)  span `query HomePage`
                                              ▼
                                           backend_call (observability/backend_calls.py)  one span
                                                                       per back-end exchange
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.edge.probes import PROBE_PATHS
from gateway.observability import metrics
from gateway.observability.logs import scrub_text
from gateway.observability.tracing import RequestInfo, continue_trace, current

log = structlog.get_logger("gateway.request")
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def request_id(given: str | None) -> str:
    """The client's `X-Request-Id` when it is sane (8–64 safe characters), else a fresh one."""
    if given and SANE_REQUEST_ID.match(given):
        return given
    return uuid.uuid4().hex


def route_of(path: str) -> str:
    if path.startswith("/documents/"):
        return "/documents/{token}"
    return path if path in ("/graphql", *PROBE_PATHS) else "other"


class Observability:
    """Pure ASGI middleware: server span (continuing the client's `traceparent`), request id in
    the response header and every log event, one log line and the request metrics at the end."""

    def __init__(self, app: ASGIApp, log_requests: bool = True) -> None:
        self.app = app
        self.log_requests = log_requests  # GATEWAY_ACCESS_LOG

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
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
            if info.error_codes:
                metrics.graphql_errors(info.error_codes)
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
