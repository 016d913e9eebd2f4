"""Root fields of the internal dashboards (staff tokens only, every read audited)."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Annotated

import strawberry

from gateway.domain import values as v
from gateway.domain.statistics import DemandeStatistics as Statistics
from gateway.resolvers import dashboards
from gateway.schema import enums as _enums  # noqa: F401  (registers the GraphQL enums)
from gateway.schema.common import Info
from gateway.schema.values import DemandeType


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


@strawberry.type(description="Internal dashboards.")
class DashboardsQuery:
    @strawberry.field(
        description="Demande volumes by type and status between two days (at most 366 days "
        "apart), all customers. Staff only, audited."
    )
    async def demande_statistics(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from", description="First day.")],
        to: Annotated[date, strawberry.argument(description="Last day (included).")],
    ) -> DemandeStatistics | None:
        return DemandeStatistics.of(await dashboards.demande_statistics(info.context, from_, to))

    @strawberry.field(
        description="Each legacy system as this gateway process measured it over the last "
        "5 minutes: circuit, calls, error rate, latency percentiles. Staff only, audited."
    )
    async def backend_health(self, info: Info) -> list[BackendHealth] | None:
        return [
            BackendHealth(
                backend=h.backend,
                circuit=CircuitState(h.circuit),
                calls=h.calls,
                error_rate=h.error_rate,
                latency_ms=LatencyPercentiles(p50=h.p50, p95=h.p95, p99=h.p99),
                last_failure_at=h.last_failure_at,
            )
            for h in await dashboards.backend_health(info.context)
        ]
