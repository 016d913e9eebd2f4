"""Contract acts (termination, bank details, beneficiaries, debit day) and attestations."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from gateway.domain.records import ContractSummary
from gateway.domain.termination import TerminationRule, termination
from gateway.domain.values import ContractRole, ContractStatus, NumberKind, ProductFamily
from gateway.schema.ids import to_global
from tests.conftest import admin
from tests.support.demarches import (
    GERALT,
    HEALTH,
    demandes_count,
    key,
    posts,
    uploaded,
)
from tests.support.gateway import PERSONAS, Gateway, codes
from tests.support.security import stepped_up

PAUL_MEMBERSHIP = to_global("Contract", "ADH184068708")
CHRIS_SAVINGS = to_global("Contract", "596054210")
VALID_IBAN = "FR76 3000 4008 1900 0101 2345 632"
GENERATE = "POST /editique/ws GenererAttestation"


def contract(family: ProductFamily, since: date, **changes: Any) -> ContractSummary:
    values: dict[str, Any] = {
        "number": "X1",
        "number_kind": NumberKind.CONTRACT,
        "family": family,
        "product_name": "P",
        "status": ContractStatus.ACTIVE,
        "effective_date": since,
        "term_date": None,
        "termination_date": None,
        "collective": False,
        "company_contract": None,
        "company_name": None,
        "subscriber": "1",
        "role": ContractRole.SUBSCRIBER,
        **changes,
    }
    return ContractSummary(**values)


TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("summary", "company", "expected"),
    [
        (contract(ProductFamily.HEALTH, date(2017, 1, 1)), False, date(2026, 12, 24)),
        (contract(ProductFamily.PROPERTY_CASUALTY, date(2025, 11, 1)), False, date(2026, 12, 24)),
        # held less than a year: next anniversary with two months' notice
        (contract(ProductFamily.HEALTH, date(2026, 3, 1)), False, date(2027, 3, 1)),
        # anniversary within two months: the following one
        (contract(ProductFamily.HEALTH, date(2026, 1, 10)), False, date(2028, 1, 10)),
        (contract(ProductFamily.PROTECTION, date(2016, 6, 1)), True, date(2027, 6, 1)),
        (contract(ProductFamily.HEALTH, date(2017, 1, 1)), True, date(2028, 1, 1)),
    ],
)
def test_termination_dates_follow_hamon_and_chatel(
    summary: ContractSummary, company: bool, expected: date
) -> None:
    found = termination(summary, company, TODAY, offered=True)
    assert found.allowed and found.effective_date == expected
    hamon = summary.family in (ProductFamily.HEALTH, ProductFamily.PROPERTY_CASUALTY)
    rule = (
        TerminationRule.INFRA_ANNUAL
        if hamon and not company and expected == date(2026, 12, 24)
        else TerminationRule.ANNUAL_TERM
    )
    assert found.rule == rule


async def test_the_preview_writes_nothing_and_refuses_an_affiliate(gateway: Gateway) -> None:
    geralt = await gateway.run("demarches/TerminationPreview", {"id": HEALTH}, as_=GERALT)
    preview = geralt["data"]["contract"]["termination"]
    assert preview["allowed"] and preview["rule"] == "INFRA_ANNUAL"
    paul = await gateway.run(
        "demarches/TerminationPreview", {"id": PAUL_MEMBERSHIP}, as_=PERSONAS["paul"]
    )
    refused = paul["data"]["contract"]["termination"]
    assert not refused["allowed"] and "entreprise" in refused["refusal"]
    reads = [  # the batch read of contracts (their acts) is a POST that writes nothing
        c.method == "GET" or c.path.endswith("/contrats/recherche")
        for m in gateway.mocks.values()
        for c in m.log.calls
    ]
    assert all(reads)


SENSITIVE = ("RequestTermination", "ChangeBankDetails")  # need a recent strong proof


async def act(gateway: Gateway, name: str, field: str, as_: str, **fields: Any) -> dict[str, Any]:
    if name in SENSITIVE and as_ not in gateway.strong and as_ != "C0001005":  # C0001005: locked
        await stepped_up(gateway, as_)
    body = await gateway.run(
        f"demarches/{name}", {"input": {"idempotencyKey": key(), **fields}}, as_=as_
    )
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"][field]
    return result


async def test_termination_is_sent_with_the_preview_date(gateway: Gateway) -> None:
    preview = await gateway.run("demarches/TerminationPreview", {"id": HEALTH}, as_=GERALT)
    result = await act(
        gateway, "RequestTermination", "requestTermination", GERALT, contractId=HEALTH
    )
    assert result["userErrors"] == []
    assert result["effectiveDate"] == preview["data"]["contract"]["termination"]["effectiveDate"]
    created = gateway.mocks["crm"].demandes  # type: ignore[attr-defined]
    sent = next(d for d in created.values() if d["type"] == "RESIL" and d["referenceExterne"])
    assert "24/12/2026" in sent["rappel"]["description"] and sent["numContrat"] == "AA565656"


@pytest.mark.parametrize(
    ("persona", "contract_id", "code"),
    [
        ("paul", PAUL_MEMBERSHIP, "NOT_ALLOWED"),  # the preview refuses an affiliate
        ("geralt", CHRIS_SAVINGS, "UNKNOWN"),  # another customer's contract
        ("C0001005", to_global("Contract", "IH300045"), "NOT_ALLOWED"),  # already terminated
    ],
)
async def test_a_termination_the_preview_refuses_is_not_sent(
    gateway: Gateway, persona: str, contract_id: str, code: str
) -> None:
    result = await act(
        gateway,
        "RequestTermination",
        "requestTermination",
        PERSONAS.get(persona, persona),
        contractId=contract_id,
    )
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [("contractId", code)]
    assert posts(gateway) == 0


async def test_bank_details_send_the_full_iban_to_the_crm_only(gateway: Gateway) -> None:
    rib = await uploaded(gateway)
    result = await act(
        gateway,
        "ChangeBankDetails",
        "changeBankDetails",
        GERALT,
        contractId=HEALTH,
        iban=VALID_IBAN,
        holder="M. GERALT RIVIERE",
        usage="BOTH",
        ribAttachmentId=rib,
    )
    assert (
        result["userErrors"] == [] and result["maskedIban"] == "FR76 **** **** **** **** **** 632"
    )
    sent = next(
        d
        for d in gateway.mocks["crm"].demandes.values()  # type: ignore[attr-defined]
        if d["type"] == "RIB" and (d["referenceExterne"] or "").startswith("gw-")
    )
    assert "FR7630004008190001012345632" in sent["rappel"]["description"]
    page = await gateway.run(
        "query($id: ID!) { demande(id: $id) { reminder { description } } }",
        {"id": result["demande"]["id"]},
        as_=GERALT,
    )
    shown = page["data"]["demande"]["reminder"]["description"]
    assert "FR7630004008190001012345632" not in shown and "**** 632" in shown


@pytest.mark.parametrize(
    ("iban", "why"),
    [
        ("FR76 3000 4008 1900 0101 2345 633", "contrôle"),  # bad check digits
        ("FR62 3000 4008 1900 0101 2345 63", "longueur"),  # valid digits, French length wrong
    ],
)
async def test_an_invalid_iban_is_refused_and_never_echoed(
    gateway: Gateway, iban: str, why: str
) -> None:
    result = await act(
        gateway,
        "ChangeBankDetails",
        "changeBankDetails",
        GERALT,
        contractId=HEALTH,
        iban=iban,
        holder="M. GERALT RIVIERE",
        usage="DEBIT",
        ribAttachmentId="PJ-000001",
    )
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [("iban", "INVALID")]
    message = result["userErrors"][0]["message"]
    assert why in message.lower() and iban.replace(" ", "")[4:] not in message.replace(" ", "")
    assert posts(gateway) == 0


def beneficiary(share: int, name: str = "Jeanne") -> dict[str, Any]:
    return {"firstName": name, "lastName": "Martin", "birthDate": "2001-02-03", "share": share}


async def test_beneficiaries_are_designated_with_their_shares(gateway: Gateway) -> None:
    result = await act(
        gateway,
        "DesignateBeneficiaries",
        "designateBeneficiaries",
        PERSONAS["chris"],
        contractId=CHRIS_SAVINGS,
        beneficiaries=[beneficiary(60), beneficiary(40, "Paul")],
    )
    assert result["userErrors"] == [] and result["demande"]["reference"]
    sent = next(
        d
        for d in gateway.mocks["crm"].demandes.values()  # type: ignore[attr-defined]
        if d["type"] == "BENEF" and d["clientId"] == "C0001001" and d["referenceExterne"]
    )
    assert sent["beneficiaires"] == ["Jeanne MARTIN", "Paul MARTIN"]
    assert "60 %" in sent["rappel"]["description"]


@pytest.mark.parametrize(
    ("beneficiaries", "expected"),
    [
        ([beneficiary(50), beneficiary(49)], [("beneficiaries", "SHARES")]),
        ([beneficiary(50), beneficiary(51)], [("beneficiaries", "SHARES")]),
        ([beneficiary(10)] * 10 + [beneficiary(0)], [("beneficiaries", "TOO_MANY")]),
    ],
    ids=["99", "101", "11"],
)
async def test_bad_beneficiaries_are_refused(
    gateway: Gateway, beneficiaries: list[dict[str, Any]], expected: list[tuple[str, str]]
) -> None:
    result = await act(
        gateway,
        "DesignateBeneficiaries",
        "designateBeneficiaries",
        PERSONAS["chris"],
        contractId=CHRIS_SAVINGS,
        beneficiaries=beneficiaries,
    )
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == expected
    assert posts(gateway) == 0


@pytest.mark.parametrize(("day", "code"), [(10, None), (7, "INVALID"), (5, "UNCHANGED")])
async def test_the_debit_day_is_5_10_or_15_and_changes(
    gateway: Gateway, day: int, code: str | None
) -> None:
    result = await act(
        gateway, "ChangeDebitDay", "changeDebitDay", GERALT, contractId=HEALTH, day=day
    )
    if code is None:
        assert result["userErrors"] == [] and posts(gateway) == 1
    else:
        assert [(e["field"], e["code"]) for e in result["userErrors"]] == [("day", code)]
        assert posts(gateway) == 0


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("ChangeDebitDay", {"day": 7}),
        ("RequestTermination", {}),
        (
            "ChangeBankDetails",
            {"iban": "FR00", "holder": "X", "usage": "DEBIT", "ribAttachmentId": "PJ-000001"},
        ),
        ("DesignateBeneficiaries", {"beneficiaries": [beneficiary(100)]}),
        ("GenerateCertificate", {"kind": "AFFILIATION"}),
    ],
)
async def test_staff_cannot_act_on_a_contract(
    gateway: Gateway, name: str, fields: dict[str, Any]
) -> None:
    body = await gateway.run(
        f"demarches/{name}",
        {"input": {"idempotencyKey": key(), "contractId": HEALTH, **fields}},
        as_="agent-1",
        role="staff",
    )
    assert codes(body) == ["FORBIDDEN"] and posts(gateway) == 0
    assert posts(gateway, "editique", "/ws") == 0


# ---- attestations --------------------------------------------------------------------------
def attestations(gateway: Gateway) -> int:
    return len(
        [d for d in gateway.mocks["editique"].documents if d["typeDocument"] in ("ATTA", "CTPY")]  # type: ignore[attr-defined]
    )


async def certificate(
    gateway: Gateway, as_: str, contract_id: str, kind: str, idempotency_key: str | None = None
) -> dict[str, Any]:
    variables = {
        "input": {
            "idempotencyKey": idempotency_key or key(),
            "contractId": contract_id,
            "kind": kind,
        }
    }
    return await gateway.run("demarches/GenerateCertificate", variables, as_=as_)


async def test_a_certificate_is_generated_once_per_key(gateway: Gateway) -> None:
    before = attestations(gateway)
    same = key()
    first = await certificate(gateway, GERALT, HEALTH, "THIRD_PARTY_PAYMENT", same)
    document = first["data"]["generateCertificate"]["document"]
    assert (
        document["type"] == "THIRD_PARTY_PAYMENT_CARD" and "/documents/" in document["downloadUrl"]
    )
    assert document["contract"]["number"] == "AA565656"
    again = await certificate(gateway, GERALT, HEALTH, "THIRD_PARTY_PAYMENT", same)
    assert again["data"]["generateCertificate"]["document"]["id"] == document["id"]
    assert attestations(gateway) == before + 1 and posts(gateway, "editique", "/ws") >= 1
    pdf = await gateway.http.get(document["downloadUrl"].split("gateway.test")[-1])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("persona", "contract_id", "kind", "code"),
    [
        ("chris", CHRIS_SAVINGS, "AFFILIATION", "NOT_OFFERED"),
        ("paul", PAUL_MEMBERSHIP, "THIRD_PARTY_PAYMENT", "NOT_OFFERED"),
        ("geralt", CHRIS_SAVINGS, "AFFILIATION", "UNKNOWN"),
        ("C0001005", to_global("Contract", "IH300045"), "AFFILIATION", "TERMINATED"),
    ],
)
async def test_a_certificate_the_contract_does_not_allow_is_refused(
    gateway: Gateway, persona: str, contract_id: str, kind: str, code: str
) -> None:
    body = await certificate(gateway, PERSONAS.get(persona, persona), contract_id, kind)
    assert [e["code"] for e in body["data"]["generateCertificate"]["userErrors"]] == [code]
    assert attestations(gateway) == len(
        [d for d in gateway.mocks["editique"].documents if d["typeDocument"] in ("ATTA", "CTPY")]  # type: ignore[attr-defined]
    )
    assert not any(c.operation == "GenererAttestation" for c in gateway.mocks["editique"].log.calls)


async def test_an_attestation_impossible_becomes_a_user_error(gateway: Gateway) -> None:
    # the éditique's own copy of the contracts disagrees: it has lost Geralt's contract
    person = gateway.mocks["editique"].persons["EDQ-1002"]  # type: ignore[attr-defined]
    person["contrats"] = []
    body = await certificate(gateway, GERALT, HEALTH, "AFFILIATION")
    errors = body["data"]["generateCertificate"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [("contractId", "REFUSED")]
    assert "AA565656" not in errors[0]["message"]  # our words, not the éditique's


async def test_an_unanswered_attestation_is_found_not_made_twice(gateway: Gateway) -> None:
    async with admin(gateway.mocks["editique"]) as control:
        await control.put(
            "/_admin/faults", json={"timeout_rate": 1.0, "hang_ms": 2800, "routes": [GENERATE]}
        )
    before = attestations(gateway)
    same = key()
    first = await certificate(gateway, GERALT, HEALTH, "AFFILIATION", same)
    assert codes(first) in ([], ["BACKEND_TIMEOUT"])
    second = await certificate(gateway, GERALT, HEALTH, "AFFILIATION", same)
    document = second["data"]["generateCertificate"]["document"]
    assert document["type"] == "MEMBERSHIP_CERTIFICATE"
    assert attestations(gateway) == before + 1


async def test_a_down_editique_is_a_backend_error(gateway: Gateway) -> None:
    async with admin(gateway.mocks["editique"]) as control:
        await control.put("/_admin/faults", json={"error_rate": 1.0, "routes": [GENERATE]})
    before = attestations(gateway)
    body = await certificate(gateway, GERALT, HEALTH, "AFFILIATION")
    assert codes(body) == ["BACKEND_UNAVAILABLE"] and attestations(gateway) == before
    assert demandes_count(gateway) >= 0


async def test_the_next_documents_page_shows_the_new_attestation(gateway: Gateway) -> None:
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from tests.support.gateway import TODAY

    noon = datetime.combine(TODAY, time(12), ZoneInfo("Europe/Paris"))
    async with admin(gateway.mocks["editique"]) as control:  # the éditique's day is the calendar's
        offset = noon.timestamp() - datetime.now().timestamp()
        assert (await control.put("/_admin/clock", json={"offset_s": offset})).status_code == 200
    before = await gateway.run("Documents", as_=GERALT)  # cached search of the viewer
    count = before["data"]["viewer"]["documents"]["totalCount"]
    made = await certificate(gateway, GERALT, HEALTH, "AFFILIATION")
    document = made["data"]["generateCertificate"]["document"]
    after = await gateway.run("Documents", as_=GERALT)
    assert after["data"]["viewer"]["documents"]["totalCount"] == count + 1
    assert after["data"]["viewer"]["documents"]["edges"][0]["node"]["id"] == document["id"]


POST_DEMANDE = "POST /crm/api/clients/{clientId}/demandes"


async def act_fields(gateway: Gateway, name: str) -> tuple[str, str, dict[str, Any]]:
    """(persona, payload field, input) of a valid act of each kind, its persona stepped up."""
    if name in SENSITIVE:
        await stepped_up(gateway, GERALT)
    if name == "ChangeBankDetails":
        rib = await uploaded(gateway)
        fields = {
            "contractId": HEALTH,
            "iban": VALID_IBAN,
            "holder": "M. GERALT RIVIERE",
            "usage": "DEBIT",
            "ribAttachmentId": rib,
        }
        return GERALT, "changeBankDetails", fields
    if name == "DesignateBeneficiaries":
        fields = {"contractId": CHRIS_SAVINGS, "beneficiaries": [beneficiary(100)]}
        return PERSONAS["chris"], "designateBeneficiaries", fields
    if name == "ChangeDebitDay":
        return GERALT, "changeDebitDay", {"contractId": HEALTH, "day": 15}
    return GERALT, "requestTermination", {"contractId": HEALTH}


ACTS = ["RequestTermination", "ChangeBankDetails", "DesignateBeneficiaries", "ChangeDebitDay"]


@pytest.mark.parametrize("name", ACTS)
async def test_an_act_whose_answer_is_lost_is_sent_once(gateway: Gateway, name: str) -> None:
    persona, field, fields = await act_fields(gateway, name)
    async with admin(gateway.mocks["crm"]) as control:
        await control.put(
            "/_admin/faults", json={"timeout_rate": 1.0, "hang_ms": 1500, "routes": [POST_DEMANDE]}
        )
    before = demandes_count(gateway)
    variables = {"input": {"idempotencyKey": key(), **fields}}
    first = await gateway.run(f"demarches/{name}", variables, as_=persona)
    again = await gateway.run(f"demarches/{name}", variables, as_=persona)
    assert first["data"][field]["demande"]["id"] == again["data"][field]["demande"]["id"]
    assert demandes_count(gateway) == before + 1 and posts(gateway) == 1


@pytest.mark.parametrize("name", ACTS)
async def test_an_act_with_the_crm_down_writes_nothing(gateway: Gateway, name: str) -> None:
    persona, _, fields = await act_fields(gateway, name)
    async with admin(gateway.mocks["crm"]) as control:
        await control.put("/_admin/faults", json={"error_rate": 1.0, "routes": [POST_DEMANDE]})
    before = demandes_count(gateway)
    body = await gateway.run(
        f"demarches/{name}", {"input": {"idempotencyKey": key(), **fields}}, as_=persona
    )
    assert codes(body) == ["BACKEND_UNAVAILABLE"] and demandes_count(gateway) == before


async def test_a_rib_the_crm_refuses_is_a_user_error(gateway: Gateway) -> None:
    persona, _, fields = await act_fields(gateway, "ChangeBankDetails")
    async with admin(gateway.mocks["crm"]) as control:  # the RIB expired on the CRM's side
        assert (await control.put("/_admin/clock", json={"offset_s": 25 * 3600})).status_code == 200
    result = await act(gateway, "ChangeBankDetails", "changeBankDetails", persona, **fields)
    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [
        ("ribAttachmentId", "ALREADY_USED")
    ]
    assert result["demande"] is None and result["maskedIban"] is None


async def test_the_full_iban_is_never_logged_nor_returned(
    gateway: Gateway, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    full = VALID_IBAN.replace(" ", "")
    persona, field, fields = await act_fields(gateway, "ChangeBankDetails")
    bodies = [
        await gateway.run(
            "demarches/ChangeBankDetails",
            {"input": {"idempotencyKey": key(), **fields}},
            as_=persona,
        )
    ]
    async with admin(gateway.mocks["crm"]) as control:  # and when the CRM fails
        await control.put("/_admin/faults", json={"error_rate": 1.0, "routes": [POST_DEMANDE]})
    bodies.append(
        await gateway.run(
            "demarches/ChangeBankDetails",
            {
                "input": {
                    "idempotencyKey": key(),
                    **fields,
                    "ribAttachmentId": await uploaded(gateway),
                }
            },
            as_=persona,
        )
    )
    printed = capsys.readouterr()
    seen = " ".join([str(bodies), printed.out, printed.err, caplog.text])
    assert bodies[0]["data"][field]["maskedIban"] and codes(bodies[1]) == ["BACKEND_UNAVAILABLE"]
    assert full not in seen and full[4:] not in seen.replace(" ", "")
