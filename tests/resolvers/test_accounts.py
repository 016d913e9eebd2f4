"""Accounts and sessions in process: each mutation's success, each bad input of issue 9 (a typed
userError, no account or session changed), the CRM down, the anonymous gate."""

from __future__ import annotations

import logging
import time

import pytest

from tests.conftest import admin
from tests.support.accounts import (
    NEW_PASSWORD,
    PASSWORDS,
    account,
    claims,
    crm_calls,
    errors_of,
    login,
    outbox,
    refresh,
    session,
    settings_of,
)
from tests.support.gateway import Gateway, codes
from tests.support.security import step_up

ELODIE = {  # C0001004: a customer without an account
    "customerNumber": "48213380",
    "lastName": "d'arcy lefevre",  # the CRM compares without case, accents, hyphens, spaces
    "firstName": "Elodie",
    "birthDate": "1990-05-17",
}
ELODIE_MAIL = "elodie.darcy@example.fr"
REGISTER = "accounts/RegisterAccount"
AUTH = "POST /crm/api/authentification"


def registration(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "individual": ELODIE,
        "email": ELODIE_MAIL,
        "emailConfirmation": ELODIE_MAIL,
        "termsAccepted": True,
    }
    return {"input": {**base, **changes}}


async def register(gateway: Gateway, **changes: object) -> dict[str, object]:
    body = await gateway.run(REGISTER, registration(**changes))
    assert "errors" not in body, body
    payload: dict[str, object] = body["data"]["registerAccount"]
    return payload


async def activate(gateway: Gateway, token: str, password: str, again: str | None = None) -> dict:  # type: ignore[type-arg]
    body = await gateway.run(
        "accounts/ActivateAccount",
        {
            "input": {
                "token": token,
                "password": password,
                "passwordConfirmation": again or password,
            }
        },
    )
    assert "errors" not in body, body
    payload: dict = body["data"]["activateAccount"]  # type: ignore[type-arg]
    return payload


async def crm_faults(gateway: Gateway, **settings: object) -> None:
    async with admin(gateway.mocks["crm"]) as control:
        assert (await control.put("/_admin/faults", json=settings)).status_code == 200


async def crm_clock(gateway: Gateway, offset_s: float) -> None:
    async with admin(gateway.mocks["crm"]) as control:
        assert (await control.put("/_admin/clock", json={"offset_s": offset_s})).status_code == 200


# ---- registration ------------------------------------------------------------------------------
async def test_an_individual_registers_activates_and_signs_in(gateway: Gateway) -> None:
    assert await register(gateway) == {"accepted": True, "userErrors": []}
    assert account(gateway, "C0001004")["statut"] == "EN_ATTENTE_ACTIVATION"
    (token,) = outbox(gateway, "ACTIVATION", ELODIE_MAIL)
    assert await activate(gateway, token, NEW_PASSWORD) == {"accepted": True, "userErrors": []}
    opened = await session(gateway, ELODIE_MAIL, NEW_PASSWORD)
    body = await settings_of(gateway, opened["accessToken"])
    assert body["data"]["viewer"]["account"] == {
        "login": ELODIE_MAIL,
        "status": "ACTIVE",
        "statusLabel": "Actif",
        "linkedAccounts": [],
    }


async def test_a_company_registers_with_its_siret(gateway: Gateway) -> None:
    account(gateway, "C0009002").update(statut="AUCUN", identifiant=None, motDePasse=None)
    company = {
        "customerNumber": "90000002",
        "siteNumber": "0001",
        "siret": "412 508 731 00012",  # typed with spaces: compacted before the check
        "confidentialCode": "tlf4k8p2",
    }
    mail = "rh@transports-lefevre.example.fr"
    payload = await register(
        gateway, individual=None, company=company, email=mail, emailConfirmation=mail
    )
    assert payload == {"accepted": True, "userErrors": []}
    assert len(outbox(gateway, "ACTIVATION", mail)) == 1


