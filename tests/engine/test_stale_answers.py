"""Stale-if-error: a back-end outage shows the last values seen, dated, instead of a blank page."""

from __future__ import annotations

import time
from datetime import datetime

from tests.adapters.transport.test_resilience import faults
from tests.support.gateway import PERSONAS, Gateway, codes


def strip(body: dict[str, object]) -> str:
    return str(body["data"]).split("downloadUrl")[0]


async def test_a_crm_outage_after_a_home_page_serves_the_last_values_marked_stale(
    gateway: Gateway,
) -> None:
    first = await gateway.run("HomePage", as_=PERSONAS["paul"])
    assert "errors" not in first and "extensions" not in first
    seen_at = time.time()
    cache = gateway.app.state.services.backends.cache
    cache.clock = lambda: time.time() + 60  # the CRM's 30-second answers are no longer fresh
    await faults(gateway, "crm", error_rate=1.0)
    second = await gateway.run("HomePage", as_=PERSONAS["paul"])
    assert "errors" not in second and strip(second) == strip(first)
    assert [note["backend"] for note in second["extensions"]["stale"]] == ["crm"]
    note = second["extensions"]["stale"][0]
    assert set(note) == {"backend", "asOf"}  # nothing personal: no resource, no value
    assert abs(datetime.fromisoformat(note["asOf"]).timestamp() - seen_at) < 5
    assert gateway.mocks["crm"].log.calls[-1].fault == "error"  # the CRM was really asked


async def test_a_value_older_than_the_stale_window_is_not_served(gateway: Gateway) -> None:
    await gateway.run("HomePage", as_=PERSONAS["paul"])
    cache = gateway.app.state.services.backends.cache
    cache.clock = lambda: time.time() + 30 + 601  # past freshness and the 600 s window
    await faults(gateway, "crm", error_rate=1.0)
    body = await gateway.run("HomePage", as_=PERSONAS["paul"])
    assert body["data"]["viewer"] is None and codes(body) == ["BACKEND_UNAVAILABLE"]
    assert "extensions" not in body


async def test_a_stale_answer_goes_through_the_same_access_rules(gateway: Gateway) -> None:
    await gateway.run("HomePage", as_=PERSONAS["chris"])
    cache = gateway.app.state.services.backends.cache
    cache.clock = lambda: time.time() + 200  # every list is past freshness
    for system in ("policy-admin", "claims", "crm", "editique"):
        await faults(gateway, system, error_rate=1.0)
    stolen = await gateway.run("HomePage", as_=PERSONAS["geralt"])  # never seen: nothing stale
    assert stolen["data"]["viewer"] is None and "Chris" not in str(stolen)
    assert "extensions" not in stolen


async def test_batched_contract_details_are_served_stale_too(gateway: Gateway) -> None:
    from gateway.schema.ids import to_global

    variables = {"id": to_global("Contract", "596054210")}
    first = await gateway.run("ContractPage", variables, as_=PERSONAS["chris"])
    assert "errors" not in first
    cache = gateway.app.state.services.backends.cache
    cache.clock = lambda: time.time() + 400  # contract details (5 min) are no longer fresh
    await faults(gateway, "policy-admin", error_rate=1.0)
    await faults(gateway, "crm", error_rate=1.0)
    second = await gateway.run("ContractPage", variables, as_=PERSONAS["chris"])
    assert "errors" not in second and strip(second) == strip(first)
    assert {n["backend"] for n in second["extensions"]["stale"]} >= {"policy-admin", "crm"}
