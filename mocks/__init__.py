"""Mock legacy back-ends, faithful to `contracts/legacy/`: one ASGI app per system.

from mocks import build_mock
app = build_mock("claims")          # an ASGI app with the test-only /_admin surface
"""

from __future__ import annotations

from pathlib import Path

from .base import MockSystem
from .claims import Claims
from .crm import Crm
from .editique import Editique
from .policy_admin import PolicyAdmin

SYSTEMS: dict[str, type[MockSystem]] = {
    "policy-admin": PolicyAdmin,
    "claims": Claims,
    "editique": Editique,
    "crm": Crm,
}
PORTS = {"policy-admin": 9001, "claims": 9002, "editique": 9003, "crm": 9004}


def build_mock(system: str, fixtures: Path | None = None) -> MockSystem:
    """A fresh mock of `system` loaded from `fixtures` (default: the project's `fixtures/`)."""
    return SYSTEMS[system](fixtures)  # type: ignore[call-arg]


__all__ = ["PORTS", "SYSTEMS", "MockSystem", "build_mock"]