async def test_registration_bad_inputs_are_typed_and_change_nothing(gateway: Gateway) -> None:
    bad_siret = {
        "customerNumber": "90000002",
        "siteNumber": "0001",
        "siret": "41250873100013",
        "confidentialCode": "TLF4K8P2",
    }
    cases = [
        (
            {"individual": {**ELODIE, "birthDate": "1990-05-18"}},
            [(None, "IDENTITY_NOT_RECOGNISED")],
        ),
        ({"emailConfirmation": "elodie.d@example.fr"}, [("emailConfirmation", "MISMATCH")]),
        ({"termsAccepted": False}, [("termsAccepted", "TERMS_NOT_ACCEPTED")]),
        ({"individual": None, "company": bad_siret}, [("company.siret", "INVALID")]),
        ({"individual": None}, [(None, "REQUIRED")]),
        (
            {"email": "pas-une-adresse", "emailConfirmation": "pas-une-adresse"},
            [("email", "INVALID")],
        ),
        (
            {"individual": {**ELODIE, "customerNumber": "4821338"}},
            [("individual.customerNumber", "INVALID")],
        ),
    ]
    for changes, expected in cases:
        payload = await register(gateway, **changes)
        assert (payload["accepted"], errors_of(payload)) == (False, expected), changes  # type: ignore[arg-type]
    assert account(gateway, "C0001004")["statut"] == "AUCUN"
    assert gateway.mocks["crm"].outbox == []  # type: ignore[attr-defined]
    assert crm_calls(gateway, "POST /crm/api/comptes") == 1  # only the well-formed wrong identity


async def test_the_unrecognised_identity_never_names_a_field(gateway: Gateway) -> None:
    payload = await register(gateway, individual={**ELODIE, "firstName": "Eloise"})
    (error,) = payload["userErrors"]  # type: ignore[misc]
    assert error["field"] is None and error["code"] == "IDENTITY_NOT_RECOGNISED"
    assert "prénom" not in error["message"].lower()


async def test_an_existing_account_is_said_so_and_asking_again_voids_the_old_link(
    gateway: Gateway,
) -> None:
    paul = {
        "customerNumber": "48213379",
        "lastName": "BERTRAND",
        "firstName": "Paul",
        "birthDate": "1968-02-11",
    }
    mail = "paul.bertrand@example.fr"
    payload = await register(gateway, individual=paul, email=mail, emailConfirmation=mail)
    assert errors_of(payload) == [(None, "ALREADY_REGISTERED")]  # type: ignore[arg-type]
    assert await register(gateway) == {"accepted": True, "userErrors": []}
    assert await register(gateway) == {"accepted": True, "userErrors": []}
    first, second = outbox(gateway, "ACTIVATION", ELODIE_MAIL)
    assert errors_of(await activate(gateway, first, NEW_PASSWORD)) == [("token", "INVALID_TOKEN")]
    assert account(gateway, "C0001004")["statut"] == "EN_ATTENTE_ACTIVATION"
    assert (await activate(gateway, second, NEW_PASSWORD))["accepted"] is True


# ---- activation ------------------------------------------------------------------------------
async def test_each_broken_password_rule_is_one_french_user_error(gateway: Gateway) -> None:
    await register(gateway)
    (token,) = outbox(gateway, "ACTIVATION", ELODIE_MAIL)
    payload = await activate(gateway, token, "court")
    assert (
        errors_of(payload) == [("password", "WEAK_PASSWORD")] * 4
    )  # length, upper, digit, special
    messages = [e["message"] for e in payload["userErrors"]]
    assert any("12" in m for m in messages) and any("majuscule" in m for m in messages)
    assert errors_of(await activate(gateway, token, "sansmajuscule-12")) == [
        ("password", "WEAK_PASSWORD")
    ]
    assert errors_of(await activate(gateway, token, NEW_PASSWORD, "Autre-Mot2Passe!")) == [
        ("passwordConfirmation", "MISMATCH")
    ]
    assert crm_calls(gateway, "POST /crm/api/comptes/activation") == 0
    assert account(gateway, "C0001004")["statut"] == "EN_ATTENTE_ACTIVATION"
    assert (await activate(gateway, token, NEW_PASSWORD))["accepted"] is True  # still usable


