"""Passkeys in process: the frontends' documents, real WebAuthn ceremonies answered by the software
authenticator, the mock CRM keeping the credentials, counters, locks and alerts."""

from __future__ import annotations

import json
from typing import Any

from webauthn.helpers import base64url_to_bytes

from tests.conftest import admin, faults
from tests.support.accounts import crm_calls, errors_of, session
from tests.support.authenticator import SoftAuthenticator
from tests.support.gateway import Gateway, codes

GERALT, CHRIS = "geralt.riviere@example.fr", "chris.martin@example.fr"
PASSKEYS = (
    "query { viewer { id account { security { passkeys "
    "{ id credentialId name transports createdAt lastUsedAt } } } } }"
)
REGISTER_ROUTE = "POST /crm/api/comptes/{clientId}/cles-acces"
ASSERTION_ROUTE = "POST /crm/api/cles-acces/{credentialId}/assertion"


async def signed_in(gateway: Gateway, who: str = GERALT) -> str:
    found: str = (await session(gateway, who))["accessToken"]
    return found


async def options(gateway: Gateway, token: str) -> dict[str, Any]:
    body = await gateway.run("securite/PasskeyRegistrationOptions", token=token)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["generatePasskeyRegistrationOptions"]
    return found


async def add(
    gateway: Gateway, token: str, phone: SoftAuthenticator, name: str = "iPhone de Geralt"
) -> dict[str, Any]:
    ceremony = (await options(gateway, token))["ceremony"]
    variables = {
        "input": {
            "ceremonyToken": ceremony["token"],
            "credentialJSON": phone.create(ceremony["optionsJSON"]),
            "name": name,
        }
    }
    body = await gateway.run("securite/RegisterPasskey", variables, token=token)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["registerPasskey"]
    return found


async def login_options(gateway: Gateway) -> dict[str, Any]:
    body = await gateway.run("securite/PasskeyLoginOptions")
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["generatePasskeyLoginOptions"]["ceremony"]
    return found


async def unlock(
    gateway: Gateway, phone: SoftAuthenticator, *, origin: str | None = None
) -> dict[str, Any]:
    """The app's biometric unlock: options, the authenticator's assertion, the sign-in."""
    ceremony = await login_options(gateway)
    return await send_assertion(
        gateway, ceremony["token"], phone.get(ceremony["optionsJSON"], origin=origin)
    )


async def send_assertion(gateway: Gateway, token: str, assertion: str) -> dict[str, Any]:
    variables = {
        "input": {"ceremonyToken": token, "credentialJSON": assertion, "deviceId": "app-1"}
    }
    body = await gateway.run("securite/LoginWithPasskey", variables)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["loginWithPasskey"]
    return found


async def passkeys(gateway: Gateway, token: str) -> list[dict[str, Any]]:
    body = await gateway.run(PASSKEYS, token=token)
    assert "errors" not in body, body
    found: list[dict[str, Any]] = body["data"]["viewer"]["account"]["security"]["passkeys"]
    return found


def security_alerts(gateway: Gateway, client_id: str) -> list[dict[str, Any]]:
    crm = gateway.mocks["crm"]
    return [
        n
        for n in crm.notifications.values()  # type: ignore[attr-defined]
        if n["clientId"] == client_id and n["evenement"] == "SECURITE_COMPTE"
    ]


def alert_mails(gateway: Gateway, client_id: str) -> list[dict[str, Any]]:
    return [
        m
        for m in gateway.mocks["crm"].outbox  # type: ignore[attr-defined]
        if m["type"] == "NOTIFICATION" and m["clientId"] == client_id
    ]


# ---- adding and signing in ---------------------------------------------------------------------
async def test_a_passkey_added_in_the_settings_unlocks_the_app_without_a_password(
    gateway: Gateway,
) -> None:
    token, phone = await signed_in(gateway), SoftAuthenticator()
    added = await add(gateway, token, phone)
    assert added["userErrors"] == []
    passkey = added["passkey"]
    assert passkey["name"] == "iPhone de Geralt" and passkey["lastUsedAt"] is None
    assert passkey["credentialId"] == next(iter(phone.credentials))
    assert passkey["transports"] == ["internal", "hybrid"]
    assert await passkeys(gateway, token) == [passkey]

    signed = await unlock(gateway, phone)
    assert signed["userErrors"] == [] and signed["session"]["refreshToken"]
    home = await gateway.run("HomePage", token=signed["session"]["accessToken"])
    assert "errors" not in home and home["data"]["viewer"]["displayName"].startswith("Geralt")
    stored = gateway.mocks["crm"].security["C0001002"].passkeys[passkey["credentialId"]]  # type: ignore[attr-defined]
    assert stored["signCount"] == 1 and stored["derniereUtilisation"] is not None
    assert (await passkeys(gateway, token))[0]["lastUsedAt"] is not None


