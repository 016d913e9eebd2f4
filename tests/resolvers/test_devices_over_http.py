"""Devices over real HTTP: two gateway processes sharing a Redis store and the four mocks as
separate processes. A session ended at one process stops working at the other within
`GATEWAY_SESSION_CHECK_S`; a sign-in from a new device alerts once though 30 % of the CRM's
answers are lost (its outbox read through `/_admin/outbox`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mocks.processes import mock_servers
from tests.resolvers.test_accounts_over_http import gateways
from tests.support.gateway import operation
from tests.support.redis import needs_redis, redis_server

GERALT, PASSWORD = "geralt.riviere@example.fr", "Atoll-Sante-2024!"
CHECK_S = 2.0
SESSIONS = "query { viewer { account { sessions { id deviceLabel current lastSeenAt } } } }"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1"
LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


@pytest.fixture(scope="module")
def served_mocks() -> Iterator[dict[str, str]]:
    with mock_servers() as urls:
        yield urls


def post(
    http: httpx.Client,
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
    agent: str = IPHONE,
) -> dict[str, Any]:
    headers = {"User-Agent": agent}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = http.post(
        url + "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    body: dict[str, Any] = response.json()
    return body


def sign_in(http: httpx.Client, url: str, agent: str, device: str) -> dict[str, Any]:
    variables = {"input": {"login": GERALT, "password": PASSWORD, "deviceId": device}}
    body = post(http, url, operation("accounts/Login"), variables, agent=agent)
    found: dict[str, Any] = body["data"]["login"]["session"]
    assert found is not None, body
    return found


@needs_redis
def test_a_session_ended_at_one_process_stops_at_the_other_within_the_check_delay(
    served_mocks: dict[str, str], tmp_path: Path
) -> None:
    with (
        redis_server(tmp_path) as (redis, _),
        gateways(
            served_mocks, 2, GATEWAY_REDIS_URL=redis, GATEWAY_SESSION_CHECK_S=str(CHECK_S)
        ) as (one, two),
        httpx.Client(timeout=10) as http,
    ):
        phone = sign_in(http, one, IPHONE, "phone-1")
        desk = sign_in(http, two, LINUX, "desk-1")
        listed = post(http, two, SESSIONS, token=phone["accessToken"])  # read at the other one
        sessions = listed["data"]["viewer"]["account"]["sessions"]
        assert [(s["deviceLabel"], s["current"]) for s in sessions] == [
            ("Safari sur iPhone", True),  # last seen first: this very request
            ("Chrome sur Linux", False),
        ]
        assert "errors" not in post(http, two, SESSIONS, token=desk["accessToken"])  # two trusts it
        ended = post(
            http,
            one,
            operation("securite/EndSession"),
            {"id": sessions[1]["id"]},
            phone["accessToken"],
        )
        assert ended["data"]["endSession"] == {"accepted": True, "userErrors": []}
        started = time.monotonic()
        while True:
            body = post(http, two, SESSIONS, token=desk["accessToken"])
            if "errors" in body:
                break
            assert time.monotonic() - started < CHECK_S + 1.0, "still accepted"
            time.sleep(0.1)
        waited = time.monotonic() - started
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        print(f"ended session refused at the other process after {waited:.2f} s")
        assert waited <= CHECK_S + 0.5, waited
        refresh = post(
            http, two, operation("accounts/RefreshSession"), {"refreshToken": desk["refreshToken"]}
        )
        assert refresh["data"]["refreshSession"]["session"] is None
        left = post(http, two, SESSIONS, token=phone["accessToken"])["data"]["viewer"]
        assert [s["current"] for s in left["account"]["sessions"]] == [True]


def test_a_new_device_alert_is_sent_once_under_30_percent_lost_crm_answers(
    served_mocks: dict[str, str],
) -> None:
    crm = served_mocks["crm"]
    with gateways(served_mocks) as (gateway,), httpx.Client(timeout=30) as http:
        sign_in(http, gateway, IPHONE, "phone-1")  # the account's first device: no alert
        faults = {
            "timeout_rate": 0.3,
            "hang_ms": 800,
            "seed": 21,
            "routes": ["POST /crm/api/clients/{clientId}/notifications"],
        }
        assert http.put(crm + "/_admin/faults", json=faults).status_code == 200
        try:
            devices = [f"desk-{n}" for n in range(8)]
            for device in devices:
                for _ in range(2):
                    sign_in(http, gateway, LINUX, device)
        finally:
            http.put(crm + "/_admin/faults", json={})
        outbox = http.get(crm + "/_admin/outbox").json()
        sent = [
            m
            for m in outbox["emails"]
            if m["type"] == "NOTIFICATION" and m["evenement"] == "CONNEXION_NOUVEL_APPAREIL"
        ]
        assert len(sent) == len(devices)  # one e-mail per new device, none twice
        assert len({m["notificationId"] for m in sent}) == len(devices)
        counts = http.get(crm + "/_admin/calls").json()["counts"]
        posts = counts.get("POST /crm/api/clients/{clientId}/notifications", 0)
        assert posts > len(devices)  # answers were lost: the same keys were posted again
        print(f"new-device alerts: {len(devices)} sent, {posts} posts under 30 % lost answers")