async def test_an_expired_or_used_activation_token_is_refused(gateway: Gateway) -> None:
    await register(gateway)
    (token,) = outbox(gateway, "ACTIVATION", ELODIE_MAIL)
    await crm_clock(gateway, 24 * 3600 + 1)
    assert errors_of(await activate(gateway, token, NEW_PASSWORD)) == [("token", "INVALID_TOKEN")]
    assert account(gateway, "C0001004")["statut"] == "EN_ATTENTE_ACTIVATION"
    await crm_clock(gateway, 0)
    assert (await activate(gateway, token, NEW_PASSWORD))["accepted"] is True
    assert errors_of(await activate(gateway, token, "Encore-Un2Autre!")) == [
        ("token", "INVALID_TOKEN")
    ]
    assert account(gateway, "C0001004")["motDePasse"] == NEW_PASSWORD


# ---- signing in --------------------------------------------------------------------------------
async def test_login_opens_a_session_of_fifteen_minutes(gateway: Gateway) -> None:
    opened = await session(gateway, "chris.martin@example.fr")
    found = claims(opened["accessToken"])
    assert (found["sub"], found["role"], found["aud"]) == ("C0001001", "customer", "espace-client")
    assert found["exp"] - found["iat"] == 900 and found["sid"]
    assert abs(found["exp"] - time.time()) < 905
    assert len(opened["refreshToken"]) >= 40 and opened["refreshToken"] not in str(found)
    home = await gateway.run("HomePage", token=opened["accessToken"])
    assert "errors" not in home and home["data"]["viewer"]["displayName"] == "Chris MARTIN"


async def test_every_login_failure_gets_one_and_the_same_answer(gateway: Gateway) -> None:
    answers = [
        await login(gateway, "chris.martin@example.fr", "Mauvais-Mot2Passe!"),
        await login(gateway, "inconnu@example.fr", "Mauvais-Mot2Passe!"),
        await login(gateway, "lucas.moreau@example.fr", "Mauvais-Mot2Passe!"),  # pending
        await login(gateway, "chris.martin@example.fr", ""),
    ]
    assert all(a == answers[0] for a in answers)
    assert answers[0]["session"] is None
    assert errors_of(answers[0]) == [(None, "INVALID_CREDENTIALS")]


async def test_five_wrong_passwords_from_a_known_device_lock_then_the_right_one_is_still_locked(
    gateway: Gateway,
) -> None:
    chris, phone = "chris.martin@example.fr", "telephone-de-chris"
    await session(gateway, chris, device=phone)  # the device is known on the account from now on
    outcomes = [
        errors_of(await login(gateway, chris, f"Faux-Mot2Passe{n}!", phone)) for n in range(5)
    ]
    assert outcomes == [[(None, "INVALID_CREDENTIALS")]] * 4 + [[(None, "LOCKED")]]
    calls = crm_calls(gateway, AUTH)
    right = await login(gateway, chris, device=phone)
    assert right["session"] is None and errors_of(right) == [(None, "LOCKED")]
    assert "Mot de passe oublié" in right["userErrors"][0]["message"]  # the way out
    assert crm_calls(gateway, AUTH) == calls  # the lock is remembered: the CRM was not asked
    assert account(gateway, "C0001001")["statut"] == "VERROUILLE"
    await gateway.run("accounts/RequestPasswordReset", {"email": chris})
    await settled()
    (token,) = outbox(gateway, "REINITIALISATION", chris)
    new = {"token": token, "password": NEW_PASSWORD, "passwordConfirmation": NEW_PASSWORD}
    await gateway.run("accounts/ResetPassword", {"input": new})
    assert (await login(gateway, chris, NEW_PASSWORD))["session"] is not None  # at once