async def test_the_registration_options_exclude_the_passkeys_already_on_the_account(
    gateway: Gateway,
) -> None:
    token, phone = await signed_in(gateway), SoftAuthenticator()
    await add(gateway, token, phone)
    ceremony = (await options(gateway, token))["ceremony"]
    assert next(iter(phone.credentials)) in ceremony["optionsJSON"]


async def test_a_refused_name_does_not_spend_the_ceremony(gateway: Gateway) -> None:
    token, phone = await signed_in(gateway), SoftAuthenticator()
    ceremony = (await options(gateway, token))["ceremony"]
    answer = phone.create(ceremony["optionsJSON"])
    for name in ("   ", "x" * 51):
        variables = {
            "input": {"ceremonyToken": ceremony["token"], "credentialJSON": answer, "name": name}
        }
        body = await gateway.run("securite/RegisterPasskey", variables, token=token)
        assert errors_of(body["data"]["registerPasskey"]) == [("name", "INVALID")]
    variables["input"]["name"] = "  Pixel de Geralt  "
    body = await gateway.run("securite/RegisterPasskey", variables, token=token)
    assert body["data"]["registerPasskey"]["passkey"]["name"] == "Pixel de Geralt"


async def test_a_registration_answered_twice_adds_one_passkey(gateway: Gateway) -> None:
    token, phone = await signed_in(gateway), SoftAuthenticator()
    ceremony = (await options(gateway, token))["ceremony"]
    variables = {
        "input": {
            "ceremonyToken": ceremony["token"],
            "credentialJSON": phone.create(ceremony["optionsJSON"]),
            "name": "iPhone",
        }
    }
    first = await gateway.run("securite/RegisterPasskey", variables, token=token)
    again = await gateway.run("securite/RegisterPasskey", variables, token=token)
    assert first["data"]["registerPasskey"]["userErrors"] == []
    assert errors_of(again["data"]["registerPasskey"]) == [("ceremonyToken", "INVALID_TOKEN")]
    assert len(await passkeys(gateway, token)) == 1


async def test_a_registration_whose_crm_answer_is_lost_adds_the_passkey_once(
    gateway: Gateway,
) -> None:
    token, phone = await signed_in(gateway), SoftAuthenticator()
    await faults(gateway, "crm", quirk_rate=1.0, routes=[REGISTER_ROUTE])  # stored, then 503
    added = await add(gateway, token, phone)
    await faults(gateway, "crm")
    assert added["userErrors"] == [] and added["passkey"]["name"] == "iPhone de Geralt"
    assert [k["credentialId"] for k in await passkeys(gateway, token)] == list(phone.credentials)
    assert crm_calls(gateway, REGISTER_ROUTE) == 1  # found by its credential id, not posted again


async def test_a_credential_already_on_another_account_is_not_added_twice(
    gateway: Gateway,
) -> None:
    geralt, phone = await signed_in(gateway), SoftAuthenticator()
    taken = (await add(gateway, geralt, phone))["passkey"]["credentialId"]
    chris = await signed_in(gateway, CHRIS)
    ceremony = (await options(gateway, chris))["ceremony"]
    reused = SoftAuthenticator().create(
        ceremony["optionsJSON"], credential_id=base64url_to_bytes(taken)
    )
    variables = {
        "input": {"ceremonyToken": ceremony["token"], "credentialJSON": reused, "name": "x"}
    }
    body = await gateway.run("securite/RegisterPasskey", variables, token=chris)
    assert body["data"]["registerPasskey"]["passkey"] is None
    assert errors_of(body["data"]["registerPasskey"]) == [("credentialJSON", "ALREADY_REGISTERED")]
    assert await passkeys(gateway, chris) == []
    assert security_alerts(gateway, "C0001001") == []


async def test_ten_passkeys_at_most(gateway: Gateway) -> None:
    token = await signed_in(gateway)
    for n in range(10):
        assert (await add(gateway, token, SoftAuthenticator(), f"Appareil {n}"))["userErrors"] == []
    refused = await options(gateway, token)
    assert refused["ceremony"] is None
    assert errors_of(refused) == [(None, "PASSKEY_LIMIT")]


