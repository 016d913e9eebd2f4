"""The internal dashboards' reads: staff only, each read audited; customers are refused.

* `demande_statistics`: the CRM's counts over a period of at most 366 days, with the catalogue's
  labels and categories (a longer or inverted period is the caller's mistake: `BAD_USER_INPUT`
  before any call, so the CRM's 400 never reaches its breaker);
* `backend_health`: what this gateway process measured of each back-end over the last minutes
  (`telemetry.HealthWindow`) and the state of its breaker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from gateway.context import Context
from gateway.domain.statistics import MAX_SPAN_DAYS, DemandeStatistics
from gateway.errors import BadInput, Forbidden
from gateway.identity.tokens import Principal

CIRCUITS = {"closed": "CLOSED", "half-opened": "HALF_OPEN", "opened": "OPEN"}


def require_staff(ctx: Context, action: str, target: str) -> Principal:
    principal = ctx.require_principal()
    if not principal.is_staff:
        raise Forbidden("Tableau de bord réservé aux conseillers.")
    ctx.services.audit.record(principal, action, target)
    return principal


async def demande_statistics(ctx: Context, since: date, until: date) -> DemandeStatistics:
    require_staff(ctx, "demandeStatistics", f"{since.isoformat()}..{until.isoformat()}")
    if until < since:
        raise BadInput("La fin de la période précède son début.", field="to")
    if (until - since).days > MAX_SPAN_DAYS:
        raise BadInput(f"La période couvre {MAX_SPAN_DAYS} jours au plus.", field="to")
    return await ctx.services.backends.crm.demande_statistics(since, until)


@dataclass(frozen=True)
class Health:
    backend: str
    circuit: str  # CLOSED, HALF_OPEN, OPEN
    calls: int
    error_rate: float
    p50: float | None
    p95: float | None
    p99: float | None
    last_failure_at: datetime | None


async def backend_health(ctx: Context) -> list[Health]:
    require_staff(ctx, "backendHealth", "-")
    backends = ctx.services.backends
    states = await backends.breakers.states()
    found = []
    for name in sorted(t.backend for t in backends.transports):
        summary: dict[str, Any] = backends.health.summary(name)
        state = states.get(name, {}).get("state", "closed")
        found.append(
            Health(
                backend=name,
                circuit=CIRCUITS.get(state, "CLOSED"),
                calls=summary["calls"],
                error_rate=round(summary["error_rate"], 4),
                p50=summary["p50"],
                p95=summary["p95"],
                p99=summary["p99"],
                last_failure_at=summary["last_failure_at"],
            )
        )
    return found
