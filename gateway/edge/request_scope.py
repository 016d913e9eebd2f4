"""A request's scope, set once when it arrives and inherited by every task it spawns: its
deadline (`adapters/transport/resilience.py`), its back-end call and cache-entry budget and its
list of stale answers (`adapters/transport/budget.py`), and the key of its pagination cursors
(`schema/ids.py`, the same in every gateway process: `Services.cursor_key`)."""

from __future__ import annotations

from gateway.adapters.transport import budget
from gateway.adapters.transport.budget import RequestBudget
from gateway.adapters.transport.resilience import start_deadline
from gateway.context import Services
from gateway.schema.ids import cursor_key


def begin_request(services: Services) -> RequestBudget:
    settings = services.settings
    start_deadline(settings.request_deadline_s)
    cursor_key.set(services.cursor_key)
    return budget.begin(settings.max_backend_calls, settings.cache_max_adds_per_request)
