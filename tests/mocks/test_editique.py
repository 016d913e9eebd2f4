"""Éditique mock: SOAP 1.1 operations, faults in the documented order, real PDFs, zeep."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from pypdf import PdfReader

from mocks import MockSystem
from tests.conftest import admin
from tests.support.contract import ED, check_soap, fault_code, soap_envelope

ACTION = "urn:assureur:editique:v1/"


async def call(
    client: httpx.AsyncClient,
    operation: str,
    fields: dict[str, str] | list[tuple[str, str]],
    **kwargs: str,
) -> tuple[httpx.Response, object]:
    response = await client.post(
        "/editique/ws",
        content=soap_envelope(operation, fields, **kwargs),
        headers={"SOAPAction": f'"{ACTION}{operation}"'},
    )
    return response, check_soap(response)


def documents(payload: object) -> list[dict[str, str]]:
    return [
        {child.tag.split("}")[1]: child.text or "" for child in doc}
        for doc in payload.findall(f"{{{ED}}}document")
    ]  # type: ignore[attr-defined]


async def test_paul_benefit_documents_of_november_2021_match_the_example(
    editique: httpx.AsyncClient,
) -> None:
    response, payload = await call(
        editique,
        "RechercherDocuments",
        {
            "idPersonne": "EDQ-1003",
            "dateDebut": "2021-11-01",
            "dateFin": "2021-11-30",
            "bloc": "PRESTATION",
        },
    )
    assert (
        response.status_code == 200
        and response.headers["content-type"] == "text/xml; charset=utf-8"
    )
    [doc] = documents(payload)
    assert doc["idDocument"] == "DOC20211124000749"
    assert doc["dateEmission"] == "2021-11-24T05:31:07+01:00"
    assert (doc["numContrat"], doc["typeDocument"], doc["bloc"]) == (
        "ADH184068708",
        "DECP",
        "PRESTATION",
    )


async def test_search_is_sorted_newest_first_and_filters_combine(
    editique: httpx.AsyncClient,
) -> None:
    _, payload = await call(
        editique,
        "RechercherDocuments",
        {"idPersonne": "EDQ-1001", "typeDocument": "LSIT", "numContrat": "596054210"},
    )
    found = documents(payload)
    assert found and all(
        d["typeDocument"] == "LSIT" and d["numContrat"] == "596054210" for d in found
    )
    assert [d["dateEmission"] for d in found] == sorted(
        (d["dateEmission"] for d in found), reverse=True
    )


async def test_document_without_contract_omits_the_element(editique: httpx.AsyncClient) -> None:
    _, payload = await call(
        editique, "RechercherDocuments", {"idPersonne": "EDQ-1002", "typeDocument": "CREP"}
    )
    assert any("numContrat" not in d for d in documents(payload))


async def test_recuperer_document_returns_a_real_pdf_of_the_announced_size(
    editique: httpx.AsyncClient,
) -> None:
    _, listing = await call(
        editique,
        "RechercherDocuments",
        {"idPersonne": "EDQ-1001", "dateDebut": "2023-10-20", "dateFin": "2023-10-20"},
    )
    announced = {d["idDocument"]: int(d["tailleOctets"]) for d in documents(listing)}
    _, payload = await call(
        editique, "RecupererDocument", {"idDocument": "DOC20231020000311", "idPersonne": "EDQ-1001"}
    )
    content = base64.b64decode(payload.find(f"{{{ED}}}contenu").text)  # type: ignore[attr-defined]
    assert (
        len(content)
        == announced["DOC20231020000311"]
        == int(payload.find(f"{{{ED}}}tailleOctets").text)
    )  # type: ignore[attr-defined]
    assert payload.find(f"{{{ED}}}nomFichier").text == "DOC20231020000311.pdf"  # type: ignore[attr-defined]
    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert "Lettre de situation" in text and "20/10/2023" in text and "Chris MARTIN" in text


async def test_someone_elses_document_is_unknown(editique: httpx.AsyncClient) -> None:
    response, payload = await call(
        editique, "RecupererDocument", {"idDocument": "DOC20231020000311", "idPersonne": "EDQ-1002"}
    )
    assert response.status_code == 500 and fault_code(payload) == "DOC_INCONNU"


async def test_unknown_person_is_a_fault_not_an_empty_list(editique: httpx.AsyncClient) -> None:
    _, payload = await call(editique, "RechercherDocuments", {"idPersonne": "EDQ-9999"})
    assert fault_code(payload) == "PERSONNE_INCONNUE"


async def test_more_than_500_documents_is_refused(
    editique: httpx.AsyncClient, mocks: dict[str, MockSystem]
) -> None:
    mock = mocks["editique"]
    template = next(d for d in mock.documents if d["idPersonne"] == "EDQ-1001")  # type: ignore[attr-defined]
    mock.documents += [
        {
            **template,
            "idDocument": f"DOC20200101{900000 + i:06d}",
            "dateEmission": "2020-01-01T06:00:00+01:00",
        }
        for i in range(501)
    ]  # type: ignore[attr-defined]
    _response, payload = await call(editique, "RechercherDocuments", {"idPersonne": "EDQ-1001"})
    assert fault_code(payload) == "REQUETE_INVALIDE"
    _, narrowed = await call(
        editique, "RechercherDocuments", {"idPersonne": "EDQ-1001", "dateDebut": "2023-01-01"}
    )
    assert documents(narrowed)


async def test_generer_attestation_makes_a_new_document_each_call(
    editique: httpx.AsyncClient,
) -> None:
    fields = {"idPersonne": "EDQ-1002", "numContrat": "AA565656", "typeAttestation": "CTPY"}
    _, first = await call(editique, "GenererAttestation", fields)
    _, second = await call(editique, "GenererAttestation", fields)
    ids = [documents(p)[0]["idDocument"] for p in (first, second)]
    assert ids[0] != ids[1]
    _, fetched = await call(
        editique, "RecupererDocument", {"idDocument": ids[1], "idPersonne": "EDQ-1002"}
    )
    assert fetched.find(f"{{{ED}}}typeMime").text == "application/pdf"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        (
            {"idPersonne": "EDQ-1001", "numContrat": "596054210", "typeAttestation": "CTPY"},
            "ATTESTATION_IMPOSSIBLE",
        ),
        (
            {"idPersonne": "EDQ-1001", "numContrat": "AA565656", "typeAttestation": "ATTA"},
            "ATTESTATION_IMPOSSIBLE",
        ),
        (
            {"idPersonne": "EDQ-1005", "numContrat": "IH300045", "typeAttestation": "ATTA"},
            "ATTESTATION_IMPOSSIBLE",
        ),
        (
            {"idPersonne": "EDQ-9999", "numContrat": "AA565656", "typeAttestation": "ATTA"},
            "PERSONNE_INCONNUE",
        ),
    ],
)
async def test_attestation_refusals(
    editique: httpx.AsyncClient, fields: dict[str, str], code: str
) -> None:
    _, payload = await call(editique, "GenererAttestation", fields)
    assert fault_code(payload) == code


@pytest.mark.parametrize(
    ("fields", "kwargs"),
    [
        ([("dateDebut", "2023-01-01"), ("idPersonne", "EDQ-1001")], {}),
        ({"idPersonne": "EDQ-1001", "inconnu": "x"}, {}),
        ({"idPersonne": "EDQ-1001", "dateDebut": "2023-02-30"}, {}),
        ({"idPersonne": "EDQ-1001", "dateDebut": "2023-12-31", "dateFin": "2023-01-01"}, {}),
        ({"idPersonne": "1001"}, {}),
        ({"idPersonne": "EDQ-1001", "typeDocument": "XXXX"}, {}),
    ],
)
async def test_invalid_payloads_are_requete_invalide(
    editique: httpx.AsyncClient, fields: dict[str, str], kwargs: dict[str, str]
) -> None:
    _, payload = await call(editique, "RechercherDocuments", fields, **kwargs)
    assert fault_code(payload) == "REQUETE_INVALIDE"


async def test_authentication_is_checked_after_the_envelope_and_before_the_payload(
    editique: httpx.AsyncClient,
) -> None:
    for kwargs in ({"password": "wrong"}, {"user": "other"}, {"header": False}):
        _, payload = await call(editique, "RechercherDocuments", {"idPersonne": "bad"}, **kwargs)  # type: ignore[arg-type]
        assert fault_code(payload) == "AUTHENTIFICATION"
    digest = soap_envelope("RechercherDocuments", {"idPersonne": "EDQ-1001"}).replace(
        "<wsse:Password>",
        '<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">',
    )
    response = await editique.post("/editique/ws", content=digest)
    assert fault_code(check_soap(response)) == "AUTHENTIFICATION"


async def test_transport_rules(editique: httpx.AsyncClient) -> None:
    body = soap_envelope("RechercherDocuments", {"idPersonne": "EDQ-1001"})
    wrong_action = await editique.post(
        "/editique/ws", content=body, headers={"SOAPAction": f'"{ACTION}RecupererDocument"'}
    )
    assert fault_code(check_soap(wrong_action)) == "REQUETE_INVALIDE"
    json_type = await editique.post(
        "/editique/ws", content=body, headers={"Content-Type": "application/json"}
    )
    assert fault_code(check_soap(json_type)) == "REQUETE_INVALIDE"
    soap12 = body.replace(
        "http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope"
    )
    assert (
        fault_code(check_soap(await editique.post("/editique/ws", content=soap12)))
        == "soap:VersionMismatch"
    )
    malformed = await editique.post("/editique/ws", content=b"<soap:Envelope")
    assert fault_code(check_soap(malformed)) == "REQUETE_INVALIDE"
    entity = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    assert (
        fault_code(check_soap(await editique.post("/editique/ws", content=entity)))
        == "REQUETE_INVALIDE"
    )
    assert (await editique.put("/editique/ws")).status_code == 405
    assert (await editique.get("/editique/ws")).status_code == 405
    assert (await editique.get("/ailleurs")).status_code == 404


async def test_wsdl_is_served_without_authentication_with_its_own_address(
    editique: httpx.AsyncClient,
) -> None:
    response = await editique.get("/editique/ws?wsdl")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    assert 'location="http://127.0.0.1:9003/editique/ws"' in response.text


async def test_quirk_is_indisponible_and_attestation_is_still_created(
    mocks: dict[str, MockSystem], editique: httpx.AsyncClient
) -> None:
    async with admin(mocks["editique"]) as control:
        await control.put("/_admin/faults", json={"quirk_rate": 1.0})
        response, payload = await call(
            editique,
            "GenererAttestation",
            {"idPersonne": "EDQ-1002", "numContrat": "AA565656", "typeAttestation": "ATTA"},
        )
        assert response.status_code == 500 and fault_code(payload) == "INDISPONIBLE"
        await control.put("/_admin/faults", json={})
    _, found = await call(
        editique, "RechercherDocuments", {"idPersonne": "EDQ-1002", "typeDocument": "ATTA"}
    )
    assert len(documents(found)) == 1


async def test_injected_503_carries_the_indisponible_envelope(
    mocks: dict[str, MockSystem], editique: httpx.AsyncClient
) -> None:
    async with admin(mocks["editique"]) as control:
        await control.put("/_admin/faults", json={"error_rate": 1.0, "error_status": 503})
    response, payload = await call(editique, "RechercherDocuments", {"idPersonne": "EDQ-1001"})
    assert response.status_code == 503 and fault_code(payload) == "INDISPONIBLE"
