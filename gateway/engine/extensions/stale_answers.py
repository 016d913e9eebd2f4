"""`extensions.stale` of a response: the back-ends whose last value stood in for a failure.

`[{"backend": "crm", "asOf": "2026-11-24T09:12:00+00:00"}]` lets the app say "données du …"
instead of blanking the page. It names systems and dates only (no resource, no value).
"""

from __future__ import annotations

from typing import Any

from strawberry.extensions import SchemaExtension

from gateway.adapters.transport import budget


def stale_extensions() -> dict[str, Any]:
    """`{"stale": […]}` of the request so far, or nothing (also on incremental parts)."""
    found = budget.current.get()
    notes = found.stale_notes() if found is not None else []
    return {"stale": notes} if notes else {}


class StaleAnswers(SchemaExtension):
    def get_results(self) -> dict[str, Any]:
        return stale_extensions()
