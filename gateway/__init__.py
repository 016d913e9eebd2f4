"""GraphQL gateway of the insurer's customer space over four legacy back-ends."""

from gateway.observability.logs import configure_structlog

configure_structlog()  # before any event: never structlog's default (rich tracebacks with locals)