async def test_a_locked_account_is_unlocked_by_a_password_reset(gateway: Gateway) -> None:
    locked = "mfg.delatour@example.fr"
    assert errors_of(await login(gateway, locked)) == [(None, "LOCKED")]
    body = await gateway.run("accounts/RequestPasswordReset", {"email": locked})
    assert body["data"]["requestPasswordReset"] == {"accepted": True}
    await settled()
    (token,) = outbox(gateway, "REINITIALISATION", locked)
    body = await gateway.run(
        "accounts/ResetPassword",
        {"input": {"token": token, "password": NEW_PASSWORD, "passwordConfirmation": NEW_PASSWORD}},
    )
    assert body["data"]["resetPassword"] == {"accepted": True, "userErrors": []}
    assert (await login(gateway, locked, NEW_PASSWORD))["session"] is not None


async def settled() -> None:
    from gateway.resolvers.accounts import reset_requests_settled

    await reset_requests_settled()


# ---- staying signed in --------------------------------------------------------------------------
async def test_a_refresh_token_works_once_and_is_replaced(gateway: Gateway) -> None:
    first = await session(gateway, "geralt.riviere@example.fr")
    second = (await refresh(gateway, first["refreshToken"]))["session"]
    assert second["refreshToken"] != first["refreshToken"]
    assert claims(second["accessToken"])["sid"] == claims(first["accessToken"])["sid"]
    third = (await refresh(gateway, second["refreshToken"]))["session"]
    assert "errors" not in await settings_of(gateway, third["accessToken"])


async def past_the_grace_window(gateway: Gateway, refresh_token: str) -> None:
    """As if the refresh of `refresh_token` had happened a minute ago."""
    from gateway.identity.sessions import digest

    store = gateway.app.state.services.store
    await store.put(f"used:{digest(refresh_token)}", {"at": time.time() - 60}, 3600)
    await store.delete(f"successor:{digest(refresh_token)}")


async def test_a_reused_refresh_token_ends_the_whole_session(gateway: Gateway) -> None:
    first = await session(gateway, "geralt.riviere@example.fr")
    second = (await refresh(gateway, first["refreshToken"]))["session"]
    await past_the_grace_window(gateway, first["refreshToken"])
    reused = await refresh(gateway, first["refreshToken"])
    assert reused["session"] is None and errors_of(reused) == [("refreshToken", "SESSION_ENDED")]
    assert errors_of(await refresh(gateway, second["refreshToken"])) == [
        ("refreshToken", "SESSION_ENDED")
    ]
    for token in (first["accessToken"], second["accessToken"]):
        assert codes(await settings_of(gateway, token)) == ["UNAUTHENTICATED"]
    other = await session(gateway, "geralt.riviere@example.fr")  # a new login is not affected
    assert "errors" not in await settings_of(gateway, other["accessToken"])


async def test_two_tabs_refreshing_the_same_token_at_once_keep_the_session(
    gateway: Gateway,
) -> None:
    import asyncio

    first = await session(gateway, "geralt.riviere@example.fr")
    tabs = await asyncio.gather(*(refresh(gateway, first["refreshToken"]) for _ in range(2)))
    one, other = (tab["session"] for tab in tabs)
    assert one is not None and other is not None and tabs[0]["userErrors"] == []
    assert one["refreshToken"] == other["refreshToken"] != first["refreshToken"]
    later = await refresh(gateway, first["refreshToken"])  # a moment later: the same successor
    assert later["session"]["refreshToken"] == one["refreshToken"]
    assert "errors" not in await settings_of(gateway, one["accessToken"])
    third = (await refresh(gateway, one["refreshToken"]))["session"]
    assert third is not None and "errors" not in await settings_of(gateway, third["accessToken"])
    assert one["refreshToken"] not in str(gateway.app.state.services.store.records)


