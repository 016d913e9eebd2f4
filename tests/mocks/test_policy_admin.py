"""Policy admin mock: every operation, error case and quirk of policy-admin.openapi.yaml."""

from __future__ import annotations

import httpx
import pytest

from mocks import MockSystem
from tests.conftest import admin

KEY = {"X-Api-Key": "dev-policy-admin-key"}


async def test_chris_martin_contracts_are_listed_as_documented(
    policy_admin: httpx.AsyncClient,
) -> None:
    response = await policy_admin.get("/api/v1/personnes/0004517823/contrats")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=UTF-8"
    body = response.json()
    assert body["CODE_RETOUR"] == "0000"
    assert [c["NUM_CTR"] for c in body["CONTRATS"]] == ["2292103136", "565085584", "596054210"]
    assert {c["ROLE"] for c in body["CONTRATS"]} == {"SOUS"}
    assert (
        body["CONTRATS"][0]["DT_ECHEANCE"] == "" and body["CONTRATS"][0]["DT_RESIL"] == "00000000"
    )


async def test_affiliate_sees_his_adhesion_and_company_its_collective_contract(
    policy_admin: httpx.AsyncClient,
) -> None:
    paul = (await policy_admin.get("/api/v1/personnes/0004517825/contrats")).json()["CONTRATS"]
    assert [(c["NUM_CTR"], c["ROLE"], c["NUM_CTR_ENT"]) for c in paul] == [
        ("ADH184068708", "AFF", "80785436")
    ]
    brico = (await policy_admin.get("/api/v1/personnes/0009000001/contrats")).json()["CONTRATS"]
    assert [(c["NUM_CTR"], c["ROLE"], c["COLL"]) for c in brico] == [("80785436", "SOUS", "O")]


async def test_dependants_see_the_contract_covering_them(policy_admin: httpx.AsyncClient) -> None:
    ciri = (await policy_admin.get("/api/v1/personnes/0004517902/contrats")).json()["CONTRATS"]
    assert [(c["NUM_CTR"], c["ROLE"]) for c in ciri] == [("AA565656", "BEN")]


async def test_contract_detail_matches_the_documented_example(
    policy_admin: httpx.AsyncClient,
) -> None:
    contract = (await policy_admin.get("/api/v1/contrats/AA565656")).json()["CONTRAT"]
    assert contract["COTISATION"] == {"MT_COTIS": 8950, "PERIODICITE": "M", "JOUR_PRLV": 5}
    assert contract["IBAN_PRLV"]["IBAN"] == "FR7630006000011234567890189"
    assert [d["PRENOM"] for d in contract["AYANTS_DROIT"]] == ["Yennefer", "Ciri"]
    assert "ROLE" not in contract
    assert contract["ACTES"] == ["RIB", "DATE_PRLV", "RESIL"]


async def test_a_known_person_without_contract_gets_an_empty_list(
    policy_admin: httpx.AsyncClient,
) -> None:
    response = await policy_admin.get("/api/v1/personnes/0004517999/contrats")
    assert response.status_code == 200 and response.json()["CONTRATS"] == []


@pytest.mark.parametrize(
    ("path", "status", "label"),
    [
        ("/api/v1/personnes/123/contrats", 400, "REQUETE INVALIDE"),
        ("/api/v1/personnes/0000000000/contrats", 404, "PERSONNE INCONNUE"),
        ("/api/v1/contrats/aa565656", 400, "REQUETE INVALIDE"),
        ("/api/v1/contrats/ZZ999999", 404, "CONTRAT INCONNU"),
        ("/api/v1/contrats/596054210/affilies", 422, "CONTRAT NON COLLECTIF"),
        ("/api/v1/contrats/ADH184068708/affilies", 422, "CONTRAT NON COLLECTIF"),
        ("/api/v1/contrats/80785436/affilies?PAGE=0", 400, "REQUETE INVALIDE"),
        ("/api/v1/contrats/80785436/affilies?PAGE=abc", 400, "REQUETE INVALIDE"),
        ("/api/v1/nulle-part", 404, "RESSOURCE INCONNUE"),
        ("/api/v1/contrats/recherche", 405, "METHODE NON AUTORISEE"),
    ],
)
async def test_errors_have_the_documented_status_and_label(
    policy_admin: httpx.AsyncClient, path: str, status: int, label: str
) -> None:
    response = await policy_admin.get(path)
    assert (response.status_code, response.json()["LIB_RETOUR"]) == (status, label)


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}])
async def test_the_api_key_is_checked_before_anything_else(
    mocks: dict[str, MockSystem], headers: dict[str, str]
) -> None:
    async with admin(mocks["policy-admin"]) as client:
        for path in (
            "/api/v1/personnes/123/contrats",
            "/api/v1/nulle-part",
            "/api/v1/contrats/ZZ1",
        ):
            response = await client.get(path, headers=headers)
            assert response.status_code == 401
            assert response.json() == {"CODE_RETOUR": "E401", "LIB_RETOUR": "CLE API INVALIDE"}


