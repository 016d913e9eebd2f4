"""The in-process mocks: what serves a back-end whose URL is unset (development, tests, the demo).

They come with the `mocks` extra (`pip install 'espace-client-gateway[mocks]'`). An install
without it runs against real back-ends only (every URL set, as production requires) and never
imports them; with a URL unset it stops at start-up with `MocksUnavailable`, which says what to do.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.settings import Settings

VARIABLES = {
    "policy-admin": "POLICY_ADMIN_URL",
    "claims": "CLAIMS_URL",
    "editique": "EDITIQUE_URL",
    "crm": "CRM_URL",
}


class MocksUnavailable(RuntimeError):
    """A back-end URL is unset and the mocks that would serve it in process are not installed."""

    def __init__(self, systems: Iterable[str], missing_module: str | None) -> None:
        unset = ", ".join(VARIABLES[name] for name in systems)
        super().__init__(
            f"{unset} unset: the in-process mocks would serve them, and they need the `mocks` "
            f"extra (pip install 'espace-client-gateway[mocks]'; missing: {missing_module}). "
            "Set the back-end URLs to run against real back-ends."
        )


def unset(settings: Settings) -> list[str]:
    """The systems whose URL is unset: those the in-process mocks serve."""
    urls = {
        "policy-admin": settings.policy_admin_url,
        "claims": settings.claims_url,
        "editique": settings.editique_url,
        "crm": settings.crm_url,
    }
    return [name for name, url in urls.items() if not url]


def require(systems: Iterable[str]) -> None:
    """Raise `MocksUnavailable` now (at start-up) if some system needs the mocks and they are absent."""
    systems = list(systems)
    if systems:
        try:
            import mocks  # noqa: F401  (imports every mock, hence every dependency of the extra)
        except ImportError as exc:
            raise MocksUnavailable(systems, exc.name) from exc


def build_mocks(systems: Iterable[str]) -> dict[str, Any]:
    """A fresh mock app for each of `systems`."""
    systems = list(systems)
    try:
        from mocks import build_mock
    except ImportError as exc:
        raise MocksUnavailable(systems, exc.name) from exc
    return {name: build_mock(name) for name in systems}


def fixtures_anchor(systems: Iterable[str] = VARIABLES) -> date:
    """The day the mocks' fixtures were built for."""
    try:
        from mocks.contracts import fixtures_anchor as anchor
    except ImportError as exc:
        raise MocksUnavailable(systems, exc.name) from exc
    day: date = anchor()
    return day
