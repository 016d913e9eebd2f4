"""Two-factor sign-in and step-up over real HTTP: the gateway and the four mocks as separate
processes, TOTP codes computed on the mock CRM's clock (`/_admin/clock`), e-mailed codes and
reset links read from its outbox (`/_admin/outbox`), writes counted in its call log."""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pyotp
import pytest

from gateway.schema.ids import to_global
from mocks.processes import mock_servers
from tests.resolvers.test_accounts_over_http import gateways, run
from tests.support.files import pdf
from tests.support.gateway import operation

CHRIS, PASSWORD = "chris.martin@example.fr", "Lilas-Lyon-2023!"
GERALT, GERALT_PASSWORD = "geralt.riviere@example.fr", "Atoll-Sante-2024!"
NEW = "Nouveau-Mot2Passe!"
VERIFY = "POST /crm/api/comptes/{clientId}/securite/verification"
POST_DEMANDE = "POST /crm/api/clients/{clientId}/demandes"


@pytest.fixture(scope="module")
def served_mocks() -> Iterator[dict[str, str]]:
    with mock_servers() as urls:
        yield urls


def totp(http: httpx.Client, crm: str, secret: str, advance_s: int = 0) -> str:
    """Move the mock CRM's clock `advance_s` on (a new TOTP step), then the code of its now."""
    offset = http.get(crm + "/_admin/clock").json()["offset_s"]
    moved = http.put(crm + "/_admin/clock", json={"offset_s": offset + advance_s}).json()
    return str(pyotp.TOTP(secret).at(datetime.fromisoformat(moved["now"])))


def session(http: httpx.Client, gw: str, login: str, password: str) -> dict[str, Any]:
    body = run(
        http, gw, "securite/LoginWithPassword", {"input": {"login": login, "password": password}}
    )
    found: dict[str, Any] = body["data"]["login"]
    return found


def second_step(http: httpx.Client, gw: str, challenge: str, code: str) -> dict[str, Any]:
    variables = {"input": {"challengeToken": challenge, "code": code}}
    found: dict[str, Any] = run(http, gw, "securite/LoginWithSecondFactor", variables)["data"][
        "verifySecondFactor"
    ]
    return found


def enrol_totp(http: httpx.Client, gw: str, crm: str, access: str) -> str:
    started = run(http, gw, "securite/EnrolSecondFactor", {"input": {"method": "TOTP"}}, access)
    secret: str = started["data"]["enrolSecondFactor"]["enrolment"]["totpSecret"]
    confirmed = run(
        http,
        gw,
        "securite/ConfirmSecondFactor",
        {"input": {"code": totp(http, crm, secret)}},
        access,
    )["data"]["confirmSecondFactor"]
    assert confirmed["userErrors"] == [] and len(confirmed["recoveryCodes"]) == 10
    return secret


def codes(body: dict[str, Any]) -> list[str]:
    return [e["code"] for e in body["userErrors"]]


def calls(http: httpx.Client, crm: str, route: str) -> int:
    count: int = http.get(crm + "/_admin/calls").json()["counts"].get(route, 0)
    return count


def test_totp_sign_in_lock_and_unlock(served_mocks: dict[str, str]) -> None:
    crm = served_mocks["crm"]
    with gateways(served_mocks) as (gw,), httpx.Client(timeout=10) as http:
        opened = session(http, gw, CHRIS, PASSWORD)["session"]
        secret = enrol_totp(http, gw, crm, opened["accessToken"])
        out = run(http, gw, "accounts/Logout", {"refreshToken": opened["refreshToken"]})
        assert out["data"]["logout"]["accepted"] is True
        # a password alone: a challenge, no session
        first = session(http, gw, CHRIS, PASSWORD)
        assert first["session"] is None and codes(first) == ["SECOND_FACTOR_REQUIRED"]
        challenge = first["secondFactorChallenge"]["token"]
        signed_in = second_step(http, gw, challenge, totp(http, crm, secret, 30))
        assert signed_in["userErrors"] == [] and signed_in["session"]["accessToken"]
        home = run(http, gw, "HomePage", {}, signed_in["session"]["accessToken"])
        assert "errors" not in home
        # 5 wrong codes lock the account; the right one is then refused without asking the CRM
        challenge = session(http, gw, CHRIS, PASSWORD)["secondFactorChallenge"]["token"]
        wrong = [codes(second_step(http, gw, challenge, "000000")) for _ in range(5)]
        assert wrong == [["INVALID_CODE"]] * 4 + [["LOCKED"]]
        checks = calls(http, crm, VERIFY)
        late = second_step(http, gw, challenge, totp(http, crm, secret, 30))
        assert codes(late) == ["LOCKED"] and late["session"] is None
        assert calls(http, crm, VERIFY) == checks
        assert codes(session(http, gw, CHRIS, PASSWORD)) == ["LOCKED"]
        # a password reset unlocks; the second factor stays
        asked = run(http, gw, "accounts/RequestPasswordReset", {"email": CHRIS})
        assert asked["data"]["requestPasswordReset"]["accepted"] is True
        deadline = time.monotonic() + 5
        while True:
            mails = http.get(crm + "/_admin/outbox", params={"destinataire": CHRIS}).json()
            links = [m["jeton"] for m in mails["emails"] if m["type"] == "REINITIALISATION"]
            if links:
                break
            assert time.monotonic() < deadline, "no reset e-mail"
            time.sleep(0.05)
        reset = {"token": links[-1], "password": NEW, "passwordConfirmation": NEW}
        done = run(http, gw, "accounts/ResetPassword", {"input": reset})
        assert done["data"]["resetPassword"]["accepted"] is True
        again = session(http, gw, CHRIS, NEW)
        assert codes(again) == ["SECOND_FACTOR_REQUIRED"]
        token = again["secondFactorChallenge"]["token"]
        assert second_step(http, gw, token, totp(http, crm, secret, 30))["session"] is not None