async def test_logout_ends_the_session_at_once(gateway: Gateway) -> None:
    opened = await session(gateway, "geralt.riviere@example.fr")
    assert "errors" not in await settings_of(gateway, opened["accessToken"])  # checked, cached
    body = await gateway.run("accounts/Logout", {"refreshToken": opened["refreshToken"]})
    assert body == {"data": {"logout": {"accepted": True}}}
    assert errors_of(await refresh(gateway, opened["refreshToken"])) == [
        ("refreshToken", "SESSION_ENDED")
    ]
    assert codes(await settings_of(gateway, opened["accessToken"])) == ["UNAUTHENTICATED"]
    unknown = await gateway.run("accounts/Logout", {"refreshToken": "nimporte-quoi"})
    assert unknown == {"data": {"logout": {"accepted": True}}}  # the same answer


async def test_a_revoked_session_is_refused_by_another_process_within_the_check_delay(
    gateway: Gateway,
) -> None:
    sessions = gateway.app.state.services.sessions
    opened = await session(gateway, "geralt.riviere@example.fr")
    sid = claims(opened["accessToken"])["sid"]
    assert "errors" not in await settings_of(gateway, opened["accessToken"])
    await gateway.app.state.services.store.delete(f"session:{sid}")  # as another process would
    assert "errors" not in await settings_of(gateway, opened["accessToken"])  # trusted briefly
    sessions._seen.forget(sid)  # the check delay has run out
    assert codes(await settings_of(gateway, opened["accessToken"])) == ["UNAUTHENTICATED"]


# ---- recovering --------------------------------------------------------------------------------
async def test_a_reset_request_answers_the_same_whether_or_not_the_account_exists(
    gateway: Gateway,
) -> None:
    timings, answers = [], []
    for email in ("chris.martin@example.fr", "personne@example.fr") * 3:
        started = time.perf_counter()
        answers.append(await gateway.run("accounts/RequestPasswordReset", {"email": email}))
        timings.append(time.perf_counter() - started)
    assert all(a == {"data": {"requestPasswordReset": {"accepted": True}}} for a in answers)
    await settled()
    assert len(outbox(gateway, "REINITIALISATION", "chris.martin@example.fr")) == 3
    assert outbox(gateway, "REINITIALISATION", "personne@example.fr") == []
    known, unknown = sorted(timings[0::2])[1], sorted(timings[1::2])[1]
    assert abs(known - unknown) < 0.05  # the CRM is asked after the answer


async def test_reset_ends_every_session_and_bad_tokens_change_nothing(gateway: Gateway) -> None:
    chris = "chris.martin@example.fr"
    web, app = await session(gateway, chris), await session(gateway, chris)
    for _ in range(2):
        await gateway.run("accounts/RequestPasswordReset", {"email": chris})
        await settled()
    superseded, token = outbox(gateway, "REINITIALISATION", chris)

    async def reset(value: str, password: str = NEW_PASSWORD) -> list[tuple[str | None, str]]:
        body = await gateway.run(
            "accounts/ResetPassword",
            {"input": {"token": value, "password": password, "passwordConfirmation": password}},
        )
        return errors_of(body["data"]["resetPassword"])

    assert await reset(superseded) == [("token", "INVALID_TOKEN")]
    assert await reset(token, "faible") == [("password", "WEAK_PASSWORD")] * 4
    await crm_clock(gateway, 30 * 60 + 1)
    assert await reset(token) == [("token", "INVALID_TOKEN")]  # expired
    assert account(gateway, "C0001001")["motDePasse"] == PASSWORDS[chris]
    assert "errors" not in await settings_of(gateway, web["accessToken"])  # nothing ended yet
    await crm_clock(gateway, 0)
    assert await reset(token) == []
    assert await reset(token, "Encore-Un2Autre!") == [("token", "INVALID_TOKEN")]  # used
    for opened in (web, app):
        assert codes(await settings_of(gateway, opened["accessToken"])) == ["UNAUTHENTICATED"]
        assert errors_of(await refresh(gateway, opened["refreshToken"])) == [
            ("refreshToken", "SESSION_ENDED")
        ]
    assert (await login(gateway, chris, NEW_PASSWORD))["session"] is not None


