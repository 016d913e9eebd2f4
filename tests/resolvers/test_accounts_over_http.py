"""Accounts over real HTTP: the gateway and the four mocks as separate processes, e-mails read
from the mock CRM's outbox; brute force against one and two gateway processes (one Redis).

`ACCOUNTS_ATTEMPTS` sets how many wrong logins the brute-force tests send (default 200 in the
suite; the closing note's figure is 1 000)."""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from mocks.processes import free_port, mock_servers, pointing_at, process
from tests.support.gateway import TODAY, operation
from tests.support.redis import needs_redis, redis_server

ATTEMPTS = int(os.environ.get("ACCOUNTS_ATTEMPTS", "200"))
AUTH = "POST /crm/api/authentification"
NEW, NEWER = "Nouveau-Mot2Passe!", "Encore-Plus2Neuf!"


@pytest.fixture(scope="module")
def served_mocks() -> Iterator[dict[str, str]]:
    with mock_servers() as urls:
        yield urls


@contextmanager
def gateways(mocks: dict[str, str], count: int = 1, **env: str) -> Iterator[list[str]]:
    """`count` gateway processes (`python -m gateway serve`) over the mocks; their base URLs."""
    httpx.post(mocks["crm"] + "/_admin/reset")
    settings = {
        **pointing_at(mocks),
        "GATEWAY_TODAY": TODAY.isoformat(),
        **env,
    }
    urls = [f"http://127.0.0.1:{free_port()}" for _ in range(count)]
    with ExitStack() as stack:
        for url in urls:
            port = url.rsplit(":", 1)[1]
            args = ["-m", "gateway", "serve", "--port", port, "--no-access-log"]
            stack.enter_context(process(args, [url + "/healthz"], env=settings))
        yield urls


