"""Policy admin mock: the services of a contract (`GET /contrats/{NUM_CTR}/services`)."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from mocks import MockSystem
from mocks.contracts import openapi
from mocks.policy_admin import SERVICE_FAMILIES
from tests.conftest import admin


def documented(example: str) -> object:
    operation = openapi("policy-admin")["paths"]["/contrats/{NUM_CTR}/services"]["get"]
    return operation["responses"]["200"]["content"]["application/json"]["examples"][example][
        "value"
    ]


@pytest.mark.parametrize(
    ("number", "example"),
    [
        ("AA565656", "santeGeralt"),
        ("ADH184068708", "adhesionPaul"),
        ("80785436", "entrepriseBrico"),
        ("2292103136", "retraiteChris"),
        ("596054210", "sansService"),
    ],
)
async def test_the_personas_services_are_exactly_the_documented_examples(
    policy_admin: httpx.AsyncClient, number: str, example: str
) -> None:
    response = await policy_admin.get(f"/api/v1/contrats/{number}/services")
    assert response.status_code == 200
    assert response.json() == documented(example)


async def test_an_ended_service_is_hidden_and_a_coming_one_listed(
    mocks: dict[str, MockSystem], policy_admin: httpx.AsyncClient
) -> None:
    async with admin(mocks["policy-admin"]) as control:  # back to 1 June 2023, Paris
        now = (await control.get("/_admin/clock")).json()["now"]
        shift = datetime(2023, 6, 1, 12, tzinfo=datetime.fromisoformat(now).tzinfo)
        offset = (shift - datetime.fromisoformat(now)).total_seconds()
        await control.put("/_admin/clock", json={"offset_s": offset})
    sante = (await policy_admin.get("/api/v1/contrats/AA565656/services")).json()["SERVICES"]
    assert "PRISE_RDV" in [s["CD_SERVICE"] for s in sante]  # ends 31/12/2023: still open
    paul = (await policy_admin.get("/api/v1/contrats/ADH184068708/services")).json()["SERVICES"]
    coming = next(s for s in paul if s["CD_SERVICE"] == "PREVENTION")
    assert coming["DT_DEBUT"] == "20240101"  # not open yet, listed all the same


async def test_a_resilie_contract_has_no_service_and_unknown_ones_are_refused(
    mocks: dict[str, MockSystem], policy_admin: httpx.AsyncClient
) -> None:
    pa = mocks["policy-admin"]
    resilie = next(
        n
        for n, c in pa.contracts.items()  # type: ignore[attr-defined]
        if c["CD_STATUT"] == "R" and c["CD_FAM"] == "SAN"
    )
    assert pa.catalogues[resilie]  # type: ignore[attr-defined]
    body = (await policy_admin.get(f"/api/v1/contrats/{resilie}/services")).json()
    assert body["SERVICES"] == []
    unknown = await policy_admin.get("/api/v1/contrats/ZZ000000/services")
    assert (unknown.status_code, unknown.json()["CODE_RETOUR"]) == (404, "E404")
    malformed = await policy_admin.get("/api/v1/contrats/aa-1/services")
    assert malformed.status_code == 400


async def test_every_listed_code_belongs_to_the_contracts_family(
    mocks: dict[str, MockSystem], policy_admin: httpx.AsyncClient
) -> None:
    contracts = mocks["policy-admin"].contracts  # type: ignore[attr-defined]
    for number, contract in list(contracts.items())[:40]:
        listed = (await policy_admin.get(f"/api/v1/contrats/{number}/services")).json()
        codes = [s["CD_SERVICE"] for s in listed["SERVICES"]]
        assert len(codes) == len(set(codes)), number
        assert all(contract["CD_FAM"] in SERVICE_FAMILIES[c] for c in codes), number


async def test_the_quirk_answers_e999_in_a_200(
    mocks: dict[str, MockSystem], policy_admin: httpx.AsyncClient
) -> None:
    async with admin(mocks["policy-admin"]) as control:
        await control.put("/_admin/faults", json={"quirk_rate": 1.0})
    response = await policy_admin.get("/api/v1/contrats/AA565656/services")
    assert response.status_code == 200 and response.json()["CODE_RETOUR"] == "E999"