# ---- securing ----------------------------------------------------------------------------------
async def change(
    gateway: Gateway, token: str, current: str, new: str, again: str | None = None
) -> dict:  # type: ignore[type-arg]
    body = await gateway.run(
        "accounts/ChangePassword",
        {
            "input": {
                "currentPassword": current,
                "newPassword": new,
                "newPasswordConfirmation": again or new,
            }
        },
        token=token,
    )
    return body


async def test_changing_the_password_ends_every_other_session(gateway: Gateway) -> None:
    paul = "paul.bertrand@example.fr"
    here, elsewhere = await session(gateway, paul), await session(gateway, paul)
    await step_up(gateway, here["accessToken"], "C0001003")
    body = await change(gateway, here["accessToken"], PASSWORDS[paul], NEW_PASSWORD)
    assert body["data"]["changePassword"] == {"accepted": True, "userErrors": []}
    assert "errors" not in await settings_of(gateway, here["accessToken"])
    assert (await refresh(gateway, here["refreshToken"]))["session"] is not None
    assert codes(await settings_of(gateway, elsewhere["accessToken"])) == ["UNAUTHENTICATED"]
    assert (await refresh(gateway, elsewhere["refreshToken"]))["session"] is None
    assert (await login(gateway, paul, NEW_PASSWORD))["session"] is not None


async def test_change_password_bad_inputs(gateway: Gateway) -> None:
    paul = "paul.bertrand@example.fr"
    here, elsewhere = await session(gateway, paul), await session(gateway, paul)
    token, current = here["accessToken"], PASSWORDS[paul]
    await step_up(gateway, token, "C0001003")
    cases = [
        (("Mauvais-Mot2Passe!", NEW_PASSWORD), [("currentPassword", "INVALID_CREDENTIALS")]),
        ((current, "faible"), [("newPassword", "WEAK_PASSWORD")] * 4),
        ((current, NEW_PASSWORD, "Autre-Mot2Passe!"), [("newPasswordConfirmation", "MISMATCH")]),
        ((current, current), [("newPassword", "INVALID")]),
    ]
    for args, expected in cases:
        payload = (await change(gateway, token, *args))["data"]["changePassword"]
        assert (payload["accepted"], errors_of(payload)) == (False, expected), args
    assert account(gateway, "C0001003")["motDePasse"] == current
    assert "errors" not in await settings_of(gateway, elsewhere["accessToken"])


async def test_change_password_of_a_locked_account_says_locked(gateway: Gateway) -> None:
    token = gateway.token("C0001005")  # a token from before the lock
    payload = (await change(gateway, token, "Chateau-Tour-1949!", NEW_PASSWORD))["data"]
    assert errors_of(payload["changePassword"]) == [(None, "LOCKED")]


async def test_staff_and_anonymous_callers_cannot_change_a_password(gateway: Gateway) -> None:
    staff = await change(gateway, gateway.token("S0001", "staff"), "x", NEW_PASSWORD)
    assert codes(staff) == ["FORBIDDEN"]
    body = await gateway.run(
        "accounts/ChangePassword",
        {"input": {"currentPassword": "x", "newPassword": "y", "newPasswordConfirmation": "y"}},
    )
    assert codes(body) == ["UNAUTHENTICATED"]
    assert crm_calls(gateway, "PUT /crm/api/comptes/{clientId}/mot-de-passe") == 0


async def test_a_password_change_without_a_recent_proof_reaches_no_back_end(
    gateway: Gateway,
) -> None:
    paul = "paul.bertrand@example.fr"
    here = await session(gateway, paul)
    payload = (await change(gateway, here["accessToken"], PASSWORDS[paul], NEW_PASSWORD))["data"]
    assert errors_of(payload["changePassword"]) == [(None, "STEP_UP_REQUIRED")]
    assert crm_calls(gateway, "PUT /crm/api/comptes/{clientId}/mot-de-passe") == 0
    assert account(gateway, "C0001003")["motDePasse"] == PASSWORDS[paul]


