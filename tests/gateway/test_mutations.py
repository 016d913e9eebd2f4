"""Contact data and preferences: typed twice, validated first, nothing half-written, cache dropped."""

from __future__ import annotations

import pytest

from tests.conftest import admin
from tests.gateway.support import PERSONAS, Gateway, codes

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
