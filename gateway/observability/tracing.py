"""Tracing and the request's record: spans, the client's trace continued, what the access line says.

* `RequestInfo` (a context variable set by the ASGI middleware, `gateway/edge/middleware/observe.py`) gathers
  what the request's log line says: request id, operation, hashed viewer, back-end timings.
* One exchange with a legacy system: `backend_calls.py`; a system's health window: `health.py`.
* Tracing: the OpenTelemetry API everywhere; the SDK and the OTLP exporter only when
  `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`setup_tracing`) or a test installs its own processor.
  Without an SDK no span is started at all (`span`, `continue_trace`): the API's no-op spans
  cost about 4 % of an uncached page's CPU for nothing. The client's `traceparent` still reaches
  the back-ends.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.trace import Span

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
