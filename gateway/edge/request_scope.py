"""Per-request limits of issue 11, started with the request (next to its deadline).

`begin_budget(settings)` sets, for the request and every task it spawns: its back-end call and
cache-entry budget and its list of stale answers (`adapters/budget.py`), and the key of its
pagination cursors (`schema/ids.py`), derived from the gateway secret so that every gateway
process accepts the cursors of the others.
"""

from __future__ import annotations

from gateway.adapters.transport import budget
from gateway.adapters.transport.budget import RequestBudget
from gateway.schema.ids import cursor_key, derive_cursor_key
from gateway.settings import Settings


def begin_budget(settings: Settings) -> RequestBudget:
    cursor_key.set(derive_cursor_key(settings.jwt_secret.get_secret_value()))
    return budget.begin(settings.max_backend_calls, settings.cache_max_adds_per_request)
