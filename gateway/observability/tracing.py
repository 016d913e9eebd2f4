"""What one request and one back-end exchange leave behind: a span, metrics, log fields, health.

* `RequestInfo` (a context variable set by the ASGI middleware, `gateway/edge/middleware/observe.py`) gathers
  what the request's log line says: request id, operation, hashed viewer, back-end timings.
* `backend_call(...)` wraps ONE exchange with a legacy system (the transport's `send`, whatever
  HTTP client it uses): a client span named after the route template, the W3C `traceparent`
  header for the back-end, the call metrics, the request's timings and the system's health window.
* Tracing: the OpenTelemetry API everywhere; the SDK and the OTLP exporter only when
  `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`setup_tracing`) or a test installs its own processor.
  Without an SDK no span is started at all (`span`, `continue_trace`): the API's no-op spans
  cost about 4 % of an uncached page's CPU for nothing. The client's `traceparent` still reaches
  the back-ends.
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from gateway.observability import metrics

tracer = trace.get_tracer("gateway")
_provider: TracerProvider | None = None  # the SDK's, once installed (`sdk_provider`)


class _Unrecorded:
    """What `span` gives without an SDK: the API's invalid span (its methods do nothing), never
    made current, so the context keeps the client's span for `traceparent`."""

    def __enter__(self) -> Span:
        return trace.INVALID_SPAN

    def __exit__(self, *exc: object) -> None:
        return None


UNRECORDED = _Unrecorded()


def span(name: str, **options: Any) -> AbstractContextManager[Span]:
    """`tracer.start_as_current_span(name, **options)` when spans are recorded (an SDK is
    installed: the OTLP exporter or a test's processor); else nothing at all."""
    if _provider is None:
        return UNRECORDED
    return tracer.start_as_current_span(name, **options)


@contextmanager
def continue_trace(carrier: Mapping[str, str], name: str, **options: Any) -> Iterator[Span]:
    """The server span of a request, child of the client's `traceparent` in `carrier`. Without an
    SDK, only the client's context is made current (when it sent one), for the back-ends."""
    if _provider is not None:
        with span(name, context=propagate.extract(carrier), **options) as found:
            yield found
        return
    if propagate.get_global_textmap().fields.isdisjoint(carrier):  # no traceparent, no baggage
        yield trace.INVALID_SPAN
        return
    token = otel_context.attach(propagate.extract(carrier))
    try:
        yield trace.INVALID_SPAN
    finally:
        otel_context.detach(token)


# ---- the request --------------------------------------------------------------------------------


@dataclass
class RequestInfo:
    request_id: str
    started: float = field(default_factory=time.perf_counter)
    operation: str | None = None
    outcome: str | None = None
    viewer: str | None = None  # a keyed hash of the subject, never the id itself
    error_codes: list[str] = field(default_factory=list)
    backends: dict[str, list[float]] = field(default_factory=dict)  # system → ms of each call

    def backend_timings(self) -> dict[str, dict[str, float]]:
        return {
            name: {"calls": len(ms), "ms": round(sum(ms), 1), "max_ms": round(max(ms), 1)}
            for name, ms in sorted(self.backends.items())
        }


current: ContextVar[RequestInfo | None] = ContextVar("gateway_request", default=None)


# ---- route templates: bounded labels, never a URL -----------------------------------------------

TEMPLATES = {
    "policy-admin": (
        "/api/v1/personnes/{NUM_PERS}/contrats",
        "/api/v1/contrats/recherche",
        "/api/v1/contrats/{NUM_CTR}",
        "/api/v1/contrats/{NUM_CTR}/affilies",
    ),
    "claims": (
        "/prestations/v2/dossiers",
        "/prestations/v2/dossiers/{numDossier}",
        "/prestations/v2/reglements",
        "/prestations/v2/reglements/{refReglement}",
        "/prestations/v2/remboursements",
    ),
    "crm": tuple(
        "/crm/api" + p
        for p in (
            "/clients/{clientId}",
            "/clients/{clientId}/contact",
            "/clients/{clientId}/preferences",
            "/clients/{clientId}/demandes",
            "/interlocuteurs/{interlocuteurId}",
            "/demandes",
            "/demandes/statistiques",
            "/demandes/{demandeId}",
            "/types-demandes",
            "/pieces-jointes",
            "/pieces-jointes/{pieceJointeId}",
            "/comptes",
            "/comptes/activation",
            "/authentification",
            "/comptes/mot-de-passe-oublie",
            "/comptes/reinitialisation",
            "/comptes/{clientId}/mot-de-passe",
            "/comptes/{clientId}/rattachements",
        )
    ),
}
SOAP_OPERATIONS = frozenset({"RechercherDocuments", "RecupererDocument", "GenererAttestation"})