# ---- refusals of a sign-in ---------------------------------------------------------------------
async def test_a_phishing_page_of_another_origin_gets_no_session(gateway: Gateway) -> None:
    token, phone = await signed_in(gateway), SoftAuthenticator()
    await add(gateway, token, phone)
    refused = await unlock(gateway, phone, origin="https://espace-client.example.evil")
    assert refused["session"] is None
    assert errors_of(refused) == [("credentialJSON", "PASSKEY_INVALID")]


async def test_a_replayed_sign_in_gets_no_second_session(gateway: Gateway) -> None:
    token, phone = await signed_in(gateway), SoftAuthenticator()
    await add(gateway, token, phone)
    ceremony = await login_options(gateway)
    assertion = phone.get(ceremony["optionsJSON"])
    assert (await send_assertion(gateway, ceremony["token"], assertion))["session"] is not None
    replayed = await send_assertion(gateway, ceremony["token"], assertion)
    assert replayed["session"] is None
    assert errors_of(replayed) == [("ceremonyToken", "INVALID_TOKEN")]


async def test_a_cloned_authenticator_gets_no_session(gateway: Gateway) -> None:
    token, phone = await signed_in(gateway), SoftAuthenticator()
    await add(gateway, token, phone)
    clone = phone.clone()
    assert (await unlock(gateway, phone))["session"] is not None
    copied = await unlock(gateway, clone)  # its counter is where the original's was
    assert copied["session"] is None
    assert errors_of(copied) == [("credentialJSON", "PASSKEY_INVALID")]


async def test_a_locked_account_cannot_be_opened_with_its_passkey(gateway: Gateway) -> None:
    token, phone = await signed_in(gateway), SoftAuthenticator()
    await add(gateway, token, phone)
    gateway.mocks["crm"].accounts["C0001002"]["statut"] = "VERROUILLE"  # type: ignore[attr-defined]
    refused = await unlock(gateway, phone)
    assert refused["session"] is None and errors_of(refused) == [(None, "LOCKED")]
    assert crm_calls(gateway, ASSERTION_ROUTE) == 0


async def test_a_deleted_passkey_no_longer_opens_the_account(gateway: Gateway) -> None:
    token, phone = await signed_in(gateway), SoftAuthenticator()
    passkey = (await add(gateway, token, phone))["passkey"]
    body = await gateway.run("securite/DeletePasskey", {"id": passkey["id"]}, token=token)
    assert body["data"]["deletePasskey"] == {"deletedId": passkey["id"], "userErrors": []}
    assert await passkeys(gateway, token) == []
    refused = await unlock(gateway, phone)
    assert refused["session"] is None
    assert errors_of(refused) == [("credentialJSON", "PASSKEY_INVALID")]


async def test_guessing_assertions_for_a_passkey_is_rate_limited(gateway: Gateway) -> None:
    token, phone = await signed_in(gateway), SoftAuthenticator()
    await add(gateway, token, phone)
    for _ in range(5):
        refused = await unlock(gateway, phone, origin="https://evil.example")
        assert errors_of(refused) == [("credentialJSON", "PASSKEY_INVALID")]
    ceremony = await login_options(gateway)
    variables = {
        "input": {
            "ceremonyToken": ceremony["token"],
            "credentialJSON": phone.get(ceremony["optionsJSON"]),
        }
    }
    body = await gateway.run("securite/LoginWithPasskey", variables)
    assert codes(body) == ["RATE_LIMITED"]


# ---- renaming and deleting ---------------------------------------------------------------------
async def test_renaming_a_passkey_keeps_it_and_its_id(gateway: Gateway) -> None:
    token = await signed_in(gateway)
    passkey = (await add(gateway, token, SoftAuthenticator()))["passkey"]
    variables = {"input": {"id": passkey["id"], "name": "Téléphone de Geralt"}}
    body = await gateway.run("securite/RenamePasskey", variables, token=token)
    renamed = body["data"]["renamePasskey"]
    assert renamed["userErrors"] == []
    assert renamed["passkey"] == {
        "id": passkey["id"],
        "credentialId": passkey["credentialId"],
        "name": "Téléphone de Geralt",
        "lastUsedAt": None,
    }


