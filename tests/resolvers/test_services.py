"""« Mes services » in process: the frontends' ContractServices document against the mock policy
admin's services (expected values read from the mock's own answer), the tiers-payant card from the
éditique, the cache, and a terminated contract."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.schema.ids import to_global
from tests.conftest import faults
from tests.support.gateway import Gateway

GERALT, HEALTH_NUMBER = "C0001002", "AA565656"
SERVICES_ROUTE = "GET /api/v1/contrats/{NUM_CTR}/services"
CODES = {
    "TELECONSULTATION": "TELECONSULTATION",
    "TIERS_PAYANT": "THIRD_PARTY_PAYMENT",
    "RESEAU_SOINS": "CARE_NETWORK",
    "ANALYSE_DEVIS": "QUOTE_ANALYSIS",
    "PRISE_RDV": "MEDICAL_APPOINTMENT",
    "ASSISTANCE": "ASSISTANCE",
    "BIBLIOTHEQUE_LETTRES": "LETTER_LIBRARY",
    "PREVENTION": "PREVENTION",
}
AUDIENCES = {"A": "INSURED", "T": "ALL_BENEFICIARIES", "E": "COMPANY"}


def day8(value: str) -> str | None:
    return None if value in ("", "00000000") else f"{value[:4]}-{value[4:6]}-{value[6:]}"


async def services(gateway: Gateway, number: str, as_: str = GERALT, role: str = "customer") -> Any:
    body = await gateway.run(
        "securite/ContractServices", {"id": to_global("Contract", number)}, as_=as_, role=role
    )
    assert "errors" not in body, body
    return body["data"]["contract"]["services"]


async def test_a_health_contract_lists_its_services_as_policy_admin_says(
    gateway: Gateway, policy_admin: httpx.AsyncClient
) -> None:
    legacy = (await policy_admin.get(f"/api/v1/contrats/{HEALTH_NUMBER}/services")).json()
    found = await services(gateway, HEALTH_NUMBER)
    assert [s["code"] for s in found] == [CODES[s["CD_SERVICE"]] for s in legacy["SERVICES"]]
    for shown, raw in zip(found, legacy["SERVICES"], strict=True):
        assert shown["name"] == raw["LIB_SERVICE"].rstrip()
        assert shown["hours"] == (raw["HORAIRES"].rstrip() or None)  # right-padded text trimmed
        assert shown["provider"] == (raw["PRESTATAIRE"] or None)
        assert shown["phone"] == (raw["TEL_ACCES"] or None)
        assert shown["url"] == (raw["URL_ACCES"] or None)
        assert shown["availableFrom"] == day8(raw["DT_DEBUT"])
        assert shown["availableUntil"] == day8(raw["DT_FIN"])  # "" and "00000000": no end
        assert shown["audience"] == AUDIENCES[raw["CD_BENEF"]]
        assert shown["upcoming"] is (shown["availableFrom"] > gateway.settings.today.isoformat())
    card = next(s for s in found if s["code"] == "THIRD_PARTY_PAYMENT")
    assert card["codeLabel"] == "Carte de tiers payant"
    assert card["documentType"] == "THIRD_PARTY_PAYMENT_CARD"
    others = [s for s in found if s["code"] != "THIRD_PARTY_PAYMENT"]
    assert all(s["documentType"] is None and s["document"] is None for s in others)


async def test_the_tiers_payant_service_points_at_the_latest_card(gateway: Gateway) -> None:
    contract = to_global("Contract", HEALTH_NUMBER)
    listed = await gateway.run(
        "query($id: ID!) { viewer { documents(first: 50, period: LAST_24_MONTHS, contractId: $id)"
        " { edges { node { id type issuedAt } } } } }",
        {"id": contract},
        as_=GERALT,
    )
    cards = [
        e["node"]
        for e in listed["data"]["viewer"]["documents"]["edges"]
        if e["node"]["type"] == "THIRD_PARTY_PAYMENT_CARD"
    ]
    assert cards, "the fixtures give Geralt a tiers-payant card"
    shown = next(
        s for s in await services(gateway, HEALTH_NUMBER) if s["code"] == "THIRD_PARTY_PAYMENT"
    )
    assert shown["document"]["id"] == max(cards, key=lambda c: c["issuedAt"])["id"]
    assert shown["document"]["typeLabel"] == "Carte tiers payant"
    assert shown["document"]["downloadUrl"].startswith("http")


async def test_services_are_cached_like_the_contract(gateway: Gateway) -> None:
    await services(gateway, HEALTH_NUMBER)
    calls = gateway.mocks["policy-admin"].log.counts[SERVICES_ROUTE]
    await services(gateway, HEALTH_NUMBER)
    assert calls >= 1 and gateway.mocks["policy-admin"].log.counts[SERVICES_ROUTE] == calls


async def test_a_technical_error_in_a_200_is_retried_not_shown(gateway: Gateway) -> None:
    await faults(gateway, "policy-admin", quirk_rate=1.0, routes=[SERVICES_ROUTE])
    body = await gateway.run(
        "securite/ContractServices", {"id": to_global("Contract", HEALTH_NUMBER)}, as_=GERALT
    )
    await faults(gateway, "policy-admin")
    assert body["data"]["contract"]["services"] is None
    assert body["errors"][0]["extensions"]["code"] == "BACKEND_UNAVAILABLE"
