"""What the internal dashboards show: demande volumes, each legacy system's health."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry

from gateway.domain import values as v
from gateway.domain.statistics import DemandeStatistics as Statistics
from gateway.schema import enums as _enums  # noqa: F401  (registers the GraphQL enums)
from gateway.schema.demandes.types import DemandeType


@strawberry.enum(description="State of a back-end's circuit breaker in this gateway process.")
class CircuitState(Enum):
    CLOSED = strawberry.enum_value("CLOSED", description="Calls go through.")
    HALF_OPEN = strawberry.enum_value("HALF_OPEN", description="A probe call is let through.")
    OPEN = strawberry.enum_value("OPEN", description="Failing fast: no call is made.")


@strawberry.type(description="Latency percentiles in milliseconds (null without calls).")
class LatencyPercentiles:
    p50: float | None = strawberry.field(description="Median.")
    p95: float | None = strawberry.field(description="95th percentile.")
    p99: float | None = strawberry.field(description="99th percentile.")


@strawberry.type(
    description="A legacy system as this gateway process saw it over the last 5 minutes."
)
class BackendHealth:
    backend: str = strawberry.field(description="System: policy-admin, claims, editique, crm.")
    circuit: CircuitState = strawberry.field(description="Its circuit breaker.")
    calls: int = strawberry.field(description="Exchanges (each attempt) in the window.")
    error_rate: float = strawberry.field(
        description="Share of exchanges that failed (5xx, timeout, unreachable), 0 to 1."
    )
    latency_ms: LatencyPercentiles = strawberry.field(description="Latency of the exchanges.")
    last_failure_at: datetime | None = strawberry.field(description="Last failed exchange.")


@strawberry.type(description="Demandes of one status.")
class DemandeStatusCount:
    status: v.DemandeStatus = strawberry.field(description="Status.")
    status_label: str = strawberry.field(description="French label of `status`.")
    count: int = strawberry.field(description="Demandes in this status.")


@strawberry.type(description="Demandes of one type, by status.")
class DemandeTypeStatistics:
    type: DemandeType = strawberry.field(description="Type, with its catalogue label.")
    total: int = strawberry.field(description="Demandes of this type.")
    by_status: list[DemandeStatusCount] = strawberry.field(description="Counts above 0.")


@strawberry.type(description="Demandes created over a period, every customer, by type and status.")
class DemandeStatistics:
    from_: date = strawberry.field(name="from", description="First day (included).")
    to: date = strawberry.field(description="Last day (included).")
    total: int = strawberry.field(description="All demandes of the period.")
    by_type: list[DemandeTypeStatistics] = strawberry.field(description="Types with demandes.")

    @classmethod
    def of(cls, found: Statistics) -> DemandeStatistics:
        return cls(
            from_=found.since,
            to=found.until,
            total=found.total,
            by_type=[
                DemandeTypeStatistics(
                    type=DemandeType(
                        code=t.type.code,
                        label=t.type.label,
                        category=t.type.category,
                        category_label=t.type.category.label,
                    ),
                    total=t.total,
                    by_status=[
                        DemandeStatusCount(
                            status=s.status, status_label=s.status.label, count=s.count
                        )
                        for s in t.by_status
                    ],
                )
                for t in found.by_type
            ],
        )