def run(
    http: httpx.Client, url: str, name: str, variables: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = http.post(
        url + "/graphql",
        json={"query": operation(name), "variables": variables},
        headers=headers,
    )
    body: dict[str, Any] = response.json()
    return body


def mail(http: httpx.Client, crm: str, kind: str, to: str) -> str:
    found = http.get(crm + "/_admin/outbox", params={"destinataire": to}).json()["emails"]
    tokens = [m["jeton"] for m in found if m["type"] == kind]
    return str(tokens[-1])


def step_up(http: httpx.Client, url: str, crm: str, access: str, login: str) -> None:
    """A real step-up: a code e-mailed to the login (read from the outbox), then verified."""
    asked = run(
        http,
        url,
        "securite/RequestStepUp",
        {"input": {"idempotencyKey": secrets.token_hex(8), "method": "EMAIL_CODE"}},
        access,
    )["data"]["requestStepUp"]
    found = http.get(crm + "/_admin/outbox", params={"destinataire": login}).json()["emails"]
    code = [m["code"] for m in found if m["type"] == "CODE"][-1]
    variables = {"input": {"challengeToken": asked["challenge"]["token"], "code": code}}
    proved = run(http, url, "securite/VerifyStepUp", variables, access)["data"]["verifyStepUp"]
    assert proved["userErrors"] == [], proved


def test_the_whole_journey_from_registration_to_a_new_password(
    served_mocks: dict[str, str],
) -> None:
    crm, elodie = served_mocks["crm"], "elodie.darcy@example.fr"
    with gateways(served_mocks) as (gw,), httpx.Client(timeout=10) as http:
        identity = {
            "customerNumber": "48213380",
            "lastName": "D'ARCY-LEFÈVRE",
            "firstName": "Élodie",
            "birthDate": "1990-05-17",
        }
        registered = run(
            http,
            gw,
            "accounts/RegisterAccount",
            {
                "input": {
                    "individual": identity,
                    "email": elodie,
                    "emailConfirmation": elodie,
                    "termsAccepted": True,
                }
            },
        )
        assert registered["data"]["registerAccount"]["accepted"] is True
        token = mail(http, crm, "ACTIVATION", elodie)
        password = {"token": token, "password": NEW, "passwordConfirmation": NEW}
        activated = run(http, gw, "accounts/ActivateAccount", {"input": password})
        assert activated["data"]["activateAccount"] == {"accepted": True, "userErrors": []}

        def login(secret: str) -> dict[str, Any]:
            body = run(http, gw, "accounts/Login", {"input": {"login": elodie, "password": secret}})
            found: dict[str, Any] = body["data"]["login"]["session"]
            return found

        web, phone = login(NEW), login(NEW)
        home = run(http, gw, "HomePage", {}, web["accessToken"])
        assert "errors" not in home and home["data"]["viewer"]["displayName"].startswith("Élodie")
        refreshed = run(http, gw, "accounts/RefreshSession", {"refreshToken": web["refreshToken"]})
        web = refreshed["data"]["refreshSession"]["session"]
        step_up(http, gw, crm, web["accessToken"], elodie)  # a new password needs a proof
        changed = run(
            http,
            gw,
            "accounts/ChangePassword",
            {
                "input": {
                    "currentPassword": NEW,
                    "newPassword": NEWER,
                    "newPasswordConfirmation": NEWER,
                }
            },
            web["accessToken"],
        )
        assert changed["data"]["changePassword"] == {"accepted": True, "userErrors": []}
        refused = run(http, gw, "HomePage", {}, phone["accessToken"])
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert "errors" not in run(http, gw, "HomePage", {}, web["accessToken"])
        asked = run(http, gw, "accounts/RequestPasswordReset", {"email": elodie})
        assert asked["data"]["requestPasswordReset"] == {"accepted": True}
        deadline = time.monotonic() + 5
        while not http.get(crm + "/_admin/outbox").json()["emails"][-1]["type"].startswith("REIN"):
            assert time.monotonic() < deadline, "no reset e-mail"
            time.sleep(0.05)
        reset = {
            "token": mail(http, crm, "REINITIALISATION", elodie),
            "password": "Troisieme-Mot2Passe!",
            "passwordConfirmation": "Troisieme-Mot2Passe!",
        }
        done = run(http, gw, "accounts/ResetPassword", {"input": reset})
        assert done["data"]["resetPassword"] == {"accepted": True, "userErrors": []}
        assert "errors" in run(http, gw, "HomePage", {}, web["accessToken"])
        again = login("Troisieme-Mot2Passe!")
        assert "errors" not in run(http, gw, "HomePage", {}, again["accessToken"])


async def brute_force(urls: list[str], attempts: int, concurrency: int = 20) -> list[str]:
    """`attempts` wrong logins (distinct identifiers) spread over `urls`; the answers' codes."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(attempts):
        queue.put_nowait(n)
    outcomes: list[str] = []
    document = operation("accounts/Login")

    async def worker(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            n = queue.get_nowait()
            variables = {
                "input": {"login": f"x{n}-{secrets.token_hex(3)}@example.fr", "password": "Faux!"}
            }
            response = await http.post(
                urls[n % len(urls)] + "/graphql", json={"query": document, "variables": variables}
            )
            body = response.json()
            outcomes.append(
                body["errors"][0]["extensions"]["code"]
                if "errors" in body
                else body["data"]["login"]["userErrors"][0]["code"]
            )

    async with httpx.AsyncClient(timeout=30) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    return outcomes


def crm_logins(crm: str) -> int:
    count: int = httpx.get(crm + "/_admin/calls").json()["counts"].get(AUTH, 0)
    return count


def test_wrong_logins_from_one_ip_reach_the_crm_at_most_the_limit(
    served_mocks: dict[str, str],
) -> None:
    with gateways(served_mocks) as urls:
        started = time.perf_counter()
        outcomes = asyncio.run(brute_force(urls, ATTEMPTS))
        elapsed = time.perf_counter() - started
    reached = crm_logins(served_mocks["crm"])
    print(f"{ATTEMPTS} wrong logins at concurrency 20: {reached} reached the CRM in {elapsed:.1f}s")
    # the others went to the CRM (answered, or timed out on a loaded machine)
    assert 0 < reached <= 20 and outcomes.count("RATE_LIMITED") >= ATTEMPTS - 20


@needs_redis
def test_the_limit_holds_across_two_gateway_processes_behind_one_redis(
    served_mocks: dict[str, str], tmp_path: Path
) -> None:
    with (
        redis_server(tmp_path) as (redis, _),
        gateways(served_mocks, 2, GATEWAY_REDIS_URL=redis) as urls,
    ):
        outcomes = asyncio.run(brute_force(urls, ATTEMPTS))
        reached = crm_logins(served_mocks["crm"])
    print(f"{ATTEMPTS} wrong logins over 2 gateways + Redis: {reached} reached the CRM")
    # at most the limit; fewer when a counter could not be reached in time (refused, never let by)
    assert 0 < reached <= 20 and outcomes.count("RATE_LIMITED") >= ATTEMPTS - 20


@needs_redis
def test_a_session_lives_across_two_gateway_processes(
    served_mocks: dict[str, str], tmp_path: Path
) -> None:
    with (
        redis_server(tmp_path) as (redis, _),
        gateways(served_mocks, 2, GATEWAY_REDIS_URL=redis, GATEWAY_REFRESH_GRACE_S="1") as (
            one,
            two,
        ),
        httpx.Client(timeout=10) as http,
    ):
        login = {"input": {"login": "chris.martin@example.fr", "password": "Lilas-Lyon-2023!"}}
        opened = run(http, one, "accounts/Login", login)["data"]["login"]["session"]
        assert "errors" not in run(http, two, "HomePage", {}, opened["accessToken"])
        token = {"refreshToken": opened["refreshToken"]}
        renewed = run(http, two, "accounts/RefreshSession", token)["data"]["refreshSession"]
        assert renewed["session"] is not None
        tab = run(http, one, "accounts/RefreshSession", token)["data"]["refreshSession"]
        assert tab["session"]["refreshToken"] == renewed["session"]["refreshToken"]  # grace
        time.sleep(1.1)  # past GATEWAY_REFRESH_GRACE_S
        reused = run(http, one, "accounts/RefreshSession", token)["data"]["refreshSession"]
        assert reused["userErrors"][0]["code"] == "SESSION_ENDED"  # theft seen by the other one
        time.sleep(5.2)  # GATEWAY_SESSION_CHECK_S: how long a process trusts its last look
        for url in (one, two):
            refused = run(http, url, "HomePage", {}, renewed["session"]["accessToken"])
            assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_login_costs_little_more_than_one_crm_call(served_mocks: dict[str, str]) -> None:
    crm = served_mocks["crm"]
    with gateways(served_mocks) as (gw,), httpx.Client(timeout=10) as http:
        http.put(crm + "/_admin/faults", json={"latency_ms": 50})
        try:
            body = {"identifiant": "chris.martin@example.fr", "motDePasse": "Lilas-Lyon-2023!"}
            direct, through = [], []
            for _ in range(15):  # the IP allows 20 logins a minute
                started = time.perf_counter()
                http.post(
                    crm + "/crm/api/authentification",
                    json=body,
                    headers={"Authorization": "Bearer dev-crm-token"},
                )
                direct.append(time.perf_counter() - started)
                started = time.perf_counter()
                answer = run(
                    http,
                    gw,
                    "accounts/Login",
                    {"input": {"login": body["identifiant"], "password": body["motDePasse"]}},
                )
                through.append(time.perf_counter() - started)
                assert answer["data"]["login"]["session"] is not None
        finally:
            http.put(crm + "/_admin/faults", json={})
    crm_p50, login_p50 = statistics.median(direct), statistics.median(through)
    print(f"login p50 {login_p50 * 1000:.1f} ms, one CRM call p50 {crm_p50 * 1000:.1f} ms")
    # the target is 1.15× (docs/demarches-and-accounts.md); in the suite, on a shared CPU, one call's worth:
    # a login making a second CRM call, or waiting on one, would fail this
    assert login_p50 <= 2 * crm_p50


def test_strangers_from_five_ips_cannot_lock_the_owner_out(served_mocks: dict[str, str]) -> None:
    """The outside run's attack, over HTTP: 5 wrong passwords from 5 IPs (proxy-forwarded) and 5
    devices, then the owner's right password from their known device."""
    crm, victim = served_mocks["crm"], "paul.bertrand@example.fr"
    right = {"login": victim, "password": "Brico-Prevoyance-18!", "deviceId": "telephone-de-paul"}
    with gateways(served_mocks) as (gw,), httpx.Client(timeout=10) as http:
        assert run(http, gw, "accounts/Login", {"input": right})["data"]["login"]["session"]
        before = crm_logins(crm)
        answers = []
        for n in range(5):
            response = http.post(
                gw + "/graphql",
                json={
                    "query": operation("accounts/Login"),
                    "variables": {"input": {"login": victim, "password": f"Devine-{n}-Mot2Passe!"}},
                },
                headers={"X-Forwarded-For": f"198.51.100.{n + 1}", "X-Device-Id": f"pirate-{n}"},
            )
            answers.append(response.json()["data"]["login"]["userErrors"][0]["code"])
        reached = crm_logins(crm) - before
        owner = run(http, gw, "accounts/Login", {"input": right})["data"]["login"]
        locked = http.get(crm + "/_admin/calls").json()["counts"].get(AUTH, 0) - before
    print(
        f"5 wrong passwords from 5 IPs/devices: {reached} reached the CRM, answers {answers}; "
        f"the owner's login right after: {'session' if owner['session'] else owner['userErrors']}"
    )
    assert reached == 2 and locked == 3  # 2 wrong, then the owner's: nothing locked between
    assert answers == ["INVALID_CREDENTIALS"] * 2 + ["LOCKED"] * 3
    assert owner["session"] is not None and owner["userErrors"] == []
