"""Contact data and preferences: typed twice, validated first, nothing half-written, cache dropped."""

from __future__ import annotations

from unittest.mock import ANY

import pytest

from tests.conftest import admin
from tests.support.gateway import PERSONAS, Gateway, codes

UPDATE = """mutation($input: ContactDataInput!) { updateContactData(input: $input) {
  person { email mobile contactDataRequired } userErrors { field code message } } }"""
PREFERENCES = """mutation($input: PreferencesInput!) { updatePreferences(input: $input) {
  person { preferences { paperless consents { groupOffers targetedCommunication satisfactionSurveys } } }
  userErrors { field code } } }"""


async def test_contact_data_typed_twice_is_saved_and_shown_at_once(gateway: Gateway) -> None:
    await gateway.run("Profile", as_=PERSONAS["elodie"])  # warms the cache with the old record
    data = {
        "email": " elodie@example.fr ",
        "emailConfirmation": "Elodie@example.fr",
        "mobile": "06 12 34 56 78",
        "mobileConfirmation": "+33612345678",
    }
    body = await gateway.run(UPDATE, {"input": data}, as_=PERSONAS["elodie"])
    result = body["data"]["updateContactData"]
    assert result["userErrors"] == []
    assert result["person"] == {
        "email": "elodie@example.fr",
        "mobile": "+33612345678",
        "contactDataRequired": False,
    }
    profile = (await gateway.run("Profile", as_=PERSONAS["elodie"]))["data"]["viewer"]
    assert (profile["email"], profile["mobile"], profile["contactDataRequired"]) == (
        "elodie@example.fr",
        "+33612345678",
        False,
    )


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({}, None, "REQUIRED"),
        ({"email": "pas-un-email", "emailConfirmation": "pas-un-email"}, "email", "INVALID"),
        (
            {"email": "a@example.fr", "emailConfirmation": "b@example.fr"},
            "emailConfirmation",
            "MISMATCH",
        ),
        ({"mobile": "01 45 67 89 01", "mobileConfirmation": "01 45 67 89 01"}, "mobile", "INVALID"),
        (
            {"mobile": "0612345678", "mobileConfirmation": "0612345679"},
            "mobileConfirmation",
            "MISMATCH",
        ),
    ],
)
async def test_bad_contact_data_is_refused_before_anything_is_sent(
    gateway: Gateway, data: dict[str, str], field: str | None, code: str
) -> None:
    await gateway.clear_calls()
    body = await gateway.run(
        UPDATE,
        {"input": {**data, "email": data.get("email"), "mobile": data.get("mobile")}},
        as_=PERSONAS["chris"],
    )
    result = body["data"]["updateContactData"]
    assert result["person"] is None and [(e["field"], e["code"]) for e in result["userErrors"]] == [
        (field, code)
    ]
    assert result["userErrors"][0]["message"]
    assert "PATCH /crm/api/clients/{clientId}/contact" not in gateway.mocks["crm"].log.counts
    unchanged = (await gateway.run("Profile", as_=PERSONAS["chris"]))["data"]["viewer"]
    assert (unchanged["email"], unchanged["mobile"]) == ("chris.martin@example.fr", "+33634876409")


async def test_one_bad_field_and_nothing_is_written(gateway: Gateway) -> None:
    data = {
        "email": "neuf@example.fr",
        "emailConfirmation": "neuf@example.fr",
        "mobile": "0145",
        "mobileConfirmation": "0145",
    }
    body = await gateway.run(UPDATE, {"input": data}, as_=PERSONAS["chris"])
    assert [e["field"] for e in body["data"]["updateContactData"]["userErrors"]] == ["mobile"]
    assert (await gateway.run("Profile", as_=PERSONAS["chris"]))["data"]["viewer"][
        "email"
    ] == "chris.martin@example.fr"


async def test_a_write_is_never_retried_blindly(gateway: Gateway) -> None:
    async with admin(gateway.mocks["crm"]) as control:
        await control.put(
            "/_admin/faults",
            json={"error_rate": 1.0, "routes": ["PATCH /crm/api/clients/{clientId}/contact"]},
        )
    data = {"email": "x@example.fr", "emailConfirmation": "x@example.fr"}
    body = await gateway.run(UPDATE, {"input": data}, as_=PERSONAS["chris"])
    assert body["data"] is None and codes(body) == ["BACKEND_UNAVAILABLE"]
    assert gateway.mocks["crm"].log.counts["PATCH /crm/api/clients/{clientId}/contact"] == 1


async def test_preferences_are_replaced_and_staff_cannot_change_a_record(gateway: Gateway) -> None:
    wanted = {
        "paperless": False,
        "consents": {
            "groupOffers": True,
            "targetedCommunication": False,
            "satisfactionSurveys": False,
        },
    }
    body = await gateway.run(PREFERENCES, {"input": wanted}, as_=PERSONAS["chris"])
    assert body["data"]["updatePreferences"]["person"]["preferences"] == wanted
    staff = await gateway.run(PREFERENCES, {"input": wanted}, as_="agent-042", role="staff")
    assert codes(staff) == ["FORBIDDEN"]


