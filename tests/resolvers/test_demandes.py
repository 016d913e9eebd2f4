"""Démarches: the catalogue, createDemande (every bad input refused with nothing written), uploads."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gateway.resolvers.demandes import attachment_key
from gateway.schema.ids import to_global
from tests.conftest import admin, faults
from tests.support.demarches import (
    GERALT,
    HEALTH,
    PDF,
    PNG,
    create,
    demandes_count,
    errors_of,
    key,
    posts,
    upload,
    uploaded,
)
from tests.support.files import pdf
from tests.support.gateway import PERSONAS, Gateway, codes

POST_DEMANDE = "POST /crm/api/clients/{clientId}/demandes"


# ---- catalogue -----------------------------------------------------------------------------
async def test_health_forms_are_offered_only_to_holders_of_a_health_contract(
    gateway: Gateway,
) -> None:
    geralt = await gateway.run("demarches/DemandeCatalogue", as_=GERALT)
    chris = await gateway.run("demarches/DemandeCatalogue", as_=PERSONAS["chris"])
    geralt_codes = [t["code"] for t in geralt["data"]["demandeTypes"]]
    chris_codes = [t["code"] for t in chris["data"]["demandeTypes"]]
    assert "JUSTIF_REMB" in geralt_codes and "JUSTIF_REMB" not in chris_codes
    assert {"MESSAGE", "RECLAMATION", "PROROGATION"} <= set(chris_codes)
    justif = next(t for t in geralt["data"]["demandeTypes"] if t["code"] == "JUSTIF_REMB")
    assert justif["requiredFields"] == ["CONTRACT", "BENEFICIARIES", "ATTACHMENTS"]
    assert justif["categoryLabel"] == "Santé"


@pytest.mark.parametrize("persona", ["chris", "geralt", "paul", "brico", "collector"])
async def test_available_actions_are_what_the_catalogue_offers_for_the_contract(
    gateway: Gateway, persona: str
) -> None:
    page = await gateway.run(
        "{ viewer { contracts { id number availableActions { code } } } }", as_=PERSONAS[persona]
    )
    for contract in page["data"]["viewer"]["contracts"]:
        offered = await gateway.run(
            "demarches/DemandeCatalogue", {"contractId": contract["id"]}, as_=PERSONAS[persona]
        )
        codes_offered = {t["code"] for t in offered["data"]["demandeTypes"]}
        actions = {a["code"] for a in contract["availableActions"]}
        assert actions <= codes_offered, (contract["number"], actions - codes_offered)
    if persona == "paul":  # an affiliate does not terminate the collective contract
        assert all(
            "RESIL" not in {a["code"] for a in c["availableActions"]}
            for c in page["data"]["viewer"]["contracts"]
        )


# ---- createDemande -------------------------------------------------------------------------
def replayed(mutation: str) -> float:
    from prometheus_client import REGISTRY

    found = REGISTRY.get_sample_value("gateway_idempotency_replays_total", {"mutation": mutation})
    return found or 0.0


async def test_a_demande_is_created_once_and_the_next_page_shows_it(gateway: Gateway) -> None:
    before = await gateway.run("Demandes", as_=GERALT)  # cached list of the viewer
    count = before["data"]["viewer"]["demandes"]["totalCount"]
    attachment = await uploaded(gateway)
    variables = {
        "input": {
            "idempotencyKey": key(),
            "type": "JUSTIF_REMB",
            "contractId": HEALTH,
            "beneficiaries": ["Ciri RIVIÈRE"],
            "attachmentIds": [attachment],
        }
    }
    first = await gateway.run("demarches/CreateDemande", variables, as_=GERALT)
    demande = first["data"]["createDemande"]["demande"]
    assert first["data"]["createDemande"]["userErrors"] == []
    assert demande["type"]["code"] == "JUSTIF_REMB" and demande["tracked"] is False
    assert demande["contract"]["number"] == "AA565656"
    assert [a["id"] for a in demande["reminder"]["attachments"]] == [attachment]
    replays = replayed("createDemande")
    again = await gateway.run("demarches/CreateDemande", variables, as_=GERALT)
    assert again["data"]["createDemande"]["demande"]["id"] == demande["id"]
    assert posts(gateway) == 1
    assert replayed("createDemande") == replays + 1  # counted on /metrics
    after = await gateway.run("Demandes", as_=GERALT)
    assert after["data"]["viewer"]["demandes"]["totalCount"] == count + 1
    assert after["data"]["viewer"]["demandes"]["edges"][0]["node"]["id"] == demande["id"]


async def test_a_key_reused_for_another_input_is_refused(gateway: Gateway) -> None:
    fields = {"type": "MESSAGE", "subject": "Question", "description": "Bonjour"}
    variables = {"input": {"idempotencyKey": key(), **fields}}
    first = await gateway.run("demarches/CreateDemande", variables, as_=GERALT)
    assert first["data"]["createDemande"]["demande"]
    variables["input"]["description"] = "Autre chose"
    second = await gateway.run("demarches/CreateDemande", variables, as_=GERALT)
    assert errors_of(second, "createDemande") == [("idempotencyKey", "IDEMPOTENCY_CONFLICT")]
    assert posts(gateway) == 1


async def test_a_complaint_is_filed_as_a_complaint(gateway: Gateway) -> None:
    body = await create(gateway, type="RECLAMATION", subject="Retard", description="Trop long.")
    assert body["data"]["createDemande"]["demande"]["isComplaint"] is True


def long(n: int) -> str:
    return "é" * n


CHRIS_SAVINGS = to_global("Contract", "596054210")
BAD_INPUTS: dict[str, tuple[str, dict[str, Any], list[tuple[str | None, str]]]] = {
    "unknown type": (GERALT, {"type": "NOPE"}, [("type", "UNKNOWN")]),
    "type not offered for the contract": (
        PERSONAS["chris"],
        {"type": "JUSTIF_REMB", "contractId": CHRIS_SAVINGS, "beneficiaries": ["Chris MARTIN"]},
        [("type", "NOT_OFFERED")],
    ),
    "foreign contract": (
        GERALT,
        {"type": "PROROGATION", "contractId": CHRIS_SAVINGS},
        [("contractId", "UNKNOWN")],
    ),
    "terminated contract": (
        PERSONAS.get("marie", "C0001005"),
        {
            "type": "SINISTRE_PJ",
            "contractId": to_global("Contract", "IH300045"),
            "description": "x",
        },
        [("contractId", "TERMINATED")],
    ),
    "missing required field": (
        GERALT,
        {"type": "JUSTIF_REMB", "contractId": HEALTH, "beneficiaries": ["Ciri RIVIÈRE"]},
        [("attachmentIds", "REQUIRED")],
    ),
    "empty description": (
        GERALT,
        {"type": "MESSAGE", "subject": "Question", "description": "   "},
        [("description", "REQUIRED")],
    ),
    "4 001-character description": (
        GERALT,
        {"type": "MESSAGE", "subject": "Question", "description": long(4001)},
        [("description", "TOO_LONG")],
    ),
    "11 beneficiaries": (
        GERALT,
        {
            "type": "PEC_HOSPI",
            "contractId": HEALTH,
            "beneficiaries": ["Ciri RIVIÈRE"] * 11,
            "description": "Hospitalisation",
        },
        [("beneficiaries", "TOO_MANY")],
    ),
    "6 attachments": (
        GERALT,
        {
            "type": "ETAT_CIVIL",
            "description": "Mariage",
            "attachmentIds": [f"PJ-00000{i}" for i in range(6)],
        },
        [("attachmentIds", "TOO_MANY")],
    ),
    "beneficiary not on the contract": (
        GERALT,
        {
            "type": "PEC_HOSPI",
            "contractId": HEALTH,
            "beneficiaries": ["Ciri RIVIÈRE", "Triss MERIGOLD"],
            "description": "Hospitalisation",
        },
        [("beneficiaries.1", "UNKNOWN")],
    ),
    "unknown attachment": (
        GERALT,
        {"type": "ETAT_CIVIL", "description": "Mariage", "attachmentIds": ["PJ-999999"]},
        [("attachmentIds.0", "UNKNOWN")],
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
async def test_bad_input_is_a_typed_user_error_and_nothing_is_written(
    gateway: Gateway, case: str
) -> None:
    persona, fields, expected = BAD_INPUTS[case]
    before = demandes_count(gateway)
    body = await create(gateway, as_=persona, **fields)
    assert "errors" not in body, body
    assert body["data"]["createDemande"]["demande"] is None
    assert errors_of(body, "createDemande") == expected
    assert all(e["message"] for e in body["data"]["createDemande"]["userErrors"])
    assert posts(gateway) == 0 and demandes_count(gateway) == before


async def test_a_refused_input_can_be_fixed_and_sent_with_the_same_key(gateway: Gateway) -> None:
    variables: dict[str, Any] = {
        "input": {"idempotencyKey": key(), "type": "MESSAGE", "subject": "Question"}
    }
    refused = await gateway.run("demarches/CreateDemande", variables, as_=GERALT)
    assert errors_of(refused, "createDemande") == [("description", "REQUIRED")]
    variables["input"]["description"] = "Bonjour"
    fixed = await gateway.run("demarches/CreateDemande", variables, as_=GERALT)
    assert fixed["data"]["createDemande"]["demande"] and posts(gateway) == 1


async def test_attachments_of_another_customer_used_or_expired_are_refused(
    gateway: Gateway,
) -> None:
    foreign = await uploaded(gateway, as_=PERSONAS["chris"])
    used = await uploaded(gateway)
    ok = await create(gateway, type="ETAT_CIVIL", description="Mariage", attachmentIds=[used])
    assert ok["data"]["createDemande"]["demande"]
    expired = await uploaded(gateway)
    store = gateway.app.state.services.store
    record = await store.get(attachment_key(expired))
    await store.put(
        attachment_key(expired), {**record, "uploaded_at": time.time() - 25 * 3600}, 3600
    )
    writes = posts(gateway)
    body = await create(
        gateway,
        type="ETAT_CIVIL",
        description="Mariage",
        attachmentIds=[foreign, used, expired],
    )
    assert errors_of(body, "createDemande") == [
        ("attachmentIds.0", "UNKNOWN"),
        ("attachmentIds.1", "ALREADY_USED"),
        ("attachmentIds.2", "EXPIRED"),
    ]
    assert posts(gateway) == writes


async def test_a_crm_refusal_becomes_a_user_error(gateway: Gateway) -> None:
    attachment = await uploaded(gateway)
    async with admin(gateway.mocks["crm"]) as control:  # the CRM's 24 h have passed, not ours
        assert (await control.put("/_admin/clock", json={"offset_s": 25 * 3600})).status_code == 200
    body = await create(
        gateway, type="ETAT_CIVIL", description="Mariage", attachmentIds=[attachment]
    )
    assert errors_of(body, "createDemande") == [("attachmentIds.0", "ALREADY_USED")]
    assert demandes_count(gateway) == len(gateway.mocks["crm"].demandes)  # type: ignore[attr-defined]


async def test_a_lost_answer_is_reconciled_without_a_second_post(gateway: Gateway) -> None:
    gateway.app.state.services.settings.request_deadline_s = 3.0
    await faults(gateway, "crm", timeout_rate=1.0, hang_ms=2000, routes=[POST_DEMANDE])
    before = demandes_count(gateway)
    body = await create(gateway, type="MESSAGE", subject="Question", description="Bonjour")
    assert body["data"]["createDemande"]["demande"]["reference"].startswith("DEM-")
    assert posts(gateway) == 1 and demandes_count(gateway) == before + 1


async def test_a_crm_down_is_a_backend_error_and_the_retry_creates_it_once(
    gateway: Gateway,
) -> None:
    await faults(gateway, "crm", error_rate=1.0, error_status=503, routes=[POST_DEMANDE])
    before = demandes_count(gateway)
    variables = {
        "input": {
            "idempotencyKey": key(),
            "type": "MESSAGE",
            "subject": "Question",
            "description": "Bonjour",
        }
    }
    down = await gateway.run("demarches/CreateDemande", variables, as_=GERALT)
    assert codes(down) == ["BACKEND_UNAVAILABLE"] and demandes_count(gateway) == before
    await faults(gateway, "crm")
    retried = await gateway.run("demarches/CreateDemande", variables, as_=GERALT)
    again = await gateway.run("demarches/CreateDemande", variables, as_=GERALT)
    assert (
        retried["data"]["createDemande"]["demande"]["id"]
        == (again["data"]["createDemande"]["demande"]["id"])
    )
    assert demandes_count(gateway) == before + 1


async def test_staff_cannot_send_a_demande_for_a_customer(gateway: Gateway) -> None:
    body = await gateway.run(
        "demarches/CreateDemande",
        {"input": {"idempotencyKey": key(), "type": "MESSAGE", "subject": "a", "description": "b"}},
        as_="agent-1",
        role="staff",
    )
    assert codes(body) == ["FORBIDDEN"] and posts(gateway) == 0


# ---- uploads -------------------------------------------------------------------------------
async def test_an_upload_is_typed_by_its_bytes_and_forwarded(gateway: Gateway) -> None:
    body = await upload(gateway, PNG, "scan.png")
    attachment = body["data"]["uploadAttachment"]["attachment"]
    assert attachment["mimeType"] == "image/png" and attachment["sizeBytes"] == len(PNG)
    assert posts(gateway, route="/pieces-jointes") == 1


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"MZ\x90\x00" + b"\x00" * 100, "UNSUPPORTED_TYPE"),  # an executable named .pdf
        (pdf(size=10 * 1024 * 1024 + 1), "TOO_LARGE"),  # 10 MiB + 1 byte
    ],
    ids=["executable", "10MiB+1"],
)
async def test_a_bad_file_is_refused_and_never_forwarded(
    gateway: Gateway, content: bytes, code: str
) -> None:
    body = await upload(gateway, content, "facture.pdf")
    assert errors_of(body, "uploadAttachment") == [("file", code)]
    assert posts(gateway, route="/pieces-jointes") == 0


async def test_a_file_of_exactly_10_mib_is_accepted(gateway: Gateway) -> None:
    body = await upload(gateway, pdf(size=10 * 1024 * 1024))
    assert body["data"]["uploadAttachment"]["attachment"]["sizeBytes"] == 10 * 1024 * 1024


async def test_multipart_needs_a_preflight_header(gateway: Gateway) -> None:
    body = await upload(gateway, headers={})
    assert body["_status"] == 400 and posts(gateway, route="/pieces-jointes") == 0
    allowed = await upload(gateway, headers={"X-Requested-With": "XMLHttpRequest"})
    assert allowed["data"]["uploadAttachment"]["attachment"]


async def test_an_oversized_body_is_refused_before_it_is_read(gateway: Gateway) -> None:
    response = await gateway.http.post(
        "/graphql",
        content=b"x" * 100,
        headers={
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(50 * 1024 * 1024),
            "Apollo-Require-Preflight": "1",
            "Authorization": f"Bearer {gateway.token(GERALT)}",
        },
    )
    assert response.status_code == 413


async def test_multipart_runs_no_other_operation(gateway: Gateway) -> None:
    body = await upload(
        gateway,
        query=(
            "mutation($file: Upload!) { updatePreferences(input: {paperless: true, consents: "
            "{groupOffers: false, targetedCommunication: false, satisfactionSurveys: false}})"
            " { userErrors { code } } }"
        ),
    )
    assert codes(body) == ["BAD_REQUEST"]
    assert not any(c.method != "GET" for c in gateway.mocks["crm"].log.calls)


async def test_an_upload_pdf_is_forwarded_with_its_bytes(gateway: Gateway) -> None:
    attachment = await uploaded(gateway)
    piece = gateway.mocks["crm"].pieces[attachment]  # type: ignore[attr-defined]
    assert piece["contenu"] == PDF and piece["type"] == "application/pdf"


@pytest.mark.parametrize(
    ("faulted", "code"),
    [({"error_rate": 1.0}, "BACKEND_UNAVAILABLE"), ({"timeout_rate": 1.0}, "BACKEND_TIMEOUT")],
)
async def test_an_upload_with_the_crm_down_or_silent_is_a_backend_error(
    gateway: Gateway, faulted: dict[str, Any], code: str
) -> None:
    await faults(gateway, "crm", hang_ms=5000, routes=["POST /crm/api/pieces-jointes"], **faulted)
    body = await upload(gateway)
    assert codes(body) == [code]


async def test_a_chunked_oversized_body_is_cut_off_once_past_the_limit(gateway: Gateway) -> None:
    sent = 0

    async def body() -> Any:
        nonlocal sent
        yield b'--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{}\r\n'
        yield b'--x\r\nContent-Disposition: form-data; name="0"; filename="a.pdf"\r\n\r\n%PDF-'
        for _ in range(40):  # 40 MiB offered, no Content-Length
            sent += 1
            yield b"0" * (1024 * 1024)

    response = await gateway.http.post(
        "/graphql",
        content=body(),
        headers={
            "Content-Type": "multipart/form-data; boundary=x",
            "Apollo-Require-Preflight": "1",
            "Authorization": f"Bearer {gateway.token(GERALT)}",
        },
    )
    assert response.status_code == 413 and posts(gateway, route="/pieces-jointes") == 0
    assert sent < 40  # refused before the whole body was read


async def test_staff_cannot_upload_for_a_customer(gateway: Gateway) -> None:
    response = await gateway.http.post(
        "/graphql",
        data={
            "operations": '{"query": "mutation($file: Upload!) { uploadAttachment(file: $file) '
            '{ attachment { id } } }", "variables": {"file": null}}',
            "map": '{"0": ["variables.file"]}',
        },
        files={"0": ("a.pdf", PDF, "application/pdf")},
        headers={
            "Authorization": f"Bearer {gateway.token('agent-1', 'staff')}",
            "Apollo-Require-Preflight": "1",
        },
    )
    assert codes(response.json()) == ["FORBIDDEN"]
    assert posts(gateway, route="/pieces-jointes") == 0
