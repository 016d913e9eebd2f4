"""What one GraphQL request may spend, and what it noticed, carried by a context variable.

Like the deadline (`resilience.deadline`), a `RequestBudget` is set once per request
(`begin(...)` in the app's `get_context`) and inherited by every task the request spawns:

* **back-end calls**: each attempt of each legacy call spends one (`spend_call`); past the budget
  (`GATEWAY_MAX_BACKEND_CALLS`, 60) the request gets `TooManyBackendCalls` instead of a call, so a
  runaway document (1 000 aliases of `reglement(id)`) ends without hammering a back-end. It is
  raised before the breaker: it never counts against a back-end.
* **cache entries added**: a request may store at most `cache_adds` new entries
  (`GATEWAY_CACHE_MAX_ADDS_PER_REQUEST`): one customer choosing ids cannot fill the cache.
* **stale answers served**: when a back-end failed and the cache's last value was served instead
  (stale-if-error), the back-end and the value's date, for the response's `extensions.stale`.

Outside a request (scripts, unit tests of an adapter) nothing is limited and nothing is noted.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gateway.errors import TooManyBackendCalls


@dataclass
class RequestBudget:
    calls_left: int
    cache_adds_left: int
    stale: dict[str, float] = field(default_factory=dict)  # backend -> oldest value's time

    def stale_notes(self) -> list[dict[str, str]]:
        """`[{backend, asOf}]`: which systems answered from the last value seen, and of when.
        Nothing personal: no resource path (it holds customer ids), no value."""
        return [
            {"backend": backend, "asOf": datetime.fromtimestamp(at, UTC).isoformat()}
            for backend, at in sorted(self.stale.items())
        ]


current: ContextVar[RequestBudget | None] = ContextVar("gateway_request_budget", default=None)


def begin(max_calls: int, max_cache_adds: int) -> RequestBudget:
    budget = RequestBudget(max_calls, max_cache_adds)
    current.set(budget)
    return budget


def spend_call(backend: str) -> None:
    """One attempt of a legacy call; `TooManyBackendCalls` once the request's budget is spent."""
    budget = current.get()
    if budget is None:
        return
    if budget.calls_left <= 0:
        raise TooManyBackendCalls()
    budget.calls_left -= 1


def may_add_to_cache() -> bool:
    """Whether the request may still store a new cache entry (and counts it)."""
    budget = current.get()
    if budget is None:
        return True
    if budget.cache_adds_left <= 0:
        return False
    budget.cache_adds_left -= 1
    return True


def note_stale(backend: str, stored_at: float) -> None:
    budget = current.get()
    if budget is not None:
        budget.stale[backend] = min(stored_at, budget.stale.get(backend, stored_at))