# ---- the anonymous gate ----------------------------------------------------------------------
async def test_without_a_token_only_the_account_fields_are_reachable(gateway: Gateway) -> None:
    from gateway.engine.extensions.anonymous_gate import ANONYMOUS_FIELDS

    prefs = (
        "updatePreferences(input: {paperless: true, consents: {groupOffers: false,"
        " targetedCommunication: false, satisfactionSurveys: false}}) { userErrors { code } }"
    )
    refused = [
        "{ viewer { id } }",
        'mutation { linkAccount(input: {login: "a", password: "b"}) { userErrors { code } } }',
        f"mutation {{ {prefs} }}",
        f'mutation {{ logout(refreshToken: "x") {{ accepted }} {prefs} }}',
        "query { ...login } fragment login on Query { viewer { id } }",
    ]
    for document in refused:
        assert codes(await gateway.run(document)) == ["UNAUTHENTICATED"], document
    assert {
        "registerAccount",
        "activateAccount",
        "login",
        "refreshSession",
        "logout",
        "requestPasswordReset",
        "resetPassword",
        "verifySecondFactor",
        "sendOneTimeCode",
        "generatePasskeyLoginOptions",
        "loginWithPasskey",
        "__typename",
    } == ANONYMOUS_FIELDS
    from gateway.engine.schema import schema
    from gateway.schema.permissions import Anyone

    mutation = schema.get_type_by_name("Mutation")
    anyone = {
        f.graphql_name or f.name
        for f in mutation.fields  # type: ignore[union-attr]
        if any(isinstance(p, Anyone) or p is Anyone for p in f.permission_classes)
    }
    camel = {schema.config.name_converter.apply_naming_config(n) for n in anyone}
    assert (
        camel | {"__typename"} == ANONYMOUS_FIELDS
    )  # the gate's list is exactly the fields open to anyone


# ---- the CRM down -------------------------------------------------------------------------------
async def test_with_the_crm_down_account_requests_are_typed_errors_and_nothing_opens(
    gateway: Gateway,
) -> None:
    paul = await session(gateway, "paul.bertrand@example.fr")
    await crm_faults(
        gateway, error_rate=1.0, routes=["/crm/api/comptes", "/crm/api/authentification"]
    )
    assert codes(await gateway.run(REGISTER, registration())) == ["BACKEND_UNAVAILABLE"]
    assert codes(
        await gateway.run(
            "accounts/Login", {"input": {"login": "chris.martin@example.fr", "password": "x"}}
        )
    ) == ["BACKEND_UNAVAILABLE"]
    body = await gateway.run(
        "accounts/ActivateAccount",
        {
            "input": {
                "token": "PendingActivationLucasMoreau2026xyz",
                "password": NEW_PASSWORD,
                "passwordConfirmation": NEW_PASSWORD,
            }
        },
    )
    assert codes(body) == ["BACKEND_UNAVAILABLE"]
    reset = {"token": "Z" * 43, "password": NEW_PASSWORD, "passwordConfirmation": NEW_PASSWORD}
    body = await gateway.run("accounts/ResetPassword", {"input": reset})
    assert codes(body) == ["BACKEND_UNAVAILABLE"]
    changed = await change(
        gateway, paul["accessToken"], PASSWORDS["paul.bertrand@example.fr"], NEW_PASSWORD
    )
    assert codes(changed) == ["BACKEND_UNAVAILABLE"]
    linked = await gateway.run(
        "accounts/LinkAccount",
        {"input": {"login": "chris.martin@example.fr", "password": "Lilas-Lyon-2023!"}},
        token=paul["accessToken"],
    )
    assert codes(linked) == ["BACKEND_UNAVAILABLE"]
    reset = await gateway.run("accounts/RequestPasswordReset", {"email": "chris.martin@example.fr"})
    assert reset == {"data": {"requestPasswordReset": {"accepted": True}}}  # the same answer
    await settled()
    assert account(gateway, "C0001008")["statut"] == "EN_ATTENTE_ACTIVATION"
    assert gateway.mocks["crm"].outbox == []  # type: ignore[attr-defined]
    assert "errors" not in await gateway.run("{ viewer { id } }", token=paul["accessToken"])