async def test_affiliates_come_twenty_per_page_sorted_by_name(
    policy_admin: httpx.AsyncClient,
) -> None:
    first = (
        await policy_admin.get("/api/v1/contrats/80785436/affilies", params={"taille": 50})
    ).json()
    second = (await policy_admin.get("/api/v1/contrats/80785436/affilies?PAGE=2")).json()
    beyond = (await policy_admin.get("/api/v1/contrats/80785436/affilies?PAGE=9")).json()
    assert (first["PAGE"], first["NB_PAGES"], first["TOTAL"], len(first["AFFILIES"])) == (
        1,
        2,
        27,
        20,
    )
    assert len(second["AFFILIES"]) == 7 and beyond["AFFILIES"] == []
    names = [
        (a["NOM"].rstrip(), a["PRENOM"].rstrip()) for a in first["AFFILIES"] + second["AFFILIES"]
    ]
    assert names == sorted(names)
    paul = next(a for a in first["AFFILIES"] + second["AFFILIES"] if a["NUM_ADH"] == "ADH184068708")
    assert paul["NOM"] == "BERTRAND            " and len(paul["PRENOM"]) == 20


async def test_batch_search_answers_known_once_and_lists_unknown(
    policy_admin: httpx.AsyncClient,
) -> None:
    response = await policy_admin.post(
        "/api/v1/contrats/recherche",
        json={"NUM_CTRS": ["565085584", "999999999", "565085584", "AA565656"]},
    )
    body = response.json()
    assert [c["NUM_CTR"] for c in body["CONTRATS"]] == ["565085584", "AA565656"]
    assert body["INCONNUS"] == ["999999999"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b"{}",
        b'{"NUM_CTRS": "596054210"}',
        b'{"NUM_CTRS": []}',
        b'{"NUM_CTRS": [1]}',
        b'{"NUM_CTRS": ["abc"]}',
    ],
)
async def test_batch_search_refuses_invalid_bodies(
    policy_admin: httpx.AsyncClient, body: bytes
) -> None:
    response = await policy_admin.post("/api/v1/contrats/recherche", content=body)
    assert (response.status_code, response.json()["CODE_RETOUR"]) == (400, "E400")


async def test_batch_search_refuses_more_than_fifty_numbers(
    policy_admin: httpx.AsyncClient,
) -> None:
    fifty = [f"N{i}" for i in range(50)]
    assert (
        await policy_admin.post("/api/v1/contrats/recherche", json={"NUM_CTRS": fifty})
    ).status_code == 200
    response = await policy_admin.post(
        "/api/v1/contrats/recherche", json={"NUM_CTRS": [*fifty, "N50"]}
    )
    assert response.status_code == 400


async def test_quirk_is_a_technical_error_in_a_200(
    mocks: dict[str, MockSystem], policy_admin: httpx.AsyncClient
) -> None:
    async with admin(mocks["policy-admin"]) as control:
        await control.put("/_admin/faults", json={"quirk_rate": 1.0})
    response = await policy_admin.get("/api/v1/contrats/AA565656")
    assert response.status_code == 200
    assert response.json() == {"CODE_RETOUR": "E999", "LIB_RETOUR": "ERREUR TECHNIQUE"}


async def test_injected_errors_use_the_system_bodies(
    mocks: dict[str, MockSystem], policy_admin: httpx.AsyncClient
) -> None:
    async with admin(mocks["policy-admin"]) as control:
        await control.put("/_admin/faults", json={"error_rate": 1.0, "error_status": 503})
        assert (await policy_admin.get("/api/v1/contrats/AA565656")).json()["CODE_RETOUR"] == "E503"
        await control.put("/_admin/faults", json={"error_rate": 1.0, "error_status": 502})
        response = await policy_admin.get("/api/v1/contrats/AA565656")
        assert (response.status_code, response.text) == (502, "Bad Gateway")
