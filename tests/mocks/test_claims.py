"""Claims mock: pagination, filters, formats, errors and quirks of claims.openapi.yaml."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from mocks import MockSystem
from tests.conftest import admin


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


async def test_paul_bertrand_dossier_is_the_documented_one(claims: httpx.AsyncClient) -> None:
    listed = (
        await claims.get("/prestations/v2/dossiers", params={"numAffilie": "A7781003"})
    ).json()
    assert [d["numDossier"] for d in listed["elements"]] == ["185501146"]
    assert "prestationBase" not in listed["elements"][0]
    detail = (await claims.get("/prestations/v2/dossiers/185501146")).json()
    assert detail["prestationBase"]["montantMensuel"] == "512,52"
    assert detail["prestationBase"]["periodeReference"] == {
        "debut": "01/07/2017",
        "fin": "30/06/2018",
    }
    assert (detail["codeGarantie"], detail["statut"], detail["dateSurvenance"]) == (
        "INV",
        "EC",
        "30/07/2018",
    )


async def test_reglements_example_query_gives_the_documented_page(
    claims: httpx.AsyncClient,
) -> None:
    params = {
        "numDossier": "185501146",
        "dateMin": "01/11/2021",
        "dateMax": "31/12/2021",
        "taille": 10,
    }
    page = (await claims.get("/prestations/v2/reglements", params=params)).json()
    assert [r["refReglement"] for r in page["elements"]] == [
        "AVTC0046213500812",
        "AVTC0046211800749",
    ]
    assert (page["page"], page["taille"], page["nbPages"], page["total"]) == (1, 10, 1, 2)
    assert "lignesDecompte" not in page["elements"][0]


async def test_reglement_decompte_adds_up_to_the_net_amount(claims: httpx.AsyncClient) -> None:
    detail = (await claims.get("/prestations/v2/reglements/AVTC0046211800749")).json()
    assert detail["refCourrier"] == "DOC20211124000749"
    lines = sum(amount(line["montant"]) for line in detail["lignesDecompte"])
    assert (
        amount(detail["montantBrut"]) - lines == amount(detail["montantNet"]) == Decimal("450.14")
    )


async def test_every_fixture_reglement_respects_the_decompte_rules(
    mocks: dict[str, MockSystem],
) -> None:
    for reglement in mocks["claims"].reglements_list:  # type: ignore[attr-defined]
        lines = sum(amount(line["montant"]) for line in reglement["lignesDecompte"])
        assert amount(reglement["montantBrut"]) - lines == amount(reglement["montantNet"]), (
            reglement["refReglement"]
        )
        if reglement["destinataire"]["type"] == "ENT":
            assert reglement["lignesDecompte"] == [] and reglement["tauxPAS"] is None
        pas = [line for line in reglement["lignesDecompte"] if line["code"] == "PAS"]
        if pas:
            expected = (
                amount(reglement["baseImposable"]) * amount(reglement["tauxPAS"]) / 100
            ).quantize(Decimal("0.01"))
            assert amount(pas[0]["montant"]) == expected


async def test_walking_pages_sees_every_reglement_once(claims: httpx.AsyncClient) -> None:
    seen: list[str] = []
    page = 1
    while True:
        body = (
            await claims.get(
                "/prestations/v2/reglements",
                params={"numContrat": "81000001", "taille": 50, "page": page},
            )
        ).json()
        seen += [r["refReglement"] for r in body["elements"]]
        if page >= body["nbPages"]:
            break
        page += 1
    assert len(seen) == len(set(seen)) == body["total"] > 300


async def test_geralt_remboursements_match_the_documented_example(
    claims: httpx.AsyncClient,
) -> None:
    page = (
        await claims.get(
            "/prestations/v2/remboursements",
            params={"numAssure": "A7781002", "dateMax": "31/01/2020", "taille": 3},
        )
    ).json()
    assert [r["refRemboursement"] for r in page["elements"]] == [
        "RMB20200124000173",
        "RMB20200117000092",
        "RMB20190926000411",
    ]
    assert (page["nbPages"], page["total"]) == (5, 14)
    everything = (
        await claims.get(
            "/prestations/v2/remboursements", params={"numAssure": "A7781002", "taille": 50}
        )
    ).json()
    assert everything["total"] >= 40


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/prestations/v2/dossiers", {}, 400, "PARAMETRE_OBLIGATOIRE"),
        ("/prestations/v2/reglements", {"dateMin": "01/01/2020"}, 400, "PARAMETRE_OBLIGATOIRE"),
        ("/prestations/v2/remboursements", {}, 400, "PARAMETRE_OBLIGATOIRE"),
        (
            "/prestations/v2/dossiers",
            {"numAffilie": "A7781003", "taille": 51},
            400,
            "PARAMETRE_INVALIDE",
        ),
        (
            "/prestations/v2/dossiers",
            {"numAffilie": "A7781003", "taille": 0},
            400,
            "PARAMETRE_INVALIDE",
        ),
        (
            "/prestations/v2/dossiers",
            {"numAffilie": "A7781003", "page": "x"},
            400,
            "PARAMETRE_INVALIDE",
        ),
        ("/prestations/v2/dossiers", {"numAffilie": "A-1"}, 400, "PARAMETRE_INVALIDE"),
        (
            "/prestations/v2/dossiers",
            {"numAffilie": "A7781003", "statut": "XX"},
            400,
            "PARAMETRE_INVALIDE",
        ),
        (
            "/prestations/v2/reglements",
            {"numContrat": "80785436", "dateMin": "31/02/2021"},
            400,
            "PARAMETRE_INVALIDE",
        ),
        (
            "/prestations/v2/reglements",
            {"numContrat": "80785436", "dateMin": "2021-11-01"},
            400,
            "PARAMETRE_INVALIDE",
        ),
        (
            "/prestations/v2/reglements",
            {"numContrat": "80785436", "dateMin": "02/01/2021", "dateMax": "01/01/2021"},
            400,
            "PARAMETRE_INVALIDE",
        ),
        (
            "/prestations/v2/reglements",
            {"numContrat": "80785436", "codeGarantie": "XYZ"},
            400,
            "PARAMETRE_INVALIDE",
        ),
        ("/prestations/v2/dossiers/999999999", {}, 404, "DOSSIER_INCONNU"),
        ("/prestations/v2/reglements/AVTC9999999999999", {}, 404, "REGLEMENT_INCONNU"),
        ("/prestations/v2/ailleurs", {}, 404, "RESSOURCE_INCONNUE"),
    ],
)
async def test_errors_carry_the_documented_code(
    claims: httpx.AsyncClient, path: str, params: dict[str, object], status: int, code: str
) -> None:
    response = await claims.get(path, params=params)
    assert (response.status_code, response.json()["code"]) == (status, code)


async def test_empty_values_count_as_absent_and_unknown_filters_give_empty_pages(
    claims: httpx.AsyncClient,
) -> None:
    response = await claims.get(
        "/prestations/v2/dossiers?numContrat=&numAffilie=A7781003&inconnu=1"
    )
    assert response.json()["total"] == 1
    empty = (await claims.get("/prestations/v2/dossiers", params={"numAffilie": "A7781001"})).json()
    assert (empty["elements"], empty["nbPages"], empty["total"]) == ([], 0, 0)
    beyond = (
        await claims.get("/prestations/v2/dossiers", params={"numAffilie": "A7781003", "page": 5})
    ).json()
    assert beyond["elements"] == [] and beyond["page"] == 5


async def test_company_id_matches_no_dossier(claims: httpx.AsyncClient) -> None:
    assert (await claims.get("/prestations/v2/dossiers", params={"numAffilie": "E9000001"})).json()[
        "total"
    ] == 0
    assert (await claims.get("/prestations/v2/dossiers", params={"numContrat": "80785436"})).json()[
        "total"
    ] == 10


async def test_wrong_credentials_get_401_with_basic_challenge(mocks: dict[str, MockSystem]) -> None:
    async with admin(mocks["claims"]) as client:
        for auth in (None, ("gateway", "wrong")):
            response = await client.get("/prestations/v2/dossiers/185501146", auth=auth)
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == 'Basic realm="prestations"'
            assert response.json()["code"] == "AUTHENTIFICATION"
        response = await client.get(
            "/prestations/v2/dossiers", headers={"Authorization": "Basic !!!"}
        )
        assert response.status_code == 401


async def test_methods_other_than_get_are_refused(claims: httpx.AsyncClient) -> None:
    response = await claims.post("/prestations/v2/dossiers")
    assert (response.status_code, response.json()["code"]) == (405, "METHODE_NON_AUTORISEE")


async def test_quirk_is_429_with_retry_after(
    mocks: dict[str, MockSystem], claims: httpx.AsyncClient
) -> None:
    async with admin(mocks["claims"]) as control:
        await control.put("/_admin/faults", json={"quirk_rate": 1.0})
    response = await claims.get("/prestations/v2/dossiers/185501146")
    assert response.status_code == 429 and response.headers["retry-after"] == "1"
    assert response.json()["code"] == "TROP_DE_REQUETES"


async def test_the_admin_pays_a_reglement_now_on_its_dossier(
    claims: httpx.AsyncClient, mocks: dict[str, MockSystem]
) -> None:
    model = (await claims.get("/prestations/v2/reglements/AVTC0046180101001")).json()
    paid = {k: v for k, v in model.items() if k not in ("refReglement", "dateReglement")}
    async with admin(mocks["claims"]) as control:
        created = await control.post("/_admin/reglements", json=paid)
        assert created.status_code == 201
        ref = created.json()["refReglement"]
        unknown = await control.post("/_admin/reglements", json={**paid, "numDossier": "999999999"})
        assert unknown.status_code == 404
        broken = await control.post("/_admin/reglements", json={**paid, "montantBrut": "12.50"})
        assert broken.status_code == 400 and "montantBrut" in broken.json()["error"]
    listed = await claims.get("/prestations/v2/reglements", params={"numAffilie": "A7781003"})
    first = listed.json()["elements"][0]
    assert (first["refReglement"], first["dateReglement"]) == (ref, created.json()["dateReglement"])
    dossier = (await claims.get(f"/prestations/v2/dossiers/{paid['numDossier']}")).json()
    assert dossier["dateDernierReglement"] == created.json()["dateReglement"]
