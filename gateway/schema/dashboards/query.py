"""Root fields of the internal dashboards (staff tokens only, every read audited)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from gateway.resolvers import dashboards
from gateway.schema.common import Info
from gateway.schema.dashboards.types import (
    BackendHealth,
    CircuitState,
    DemandeStatistics,
    LatencyPercentiles,
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