# ---- brute force ------------------------------------------------------------------------------
async def test_login_attempts_are_limited_per_identifier_before_the_crm(gateway: Gateway) -> None:
    chris, phone = "chris.martin@example.fr", "telephone-de-chris"
    await session(gateway, chris, device=phone)
    for n in range(4):
        await login(gateway, chris, f"Faux-Mot2Passe{n}!", phone)
    assert (await login(gateway, chris, device=phone))["session"] is not None  # clears the count
    for n in range(5):
        await login(gateway, chris, f"Faux-Mot2Passe{n}!", phone)  # the 5th locks
    again = await login(gateway, chris, "Faux-Mot2Passe!", phone)  # the lock is remembered
    assert errors_of(again) == [(None, "LOCKED")]
    nobody = "personne@example.fr"  # no account: the same answers as a stranger's on an account
    outcomes = [errors_of(await login(gateway, nobody, "x")) for _ in range(5)]
    assert outcomes == [[(None, "INVALID_CREDENTIALS")]] * 2 + [[(None, "LOCKED")]] * 3
    assert crm_calls(gateway, AUTH) == 1 + 4 + 1 + 5 + 0 + 2


async def test_login_attempts_are_limited_per_ip(gateway: Gateway) -> None:
    for n in range(25):
        body = await gateway.run(
            "accounts/Login", {"input": {"login": f"inconnu{n}@example.fr", "password": "x"}}
        )
        assert ("errors" in body) == (n >= 20)
    assert codes(body) == ["RATE_LIMITED"]
    assert crm_calls(gateway, AUTH) == 20


async def test_registrations_and_reset_requests_are_limited_per_email(gateway: Gateway) -> None:
    for n in range(6):
        body = await gateway.run(REGISTER, registration())
        assert ("errors" in body) == (n >= 5)
    assert codes(body) == ["RATE_LIMITED"]
    for n in range(4):  # one requester (here: its IP) for one login
        body = await gateway.run(
            "accounts/RequestPasswordReset", {"email": "Chris.Martin@example.fr"}
        )
        assert ("errors" in body) == (n >= 3)
    assert codes(body) == ["RATE_LIMITED"]
    await settled()
    assert len(outbox(gateway, "REINITIALISATION", "chris.martin@example.fr")) == 3


# ---- nothing secret in the logs ------------------------------------------------------------------
async def test_no_password_token_or_reset_link_reaches_a_log(
    gateway: Gateway, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    chris = "chris.martin@example.fr"
    opened = await session(gateway, chris)
    secrets = [PASSWORDS[chris], opened["accessToken"], opened["refreshToken"], "Faux-Mot2Passe!"]
    await login(gateway, chris, "Faux-Mot2Passe!")
    await gateway.run("accounts/RequestPasswordReset", {"email": chris})
    await settled()
    secrets += outbox(gateway, "REINITIALISATION", chris)
    await refresh(gateway, opened["refreshToken"])
    await refresh(gateway, opened["refreshToken"])  # reuse: the session ends
    await crm_faults(gateway, error_rate=1.0)  # failures are logged: still nothing secret
    await gateway.run("accounts/RequestPasswordReset", {"email": chris})
    await settled()
    await gateway.run("accounts/Login", {"input": {"login": chris, "password": PASSWORDS[chris]}})
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "password_reset_request_failed" in logged  # the log is there…
    assert [s for s in secrets if s in logged] == []  # …without any secret
    assert chris not in logged


async def test_a_session_is_not_trusted_when_the_store_cannot_be_reached(gateway: Gateway) -> None:
    from gateway.identity.sessions import Sessions
    from gateway.platform.store import RedisStore, StoreUnavailable

    services = gateway.app.state.services
    down = Sessions(
        RedisStore("redis://127.0.0.1:1/0", 0.2), services.sessions.key, gateway.settings
    )
    with pytest.raises(StoreUnavailable):
        await down.check("some-session", "C0001001")
    with pytest.raises(StoreUnavailable):
        await down.open("C0001001")
    await down.store.close()