def _compile(templates: tuple[str, ...]) -> list[tuple[re.Pattern[str], str]]:
    # literal routes first, so `/demandes/statistiques` is not `/demandes/{demandeId}`
    ordered = sorted(templates, key=lambda t: (t.count("{"), -len(t)))
    return [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", t) + "/?$"), t) for t in ordered]


ROUTES = {name: _compile(templates) for name, templates in TEMPLATES.items()}


def route_template(backend: str, method: str, path: str, headers: Mapping[str, str] | None) -> str:
    """`GET /crm/api/clients/{clientId}` for `/crm/api/clients/C0001001`; `other` when unknown."""
    if backend == "editique":
        action = (headers or {}).get("SOAPAction", "").strip('"').rsplit("/", 1)[-1]
        return f"{method} /editique/ws {action if action in SOAP_OPERATIONS else 'other'}"
    return _route(backend, method, path)


# a page's paths recur (one client's, one contract's): no regex scan each time
@lru_cache(maxsize=4096)
def _route(backend: str, method: str, path: str) -> str:
    if path == "/":
        return f"{method} /"
    for pattern, template in ROUTES.get(backend, []):
        if pattern.match(path):
            return f"{method} {template}"
    return f"{method} other"


# ---- health of each back-end over a sliding window (the `backendHealth` dashboard) --------------


@dataclass
class Measurement:
    at: float  # time.time()
    ms: float
    failed: bool


class HealthWindow:
    """This process's recent exchanges with each system: kept `window_s` seconds, bounded."""

    def __init__(self, window_s: float = 300.0, max_per_backend: int = 10_000) -> None:
        self.window_s = window_s
        self.calls: dict[str, deque[Measurement]] = {}
        self.max_per_backend = max_per_backend
        self.last_failure: dict[str, float] = {}

    def record(self, backend: str, ms: float, failed: bool) -> None:
        now = time.time()
        calls = self.calls.setdefault(backend, deque(maxlen=self.max_per_backend))
        calls.append(Measurement(now, ms, failed))
        if failed:
            self.last_failure[backend] = now

    def summary(self, backend: str) -> dict[str, Any]:
        horizon = time.time() - self.window_s
        calls = self.calls.get(backend, deque())
        while calls and calls[0].at < horizon:
            calls.popleft()
        timings = sorted(m.ms for m in calls)
        failures = sum(1 for m in calls if m.failed)
        last = self.last_failure.get(backend)
        return {
            "calls": len(timings),
            "error_rate": failures / len(timings) if timings else 0.0,
            "p50": percentile(timings, 50),
            "p95": percentile(timings, 95),
            "p99": percentile(timings, 99),
            "last_failure_at": datetime.fromtimestamp(last, UTC) if last else None,
        }


def percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile of sorted values (None when there are none)."""
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n·q/100)
    return round(ordered[int(rank) - 1], 1)


# ---- one exchange with a back-end ---------------------------------------------------------------


class Call:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers
        self.status: int | None = None

    def answered(self, status: int) -> None:
        self.status = status


def outcome_of(status: int | None, error: BaseException | None) -> str:
    if error is not None:
        from gateway.errors import BackendTimeout

        return "timeout" if isinstance(error, BackendTimeout | TimeoutError) else "unreachable"
    if status is None or status < 400:
        return "ok"
    if status == 404:
        return "not_found"
    return "rejected" if status < 500 else "error"


@contextmanager
def backend_call(
    backend: str,
    method: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    health: HealthWindow | None = None,
) -> Iterator[Call]:
    """Around one exchange: `call.headers` (the caller's, plus `traceparent`) must be sent, and
    `call.answered(status)` said once the answer is in."""
    route = route_template(backend, method, path, headers)
    with span(
        f"{backend} {route}",
        kind=SpanKind.CLIENT,
        attributes={"gateway.backend": backend, "http.request.method": method, "http.route": route},
        record_exception=False,  # an exception's text may quote a body; the status says enough
        set_status_on_exception=False,
    ) as current_span:
        sent = dict(headers or {})
        propagate.inject(sent)
        call = Call(sent)
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            yield call
        except BaseException as exc:
            error = exc
            raise
        finally:
            seconds = time.perf_counter() - started
            outcome = outcome_of(call.status, error)
            failed = outcome in ("error", "timeout", "unreachable")
            if call.status is not None:
                current_span.set_attribute("http.response.status_code", call.status)
            current_span.set_attribute("gateway.outcome", outcome)
            if failed:
                current_span.set_status(Status(StatusCode.ERROR, outcome))
            metrics.backend_call(backend, route, outcome, seconds)
            if health is not None:
                health.record(backend, seconds * 1000, failed)
            info = current.get()
            if info is not None:
                info.backends.setdefault(backend, []).append(seconds * 1000)


# ---- tracing set-up -----------------------------------------------------------------------------


def sdk_provider() -> TracerProvider:
    """The process's SDK tracer provider, installed once."""
    global _provider
    if _provider is None:
        service = os.environ.get("OTEL_SERVICE_NAME", "espace-client-gateway")
        _provider = TracerProvider(resource=Resource.create({"service.name": service}))
        trace.set_tracer_provider(_provider)
    return _provider


def add_span_processor(processor: SpanProcessor) -> None:
    sdk_provider().add_span_processor(processor)


_exporting = False


def setup_tracing() -> None:
    """Export spans over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the exporter reads
    the standard `OTEL_*` variables: endpoint, headers, `OTEL_SERVICE_NAME`…); else nothing."""
    global _exporting
    if _exporting or not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _exporting = True