def upload_rib(http: httpx.Client, gw: str, access: str) -> str:
    query = operation("demarches/UploadAttachment")
    response = http.post(
        gw + "/graphql",
        data={
            "operations": json.dumps({"query": query, "variables": {"file": None}}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": ("rib.pdf", pdf(), "application/pdf")},
        headers={"Authorization": f"Bearer {access}", "Apollo-Require-Preflight": "true"},
    )
    body = response.json()
    assert "errors" not in body, body
    return str(body["data"]["uploadAttachment"]["attachment"]["id"])


def test_bank_details_refused_without_a_step_up_then_accepted_after_an_emailed_code(
    served_mocks: dict[str, str],
) -> None:
    crm = served_mocks["crm"]
    with gateways(served_mocks) as (gw,), httpx.Client(timeout=10) as http:
        access = session(http, gw, GERALT, GERALT_PASSWORD)["session"]["accessToken"]
        change = {
            "idempotencyKey": uuid.uuid4().hex,
            "contractId": to_global("Contract", "AA565656"),
            "iban": "FR76 3000 4008 1900 0101 2345 632",
            "holder": "M. GERALT RIVIERE",
            "usage": "REFUND",
            "ribAttachmentId": upload_rib(http, gw, access),
        }
        refused = run(http, gw, "demarches/ChangeBankDetails", {"input": change}, access)
        payload = refused["data"]["changeBankDetails"]
        assert codes(payload) == ["STEP_UP_REQUIRED"] and payload["demande"] is None
        assert calls(http, crm, POST_DEMANDE) == 0  # nothing written
        asked = run(
            http,
            gw,
            "securite/RequestStepUp",
            {"input": {"idempotencyKey": uuid.uuid4().hex, "method": "EMAIL_CODE"}},
            access,
        )["data"]["requestStepUp"]
        assert asked["challenge"]["sentTo"] == "g***@example.fr"
        mails = http.get(crm + "/_admin/outbox", params={"destinataire": GERALT}).json()["emails"]
        code = [m["code"] for m in mails if m["type"] == "CODE"][-1]
        proved = run(
            http,
            gw,
            "securite/VerifyStepUp",
            {"input": {"challengeToken": asked["challenge"]["token"], "code": code}},
            access,
        )["data"]["verifyStepUp"]
        assert proved["userErrors"] == [] and proved["validUntil"]
        accepted = run(http, gw, "demarches/ChangeBankDetails", {"input": change}, access)
        payload = accepted["data"]["changeBankDetails"]
        assert codes(payload) == [] and payload["maskedIban"].endswith("632")
        again = run(http, gw, "demarches/ChangeBankDetails", {"input": change}, access)
        assert again["data"]["changeBankDetails"]["demande"]["id"] == payload["demande"]["id"]
        assert calls(http, crm, POST_DEMANDE) == 1  # one demande, whatever the retries


def test_added_latency_of_a_sign_in_with_two_factors(served_mocks: dict[str, str]) -> None:
    """Password-only against password + TOTP, every back-end answering in 50 ms."""
    crm = served_mocks["crm"]
    with gateways(served_mocks) as (gw,), httpx.Client(timeout=10) as http:
        access = session(http, gw, CHRIS, PASSWORD)["session"]["accessToken"]
        for url in served_mocks.values():
            http.put(url + "/_admin/faults", json={"latency_ms": 50})
        try:
            plain = []
            session(http, gw, CHRIS, PASSWORD)  # warm: connections to the CRM under latency
            for _ in range(3):  # the IP allows 20 password or code checks a minute
                started = time.perf_counter()
                assert session(http, gw, CHRIS, PASSWORD)["session"] is not None
                plain.append(time.perf_counter() - started)
            secret = enrol_totp(http, gw, crm, access)
            two_steps = []
            for _ in range(7):
                code = totp(http, crm, secret, 30)
                started = time.perf_counter()
                challenge = session(http, gw, CHRIS, PASSWORD)["secondFactorChallenge"]["token"]
                assert second_step(http, gw, challenge, code)["session"] is not None
                two_steps.append(time.perf_counter() - started)
        finally:
            for url in served_mocks.values():
                http.put(url + "/_admin/faults", json={})
    alone, both = statistics.median(plain) * 1000, statistics.median(two_steps) * 1000
    print(
        f"sign-in at 50 ms back-ends: password {alone:.0f} ms, password + TOTP {both:.0f} ms "
        f"(median of {len(plain)} and {len(two_steps)}): +{both - alone:.0f} ms"
    )
    # two CRM calls in series (password, then code), and nothing else of weight
    assert both >= 100 and both - alone < 250
