"""Two-factor sign-in and step-up, in process against the mock CRM: activation, the sign-in's
challenge, the lock after 5 wrong codes, one-time codes, and the sensitive acts that need a
recent strong proof. Codes are read from the mock's outbox, TOTP codes computed on its clock."""

from __future__ import annotations

import uuid
from typing import Any

from gateway.identity.tokens import TokenVerifier
from tests.conftest import admin
from tests.support.accounts import NEW_PASSWORD, PASSWORDS
from tests.support.demarches import GERALT, HEALTH, demandes_count, posts, uploaded
from tests.support.gateway import PERSONAS, Gateway
from tests.support.security import codes_sent, step_up, stepped_up, totp_now

CHRIS, CHRIS_LOGIN = PERSONAS["chris"], "chris.martin@example.fr"
BRICO, BRICO_LOGIN = PERSONAS["brico"], "contact@sarl-brico.example.fr"
VERIFY = "POST /crm/api/comptes/{clientId}/securite/verification"
SECURITY = """query { viewer { account { security {
  secondFactor { method methodLabel enabledSince recoveryCodesLeft }
  pendingEnrolment { method expiresAt } stepUpMethods strongAuthenticationValidUntil } } } }"""


def key() -> str:
    return uuid.uuid4().hex


def errors(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


async def mutate(gateway: Gateway, name: str, variables: dict[str, Any], token: str) -> Any:
    body = await gateway.run(f"securite/{name}", variables, token=token)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


async def security(gateway: Gateway, token: str) -> dict[str, Any]:
    body = await gateway.run(SECURITY, token=token)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["viewer"]["account"]["security"]
    return found


async def password_login(gateway: Gateway, login: str, password: str | None = None) -> Any:
    body = await gateway.run(
        "securite/LoginWithPassword",
        {"input": {"login": login, "password": password or PASSWORDS[login]}},
    )
    assert "errors" not in body, body
    return body["data"]["login"]


async def with_totp(gateway: Gateway, client_id: str = CHRIS) -> tuple[str, list[str]]:
    """TOTP switched on for `client_id`: (the secret, the 10 recovery codes)."""
    token = gateway.token(client_id)
    started = await mutate(gateway, "EnrolSecondFactor", {"input": {"method": "TOTP"}}, token)
    enrolment = started["enrolment"]
    assert enrolment["otpauthUri"].startswith("otpauth://totp/") and enrolment["totpSecret"]
    confirmed = await mutate(
        gateway,
        "ConfirmSecondFactor",
        {"input": {"code": totp_now(gateway, enrolment["totpSecret"])}},
        token,
    )
    assert errors(confirmed) == [] and len(confirmed["recoveryCodes"]) == 10
    return enrolment["totpSecret"], confirmed["recoveryCodes"]


async def verify(gateway: Gateway, challenge: str, code: str) -> Any:
    body = await gateway.run(
        "securite/LoginWithSecondFactor", {"input": {"challengeToken": challenge, "code": code}}
    )
    assert "errors" not in body, body
    return body["data"]["verifySecondFactor"]


# ---- activation and sign-in ---------------------------------------------------------------------
async def test_with_totp_on_a_password_alone_opens_no_session(gateway: Gateway) -> None:
    secret, _ = await with_totp(gateway)
    first = await password_login(gateway, CHRIS_LOGIN)
    assert first["session"] is None and errors(first) == ["SECOND_FACTOR_REQUIRED"]
    challenge = first["secondFactorChallenge"]
    assert (challenge["method"], challenge["methodLabel"], challenge["sentTo"]) == (
        "TOTP",
        "Application d'authentification",
        None,
    )
    old = await gateway.run(
        "accounts/Login", {"input": {"login": CHRIS_LOGIN, "password": PASSWORDS[CHRIS_LOGIN]}}
    )
    assert old["data"]["login"]["session"] is None
    assert errors(old["data"]["login"]) == ["SECOND_FACTOR_REQUIRED"]
    # the code of the next step: the one of the activation was spent (replay)
    signed_in = await verify(gateway, challenge["token"], totp_now(gateway, secret, 1))
    assert errors(signed_in) == [] and signed_in["session"]["accessToken"]
    state = await security(gateway, signed_in["session"]["accessToken"])
    assert state["secondFactor"]["method"] == "TOTP"
    assert state["secondFactor"]["recoveryCodesLeft"] == 10
    assert state["stepUpMethods"] == ["TOTP", "RECOVERY_CODE"]
    assert state["strongAuthenticationValidUntil"] is not None  # the sign-in was strong
    again = await verify(gateway, challenge["token"], totp_now(gateway, secret, -1))
    assert errors(again) == ["INVALID_TOKEN"] and again["session"] is None  # single use


async def test_a_recovery_code_signs_in_once(gateway: Gateway) -> None:
    _, recovery = await with_totp(gateway)
    challenge = (await password_login(gateway, CHRIS_LOGIN))["secondFactorChallenge"]["token"]
    assert (await verify(gateway, challenge, recovery[0].lower()))["session"] is not None
    challenge = (await password_login(gateway, CHRIS_LOGIN))["secondFactorChallenge"]["token"]
    assert errors(await verify(gateway, challenge, recovery[0])) == ["INVALID_CODE"]


async def test_five_wrong_codes_lock_and_a_reset_unlocks(gateway: Gateway) -> None:
    secret, _ = await with_totp(gateway)
    challenge = (await password_login(gateway, CHRIS_LOGIN))["secondFactorChallenge"]["token"]
    answers = [errors(await verify(gateway, challenge, "000000")) for _ in range(5)]
    assert answers == [["INVALID_CODE"]] * 4 + [["LOCKED"]]
    checks = gateway.mocks["crm"].log.counts[VERIFY]
    right = await verify(gateway, challenge, totp_now(gateway, secret))
    assert errors(right) == ["LOCKED"] and right["session"] is None
    assert gateway.mocks["crm"].log.counts[VERIFY] == checks  # refused before the CRM is asked
    assert errors(await password_login(gateway, CHRIS_LOGIN)) == ["LOCKED"]
    await gateway.run("accounts/RequestPasswordReset", {"email": CHRIS_LOGIN})
    from gateway.resolvers.accounts import reset_requests_settled

    await reset_requests_settled()
    mails = gateway.mocks["crm"].outbox  # type: ignore[attr-defined]
    token = [m["jeton"] for m in mails if m["type"] == "REINITIALISATION"][-1]
    reset = {"token": token, "password": NEW_PASSWORD, "passwordConfirmation": NEW_PASSWORD}
    assert (await gateway.run("accounts/ResetPassword", {"input": reset}))["data"]["resetPassword"][
        "accepted"
    ]
    after = await password_login(gateway, CHRIS_LOGIN, NEW_PASSWORD)
    assert errors(after) == ["SECOND_FACTOR_REQUIRED"]  # unlocked, 2FA kept
    signed_in = await verify(
        gateway, after["secondFactorChallenge"]["token"], totp_now(gateway, secret, 1)
    )
    assert signed_in["session"] is not None


async def test_codes_by_email_sign_in_and_their_rate_is_spent_before_the_crm(
    gateway: Gateway,
) -> None:
    token = gateway.token(BRICO)
    started = await mutate(gateway, "EnrolSecondFactor", {"input": {"method": "EMAIL"}}, token)
    assert started["enrolment"]["sentTo"] == "c***@sarl-brico.example.fr"
    code = codes_sent(gateway, BRICO, "ENROLEMENT")[-1]
    confirmed = await mutate(gateway, "ConfirmSecondFactor", {"input": {"code": code}}, token)
    assert confirmed["secondFactor"]["method"] == "EMAIL"
    async with admin(gateway.mocks["crm"]) as control:  # the CRM's rate: one code a minute
        await control.put("/_admin/clock", json={"offset_s": 61})
    # the gateway counts with its own clock: its minute since the enrolment's code has not passed
    login = await password_login(gateway, BRICO_LOGIN)
    challenge = login["secondFactorChallenge"]
    assert challenge["method"] == "EMAIL" and challenge["sentTo"] is None
    assert codes_sent(gateway, BRICO, "CONNEXION") == []
    sends = gateway.mocks["crm"].log.counts["POST /crm/api/comptes/{clientId}/securite/codes"]
    resend = await mutate(
        gateway,
        "SendOneTimeCode",
        {
            "input": {
                "idempotencyKey": key(),
                "purpose": "SIGN_IN",
                "channel": "EMAIL",
                "challengeToken": challenge["token"],
            }
        },
        "",
    )
    assert errors(resend) == ["TOO_MANY_CODES"] and 1 <= resend["retryAfterSeconds"] <= 60
    assert (
        gateway.mocks["crm"].log.counts["POST /crm/api/comptes/{clientId}/securite/codes"] == sends
    )
    await gateway.app.state.services.rate_limits.reset()  # a minute later, for the gateway too
    variables = {
        "input": {
            "idempotencyKey": key(),
            "purpose": "SIGN_IN",
            "channel": "EMAIL",
            "challengeToken": challenge["token"],
        }
    }
    sent = await mutate(gateway, "SendOneTimeCode", variables, "")
    assert errors(sent) == [] and sent["sentTo"] == "c***@sarl-brico.example.fr"
    again = await mutate(gateway, "SendOneTimeCode", variables, "")  # a lost answer, retried
    assert again["sentTo"] == sent["sentTo"] and len(codes_sent(gateway, BRICO, "CONNEXION")) == 1
    code = codes_sent(gateway, BRICO, "CONNEXION")[-1]
    assert (await verify(gateway, challenge["token"], code))["session"] is not None


# ---- step-up ------------------------------------------------------------------------------------
async def bank_details(gateway: Gateway, idempotency_key: str, token: str) -> Any:
    rib = await uploaded(gateway)
    variables = {
        "input": {
            "idempotencyKey": idempotency_key,
            "contractId": HEALTH,
            "iban": "FR76 3000 4008 1900 0101 2345 632",
            "holder": "M. GERALT RIVIERE",
            "usage": "REFUND",
            "ribAttachmentId": rib,
        }
    }
    body = await gateway.run("demarches/ChangeBankDetails", variables, token=token)
    assert "errors" not in body, body
    return body["data"]["changeBankDetails"]


async def test_new_bank_details_need_a_recent_proof_and_keep_their_key(gateway: Gateway) -> None:
    token, same_key = gateway.token(GERALT), key()
    before = demandes_count(gateway)
    refused = await bank_details(gateway, same_key, token)
    assert refused["demande"] is None and errors(refused) == ["STEP_UP_REQUIRED"]
    assert "code reçu par e-mail ou code reçu par SMS" in refused["userErrors"][0]["message"]
    assert posts(gateway) == 0 and demandes_count(gateway) == before  # nothing written
    await step_up(gateway, token, GERALT)
    accepted = await bank_details(gateway, same_key, token)
    assert errors(accepted) == [] and accepted["demande"]["id"]
    assert posts(gateway) == 1 and demandes_count(gateway) == before + 1
    another = TokenVerifier(gateway.settings).issue(GERALT, ttl_s=1800)
    other = await bank_details(gateway, key(), another)
    assert errors(other) == ["STEP_UP_REQUIRED"]  # another token has not proved anything


async def test_a_termination_needs_a_recent_proof(gateway: Gateway) -> None:
    variables = {"input": {"idempotencyKey": key(), "contractId": HEALTH}}
    refused = await gateway.run("demarches/RequestTermination", variables, as_=GERALT)
    assert errors(refused["data"]["requestTermination"]) == ["STEP_UP_REQUIRED"]
    assert posts(gateway) == 0
    await stepped_up(gateway, GERALT)
    done = await gateway.run("demarches/RequestTermination", variables, as_=GERALT)
    assert errors(done["data"]["requestTermination"]) == [] and posts(gateway) == 1


async def test_a_step_up_sends_one_code_per_key_and_a_wrong_code_proves_nothing(
    gateway: Gateway,
) -> None:
    token, same = gateway.token(GERALT), key()
    variables = {"input": {"idempotencyKey": same, "method": "EMAIL_CODE"}}
    first = await mutate(gateway, "RequestStepUp", variables, token)
    second = await mutate(gateway, "RequestStepUp", variables, token)
    assert first["challenge"]["sentTo"] == second["challenge"]["sentTo"] == "g***@example.fr"
    assert len(codes_sent(gateway, GERALT, "ACTE_SENSIBLE")) == 1
    wrong = await mutate(
        gateway,
        "VerifyStepUp",
        {"input": {"challengeToken": first["challenge"]["token"], "code": "000000"}},
        token,
    )
    assert errors(wrong) == ["INVALID_CODE"] and wrong["validUntil"] is None
    assert (await security(gateway, token))["strongAuthenticationValidUntil"] is None
    sms = await mutate(
        gateway, "RequestStepUp", {"input": {"idempotencyKey": key(), "method": "TOTP"}}, token
    )
    assert [e["field"] for e in sms["userErrors"]] == ["method"]  # not a proof Geralt has
    resend = {
        "idempotencyKey": key(),
        "purpose": "SENSITIVE_ACT",
        "channel": "EMAIL",
        "challengeToken": "not-this-session-s",
    }
    refused = await mutate(gateway, "SendOneTimeCode", {"input": resend}, token)
    assert errors(refused) == ["INVALID_TOKEN"]
    assert len(codes_sent(gateway, GERALT, "ACTE_SENSIBLE")) == 1


async def test_a_password_change_needs_a_proof_and_sends_the_security_alert_once(
    gateway: Gateway,
) -> None:
    secret, _ = await with_totp(gateway)
    login = await password_login(gateway, CHRIS_LOGIN)
    signed_in = await verify(
        gateway, login["secondFactorChallenge"]["token"], totp_now(gateway, secret, 1)
    )
    access = signed_in["session"]["accessToken"]
    change = {
        "currentPassword": PASSWORDS[CHRIS_LOGIN],
        "newPassword": NEW_PASSWORD,
        "newPasswordConfirmation": NEW_PASSWORD,
    }
    plain = gateway.token(CHRIS)
    refused = await gateway.run("accounts/ChangePassword", {"input": change}, token=plain)
    assert errors(refused["data"]["changePassword"]) == ["STEP_UP_REQUIRED"]
    done = await gateway.run("accounts/ChangePassword", {"input": change}, token=access)
    assert errors(done["data"]["changePassword"]) == []
    alerts = [
        n
        for n in gateway.mocks["crm"].notifications.values()  # type: ignore[attr-defined]
        if n["clientId"] == CHRIS and n["evenement"] == "SECURITE_COMPTE"
    ]
    assert [a["message"].split(".")[0] for a in alerts] == [
        "La double authentification a été activée sur votre compte (application d'authentification)",
        "Le mot de passe de votre compte a été changé",
    ]


async def test_disabling_the_second_factor_takes_its_own_code(gateway: Gateway) -> None:
    secret, recovery = await with_totp(gateway)
    token = gateway.token(CHRIS)
    wrong = await mutate(gateway, "DisableSecondFactor", {"input": {"code": "123456"}}, token)
    assert errors(wrong) == ["INVALID_CODE"] and wrong["secondFactor"] is None
    renewed = await mutate(gateway, "RenewRecoveryCodes", {"input": {"code": recovery[1]}}, token)
    assert (
        len(renewed["recoveryCodes"]) == 10 and renewed["secondFactor"]["recoveryCodesLeft"] == 10
    )
    old = await mutate(gateway, "DisableSecondFactor", {"input": {"code": recovery[2]}}, token)
    assert errors(old) == ["INVALID_CODE"]  # the renewal voided them
    done = await mutate(
        gateway, "DisableSecondFactor", {"input": {"code": totp_now(gateway, secret, 1)}}, token
    )
    assert done["secondFactor"] == {
        "method": "NONE",
        "methodLabel": "Pas de double authentification",
        "enabledSince": None,
        "recoveryCodesLeft": 0,
    }
    login = await password_login(gateway, CHRIS_LOGIN)
    assert login["session"] is not None and login["secondFactorChallenge"] is None
    again = await mutate(gateway, "DisableSecondFactor", {"input": {"code": "123456"}}, token)
    assert errors(again) == ["SECOND_FACTOR_INACTIVE"]


async def test_the_security_alert_is_sent_once_when_the_crm_answers_are_lost(
    gateway: Gateway,
) -> None:
    paul, login = PERSONAS["paul"], "paul.bertrand@example.fr"
    token = gateway.token(paul)
    await step_up(gateway, token, paul)
    route = "POST /crm/api/clients/{clientId}/notifications"
    async with admin(gateway.mocks["crm"]) as control:  # recorded, then the answer is lost
        await control.put("/_admin/faults", json={"quirk_rate": 1.0, "routes": [route]})
    change = {
        "currentPassword": PASSWORDS[login],
        "newPassword": NEW_PASSWORD,
        "newPasswordConfirmation": NEW_PASSWORD,
    }
    done = await gateway.run("accounts/ChangePassword", {"input": change}, token=token)
    assert errors(done["data"]["changePassword"]) == []  # the change is done all the same
    assert gateway.mocks["crm"].log.counts[route] == 3  # asked again with the same key
    sent = [
        n
        for n in gateway.mocks["crm"].notifications.values()  # type: ignore[attr-defined]
        if n["clientId"] == paul and n["evenement"] == "SECURITE_COMPTE"
    ]
    assert len(sent) == 1


async def test_codes_by_sms_need_a_mobile(gateway: Gateway) -> None:
    paul = gateway.token(PERSONAS["paul"])  # no mobile on file
    refused = await mutate(gateway, "EnrolSecondFactor", {"input": {"method": "SMS"}}, paul)
    assert errors(refused) == ["NO_MOBILE"] and refused["enrolment"] is None
    state = await security(gateway, paul)
    assert state["stepUpMethods"] == ["EMAIL_CODE"] and state["secondFactor"]["method"] == "NONE"
    chris = gateway.token(CHRIS)
    started = await mutate(gateway, "EnrolSecondFactor", {"input": {"method": "SMS"}}, chris)
    assert started["enrolment"]["sentTo"] == "+33 6 ** ** ** 09"
    pending = (await security(gateway, chris))["pendingEnrolment"]
    assert pending["method"] == "SMS"
    code = codes_sent(gateway, CHRIS, "ENROLEMENT", "sms")[-1]
    confirmed = await mutate(gateway, "ConfirmSecondFactor", {"input": {"code": code}}, chris)
    assert confirmed["secondFactor"]["method"] == "SMS"
    assert (await security(gateway, chris))["stepUpMethods"] == ["SMS_CODE", "RECOVERY_CODE"]