async def test_another_customers_passkey_cannot_be_renamed_nor_deleted(gateway: Gateway) -> None:
    geralt = await signed_in(gateway)
    passkey = (await add(gateway, geralt, SoftAuthenticator()))["passkey"]
    chris = await signed_in(gateway, CHRIS)
    rename = {"input": {"id": passkey["id"], "name": "À moi"}}
    body = await gateway.run("securite/RenamePasskey", rename, token=chris)
    assert errors_of(body["data"]["renamePasskey"]) == [("id", "UNKNOWN")]
    body = await gateway.run("securite/DeletePasskey", {"id": passkey["id"]}, token=chris)
    assert body["data"]["deletePasskey"]["deletedId"] is None
    assert errors_of(body["data"]["deletePasskey"]) == [("id", "UNKNOWN")]
    body = await gateway.run("securite/DeletePasskey", {"id": "Q29udHJhY3Q6MQ"}, token=geralt)
    assert errors_of(body["data"]["deletePasskey"]) == [("id", "UNKNOWN")]  # a contract's id
    assert await passkeys(gateway, geralt) == [passkey]
    for route in ("PATCH", "DELETE"):
        assert (
            crm_calls(gateway, f"{route} /crm/api/comptes/{{clientId}}/cles-acces/{{credentialId}}")
            == 0
        )


async def test_a_deletion_whose_crm_answer_is_lost_is_done(gateway: Gateway) -> None:
    token = await signed_in(gateway)
    passkey = (await add(gateway, token, SoftAuthenticator()))["passkey"]
    await faults(
        gateway,
        "crm",
        quirk_rate=1.0,
        routes=["DELETE /crm/api/comptes/{clientId}/cles-acces/{credentialId}"],
    )
    body = await gateway.run("securite/DeletePasskey", {"id": passkey["id"]}, token=token)
    await faults(gateway, "crm")
    assert body["data"]["deletePasskey"] == {"deletedId": passkey["id"], "userErrors": []}
    assert await passkeys(gateway, token) == []


async def test_without_a_session_no_passkey_is_added_listed_renamed_nor_deleted(
    gateway: Gateway,
) -> None:
    for document, variables in (
        ("securite/PasskeyRegistrationOptions", {}),
        ("securite/DeletePasskey", {"id": "x"}),
        ("securite/RenamePasskey", {"input": {"id": "x", "name": "y"}}),
        (PASSKEYS, {}),
    ):
        assert codes(await gateway.run(document, variables)) == ["UNAUTHENTICATED"], document
    assert (await login_options(gateway))["token"]  # the sign-in needs none


async def test_a_staff_token_cannot_add_passkeys(gateway: Gateway) -> None:
    body = await gateway.run("securite/PasskeyRegistrationOptions", as_="S0001", role="staff")
    assert codes(body) == ["FORBIDDEN"]


# ---- alerts ------------------------------------------------------------------------------------
async def test_each_passkey_change_alerts_the_customer_once(gateway: Gateway) -> None:
    token = await signed_in(gateway)
    passkey = (await add(gateway, token, SoftAuthenticator()))["passkey"]
    rename = {"input": {"id": passkey["id"], "name": "Téléphone"}}
    await gateway.run("securite/RenamePasskey", rename, token=token)
    await gateway.run("securite/DeletePasskey", {"id": passkey["id"]}, token=token)
    alerts = security_alerts(gateway, "C0001002")
    assert [a["titre"] for a in alerts] == [
        "Nouvelle clé d'accès",
        "Clé d'accès renommée",
        "Clé d'accès supprimée",
    ]
    assert "iPhone de Geralt" in alerts[0]["message"]
    assert len({a["cleIdempotence"] for a in alerts}) == 3
    assert len(alert_mails(gateway, "C0001002")) == 3


async def test_a_passkey_alert_is_sent_once_when_the_crm_answers_are_lost(
    gateway: Gateway,
) -> None:
    token = await signed_in(gateway)
    await faults(
        gateway,
        "crm",
        timeout_rate=1.0,
        hang_ms=700,
        routes=["POST /crm/api/clients/{clientId}/notifications"],
    )
    added = await add(gateway, token, SoftAuthenticator())
    await faults(gateway, "crm")
    assert added["userErrors"] == []  # the passkey is added whatever became of the alert
    posts = crm_calls(gateway, "POST /crm/api/clients/{clientId}/notifications")
    assert posts >= 2  # every answer lost: the same key was sent again
    assert len(security_alerts(gateway, "C0001002")) == 1
    assert len(alert_mails(gateway, "C0001002")) == 1
    async with admin(gateway.mocks["crm"]) as control:
        outbox = (await control.get("/_admin/outbox")).json()
    assert sum(m["type"] == "NOTIFICATION" for m in outbox["push"]) == 1


# ---- a passkey as a strong proof ----------------------------------------------------------------
SECURITY = (
    "query { viewer { account { security { stepUpMethods strongAuthenticationValidUntil } } } }"
)


