"""The internal dashboards' documents: staff only (audited), refused to customers."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from mocks import build_mock
from mocks import crm_rules as rules
from tests.conftest import admin
from tests.support.gateway import OPERATIONS, PERSONAS, Gateway, codes

SHARED = Path(__file__).resolve().parents[3] / "shared" / "operations" / "dashboards"
PERIOD = {"from": "2026-06-01", "to": "2026-11-24"}


def expected_counts(low: date, high: date) -> dict[str, dict[str, int]]:
    """What the CRM fixtures hold: demandes created in the period (Paris day), by type and status."""
    crm = build_mock("crm")
    counts: dict[str, dict[str, int]] = {}
    for item in crm.demandes.values():
        if low <= crm.created_day(item) <= high:
            per = counts.setdefault(item["type"], {})
            per[item["statut"]] = per.get(item["statut"], 0) + 1
    return counts


@pytest.mark.parametrize("name", ["DemandeStatistics", "BackendHealth"])
def test_the_documents_are_the_dashboards_own(name: str) -> None:
    ours = (OPERATIONS / "dashboards" / f"{name}.graphql").read_text("utf-8")
    if SHARED.exists():  # the frontends' copy, when the shared folder is there
        assert ours == (SHARED / f"{name}.graphql").read_text("utf-8")


async def test_demande_statistics_for_staff_with_labels_and_totals(gateway: Gateway) -> None:
    body = await gateway.run("dashboards/DemandeStatistics", PERIOD, as_="agent-3", role="staff")
    assert "errors" not in body, body
    stats = body["data"]["demandeStatistics"]
    expected = expected_counts(date(2026, 6, 1), date(2026, 11, 24))
    assert stats["from"] == PERIOD["from"] and stats["to"] == PERIOD["to"]
    assert stats["total"] == sum(sum(v.values()) for v in expected.values()) > 0
    assert stats["total"] == sum(t["total"] for t in stats["byType"])
    labels = {t["type"]["code"]: t["type"]["label"] for t in stats["byType"]}
    assert set(labels) == set(expected)
    assert all(labels[code] == rules.TYPES[code]["libelle"] for code in labels)
    statuses = {"RECU": "RECEIVED", "EN_COURS": "IN_PROGRESS", "TRAITE": "DONE"}
    statuses |= {"REJETE": "REJECTED", "CLOTURE": "CLOSED"}
    for entry in stats["byType"]:
        got = {s["status"]: s["count"] for s in entry["byStatus"]}
        assert got == {statuses[k]: v for k, v in expected[entry["type"]["code"]].items()}
        assert entry["total"] == sum(got.values())
        assert all(s["statusLabel"] for s in entry["byStatus"])
    assert gateway.audit[-1]["action"] == "demandeStatistics"
    assert gateway.audit[-1]["staff"] == "agent-3"


async def test_a_period_over_366_days_is_a_typed_error_without_a_crm_call(
    gateway: Gateway,
) -> None:
    ok = await gateway.run(
        "dashboards/DemandeStatistics",
        {"from": "2025-11-23", "to": "2026-11-24"},  # 366 days apart: the CRM's limit
        as_="agent-3",
        role="staff",
    )
    assert "errors" not in ok
    await gateway.clear_calls()
    for period in (
        {"from": "2025-11-22", "to": "2026-11-24"},  # 367 days apart
        {"from": "2026-11-24", "to": "2026-11-01"},  # inverted
    ):
        body = await gateway.run("dashboards/DemandeStatistics", period, as_="a", role="staff")
        assert body["data"] == {"demandeStatistics": None}
        assert (
            codes(body) == ["BAD_USER_INPUT"] and body["errors"][0]["extensions"]["field"] == "to"
        )
    assert not any("statistiques" in path for _, _, path, _ in gateway.call_keys())


async def test_backend_health_from_the_gateways_own_measurements(gateway: Gateway) -> None:
    gateway.app.state.services.backends.breakers.policy.min_volume = 3
    for persona in ("chris", "geralt"):
        await gateway.run("HomePage", as_=PERSONAS[persona])
    async with admin(gateway.mocks["editique"]) as control:
        await control.put("/_admin/faults", json={"error_rate": 1.0, "error_status": 503})
    await gateway.run("HomePage", as_=PERSONAS["paul"])
    body = await gateway.run("dashboards/BackendHealth", as_="agent-3", role="staff")
    assert "errors" not in body, body
    health = {h["backend"]: h for h in body["data"]["backendHealth"]}
    assert set(health) == {"policy-admin", "claims", "editique", "crm"}
    crm = health["crm"]
    assert crm["circuit"] == "CLOSED" and crm["calls"] == 6 and crm["errorRate"] == 0
    assert crm["lastFailureAt"] is None
    latency = crm["latencyMs"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    editique = health["editique"]
    assert editique["circuit"] == "OPEN"
    # 2 good calls, then failures until half of at least 3 attempts failed: the 2nd opens it
    assert editique["calls"] == 2 + 2 and editique["errorRate"] == pytest.approx(2 / 4)
    assert datetime.fromisoformat(editique["lastFailureAt"]).tzinfo is not None
    assert gateway.audit[-1]["action"] == "backendHealth"


@pytest.mark.parametrize("name", ["DemandeStatistics", "BackendHealth"])
async def test_dashboards_are_refused_to_customers_and_to_anonymous_callers(
    gateway: Gateway, name: str
) -> None:
    for persona in ("chris", "brico"):
        body = await gateway.run(f"dashboards/{name}", PERIOD, as_=PERSONAS[persona])
        assert codes(body) == ["FORBIDDEN"]
        assert all(v is None for v in (body["data"] or {}).values())
    anonymous = await gateway.run(f"dashboards/{name}", PERIOD)
    assert codes(anonymous) == ["UNAUTHENTICATED"]
    assert gateway.audit == []
    assert not any("statistiques" in path for _, _, path, _ in gateway.call_keys())