async def test_mutations_are_refused_over_get(gateway: Gateway) -> None:
    token = gateway.token(PERSONAS["chris"])
    response = await gateway.http.get(
        "/graphql",
        params={"query": "mutation { updateContactData(input: {}) { userErrors { code } } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (
        response.status_code == 400 and "mutation" in response.text.lower()
    )  # GET never runs a mutation
    assert "PATCH /crm/api/clients/{clientId}/contact" not in gateway.mocks["crm"].log.counts


# ---- writes with an unknown outcome (issue 11) ---------------------------------------------------
CONTACT_ROUTE = "PATCH /crm/api/clients/{clientId}/contact"
NEW_EMAIL = {"email": "chris.new@example.fr", "emailConfirmation": "chris.new@example.fr"}


async def crm_faults(gateway: Gateway, **settings: object) -> None:
    async with admin(gateway.mocks["crm"]) as control:
        assert (await control.put("/_admin/faults", json=settings)).status_code == 200


@pytest.mark.parametrize(
    "fault",
    [
        {"timeout_rate": 1.0, "hang_ms": 5000},  # committed, the answer held past our timeout
        {"quirk_rate": 1.0},  # committed, then 503 instead of the answer
    ],
)
async def test_a_change_whose_answer_is_lost_is_confirmed_by_reading_it_back(
    gateway: Gateway, fault: dict[str, object]
) -> None:
    await crm_faults(gateway, routes=[CONTACT_ROUTE], **fault)
    body = await gateway.run(UPDATE, {"input": NEW_EMAIL}, as_=PERSONAS["chris"])
    assert "errors" not in body, body
    result = body["data"]["updateContactData"]
    assert result["userErrors"] == [] and result["person"]["email"] == "chris.new@example.fr"
    assert gateway.mocks["crm"].log.counts[CONTACT_ROUTE] == 1  # read back, never re-sent


async def test_a_change_the_crm_did_not_make_is_reported_as_not_made(gateway: Gateway) -> None:
    await crm_faults(gateway, routes=[CONTACT_ROUTE], error_rate=1.0)  # 503, not processed
    body = await gateway.run(UPDATE, {"input": NEW_EMAIL}, as_=PERSONAS["chris"])
    assert codes(body) == ["BACKEND_UNAVAILABLE"] and "pas été enregistrée" in str(body)
    assert gateway.mocks["crm"].log.counts["GET /crm/api/clients/{clientId}"] >= 1
    profile = await gateway.run("Profile", as_=PERSONAS["chris"])
    assert profile["data"]["viewer"]["email"] == "chris.martin@example.fr"


async def test_outcome_unknown_when_even_reading_back_fails(gateway: Gateway) -> None:
    await crm_faults(gateway, routes=["/crm/api/clients"], timeout_rate=1.0, hang_ms=10_000)
    body = await gateway.run(UPDATE, {"input": NEW_EMAIL}, as_=PERSONAS["chris"])
    assert body["data"] is None and codes(body) == ["OUTCOME_UNKNOWN"]
    extensions = body["errors"][0]["extensions"]
    assert extensions == {"code": "OUTCOME_UNKNOWN", "backend": "crm", "requestId": ANY}
    assert gateway.mocks["crm"].log.counts[CONTACT_ROUTE] == 1


async def test_preferences_whose_answer_is_lost_are_confirmed(gateway: Gateway) -> None:
    wanted = {
        "paperless": False,
        "consents": {
            "groupOffers": True,
            "targetedCommunication": True,
            "satisfactionSurveys": False,
        },
    }
    route = "PUT /crm/api/clients/{clientId}/preferences"
    await crm_faults(gateway, routes=[route], timeout_rate=1.0, hang_ms=5000)
    body = await gateway.run(PREFERENCES, {"input": wanted}, as_=PERSONAS["paul"])
    result = body["data"]["updatePreferences"]
    assert result["userErrors"] == [] and result["person"]["preferences"] == wanted


@pytest.mark.parametrize(
    "email",
    [
        "chris\u202e@example.fr",  # right-to-left override
        "chris\u200b@example.fr",  # zero-width space
        "chris\u0007@example.fr",  # a control character
        "chris@exa\u2028mple.fr",  # a line separator
        "<b>chris</b>@example.fr",
        "chris@example.fr<script>",
        '"chris"@example.fr',
        "chris@localhost",
    ],
)
async def test_unsafe_email_addresses_are_refused_before_anything_is_sent(
    gateway: Gateway, email: str
) -> None:
    data = {"email": email, "emailConfirmation": email}
    body = await gateway.run(UPDATE, {"input": data}, as_=PERSONAS["chris"])
    errors = body["data"]["updateContactData"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [("email", "INVALID")]
    assert gateway.mocks["crm"].log.counts[CONTACT_ROUTE] == 0
