"""Personal values the gateway must not give back as typed: an IBAN echoed by an error about the
request, an IBAN written in lower case or with dashes read back from a demande, and markup in a
beneficiary's name."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.schema.ids import to_global
from tests.support.demarches import GERALT, create, key, posts, uploaded
from tests.support.gateway import PERSONAS, Gateway, codes

FULL = "FR7630004008190001012345632"
CHRIS_SAVINGS = to_global("Contract", "596054210")
HEALTH = to_global("Contract", "AA565656")


def leaked(body: Any) -> bool:
    text = str(body)
    return FULL in text.upper().replace(" ", "").replace("-", "")


async def test_an_iban_in_a_variable_with_an_unknown_field_is_masked_in_the_error(
    gateway: Gateway,
) -> None:
    fields = {
        "idempotencyKey": key(),
        "contractId": HEALTH,
        "iban": "FR76 3000 4008 1900 0101 2345 632",
        "holder": "M. GERALT RIVIERE",
        "usage": "BOTH",
        "ribAttachmentId": "PJ-000001",
        "bic": "BNPAFRPP",  # no such field
    }
    body = await gateway.run("demarches/ChangeBankDetails", {"input": fields}, as_=GERALT)

    assert codes(body) == ["BAD_USER_INPUT"] and "FR76 ****" in str(body)
    assert not leaked(body)


@pytest.mark.parametrize(
    "literal",
    [
        f"iban: {FULL}",  # an enum-like literal where a string is expected
        f'iban: "{FULL}", bic: "{FULL}"',  # an unknown input field carrying it
        f'iban: ["{FULL.lower()}"]',  # a list, lower case
    ],
)
async def test_an_iban_in_a_literal_is_masked_in_the_error(gateway: Gateway, literal: str) -> None:
    query = (
        'mutation { changeBankDetails(input: {idempotencyKey: "k-12345678", contractId: "x", '
        + literal
        + ', holder: "a", usage: BOTH, ribAttachmentId: "PJ-1"}) { maskedIban } }'
    )
    body = await gateway.run(query, as_=GERALT)

    assert codes(body) and set(codes(body)) <= {"GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"}
    assert not leaked(body), body


@pytest.mark.parametrize(
    "typed",
    [
        "fr76 3000 4008 1900 0101 2345 632",
        "FR76-3000-4008-1900-0101-2345-632",
        "fr7630004008190001012345632",
        "Fr76.3000.4008.1900.0101.2345.632",
    ],
)
async def test_an_iban_typed_in_lower_case_or_with_dashes_is_masked_on_read_back(
    gateway: Gateway, typed: str
) -> None:
    created = await create(
        gateway,
        type="MESSAGE",
        subject="Mon RIB",
        description=f"Bonjour, mon nouvel IBAN est {typed} merci.",
    )
    demande = created["data"]["createDemande"]["demande"]
    page = await gateway.run(
        "query($id: ID!) { demande(id: $id) { reminder { description } } }",
        {"id": demande["id"]},
        as_=GERALT,
    )

    shown = page["data"]["demande"]["reminder"]["description"]
    assert "FR76 **** **** **** **** **** 632" in shown and "merci" in shown
    assert not leaked(page) and not leaked(created)


async def beneficiaries(gateway: Gateway, *names: tuple[str, str]) -> dict[str, Any]:
    share = 100 // len(names)
    items = [
        {"firstName": first, "lastName": last, "birthDate": "2001-02-03", "share": share}
        for first, last in names
    ]
    items[0]["share"] += 100 - share * len(names)
    body = await gateway.run(
        "demarches/DesignateBeneficiaries",
        {"input": {"idempotencyKey": key(), "contractId": CHRIS_SAVINGS, "beneficiaries": items}},
        as_=PERSONAS["chris"],
    )
    result: dict[str, Any] = body["data"]["designateBeneficiaries"]
    return result


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        ("<img src=x onerror=alert(1)>", "Martin", "firstName"),
        ("Jeanne", "Martin<script>", "lastName"),
        ("Jeanne", "Martin & Cie", "lastName"),
        ("Jeanne", "1234", "lastName"),
    ],
)
async def test_markup_in_a_beneficiary_name_is_refused(
    gateway: Gateway, first: str, last: str, field: str
) -> None:
    result = await beneficiaries(gateway, (first, last))

    assert [(e["field"], e["code"]) for e in result["userErrors"]] == [
        (f"beneficiaries.0.{field}", "INVALID")
    ]
    assert posts(gateway) == 0


async def test_names_of_every_alphabet_with_apostrophes_and_hyphens_are_accepted(
    gateway: Gateway,
) -> None:
    result = await beneficiaries(
        gateway, ("Zoé", "D’Artagnan"), ("Jean-Pierre", "O'Brien"), ("Ἀθηνᾶ", "St. Clair")
    )

    assert result["userErrors"] == [] and result["demande"]["reference"]
    await uploaded(gateway)  # the session still works: nothing half-written
