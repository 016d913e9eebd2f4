"""One span per GraphQL operation (never per field), named after the safelisted operation; the
operation's name and a keyed hash of its viewer for the request's access line."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

from opentelemetry.trace import SpanKind
from strawberry.extensions import SchemaExtension

from gateway.engine.incremental import is_incremental
from gateway.observability import metrics
from gateway.observability.tracing import current, span


def viewer_hash(subject: str, key: bytes) -> str:
    """A keyed hash of a client id: the same viewer correlates across lines, the id is not there."""
    return hmac.new(key, b"viewer:" + subject.encode(), hashlib.sha256).hexdigest()[:16]


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
            if is_incremental(result):  # the span ends with the first part
                result = result.initial_result
            if result is not None and result.errors:
                operation_span.set_attribute("gateway.errors", len(result.errors))