async def security(gateway: Gateway, token: str) -> dict[str, Any]:
    body = await gateway.run(SECURITY, token=token)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["viewer"]["account"]["security"]
    return found


async def ask_passkey_step_up(gateway: Gateway, token: str) -> dict[str, Any]:
    variables = {"input": {"idempotencyKey": "step-up-passkey-1", "method": "PASSKEY"}}
    body = await gateway.run("securite/RequestStepUp", variables, token=token)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["requestStepUp"]
    return found


async def prove(gateway: Gateway, token: str, challenge: str, assertion: str) -> dict[str, Any]:
    variables = {"input": {"challengeToken": challenge, "passkeyCredentialJSON": assertion}}
    body = await gateway.run("securite/VerifyStepUp", variables, token=token)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["verifyStepUp"]
    return found


async def test_a_passkey_confirms_a_sensitive_act_with_a_real_assertion(gateway: Gateway) -> None:
    token, phone = await signed_in(gateway), SoftAuthenticator()
    assert "PASSKEY" not in (await security(gateway, token))["stepUpMethods"]
    await add(gateway, token, phone)
    state = await security(gateway, token)
    assert (
        state["stepUpMethods"][0] == "PASSKEY" and state["strongAuthenticationValidUntil"] is None
    )
    asked = await ask_passkey_step_up(gateway, token)
    assert asked["userErrors"] == [] and asked["challenge"]["method"] == "PASSKEY"
    options = asked["challenge"]["passkeyOptionsJSON"]
    allowed = [c["id"] for c in json.loads(options)["allowCredentials"]]
    assert allowed == list(phone.credentials)  # only this account's own passkeys
    proved = await prove(gateway, token, asked["challenge"]["token"], phone.get(options))
    assert proved["userErrors"] == [] and proved["validUntil"]
    assert (await security(gateway, token))["strongAuthenticationValidUntil"] == proved[
        "validUntil"
    ]
    stored = gateway.mocks["crm"].security["C0001002"].passkeys[next(iter(phone.credentials))]  # type: ignore[attr-defined]
    assert stored["signCount"] == 1  # the CRM recorded the assertion's counter


async def test_a_passkey_step_up_from_another_origin_or_replayed_proves_nothing(
    gateway: Gateway,
) -> None:
    token, phone = await signed_in(gateway), SoftAuthenticator()
    await add(gateway, token, phone)
    asked = (await ask_passkey_step_up(gateway, token))["challenge"]
    phished = phone.get(asked["passkeyOptionsJSON"], origin="https://evil.example")
    refused = await prove(gateway, token, asked["token"], phished)
    assert errors_of(refused) == [("passkeyCredentialJSON", "PASSKEY_INVALID")]
    assert refused["validUntil"] is None
    again = await prove(gateway, token, asked["token"], phone.get(asked["passkeyOptionsJSON"]))
    assert errors_of(again) == [("challengeToken", "INVALID_TOKEN")]  # the ceremony is spent
    assert (await security(gateway, token))["strongAuthenticationValidUntil"] is None


async def test_another_customers_passkey_does_not_confirm_an_act(gateway: Gateway) -> None:
    geralt, chris = await signed_in(gateway), await signed_in(gateway, CHRIS)
    geralt_phone, chris_phone = SoftAuthenticator(), SoftAuthenticator()
    await add(gateway, geralt, geralt_phone)
    await add(gateway, chris, chris_phone)
    asked = (await ask_passkey_step_up(gateway, geralt))["challenge"]
    foreign = chris_phone.get(asked["passkeyOptionsJSON"])
    refused = await prove(gateway, geralt, asked["token"], foreign)
    assert errors_of(refused) == [("passkeyCredentialJSON", "PASSKEY_INVALID")]


async def test_a_passkey_sign_in_allows_sensitive_acts_at_once(gateway: Gateway) -> None:
    token, phone = await signed_in(gateway), SoftAuthenticator()
    assert (await security(gateway, token))["strongAuthenticationValidUntil"] is None
    await add(gateway, token, phone)
    signed = await unlock(gateway, phone)
    unlocked = signed["session"]["accessToken"]
    assert (await security(gateway, unlocked))["strongAuthenticationValidUntil"] is not None
    body = await gateway.run(
        "query { viewer { account { sessions { signInMethod signInMethodLabel current } } } }",
        token=unlocked,
    )
    current = [s for s in body["data"]["viewer"]["account"]["sessions"] if s["current"]]
    assert current == [
        {"signInMethod": "PASSKEY", "signInMethodLabel": "Clé d'accès", "current": True}
    ]
