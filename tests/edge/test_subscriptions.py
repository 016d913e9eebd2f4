"""Subscriptions over real connections (uvicorn, mock processes): `demandeUpdated` over
graphql-transport-ws (the `websockets` package) and over graphql-sse (distinct connections,
httpx streaming), a demande moved through the CRM mock's admin route; an ended session closes
the subscription; anonymous and staff callers are refused with a typed error.

No Python client of either protocol is installed: the test sends the protocols' few messages
(`connection_init`, `subscribe`; a POST with `Accept: text/event-stream`) and reads the answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import websockets

from mocks.processes import free_port, mock_servers, process
from tests.support.accounts import PASSWORDS
from tests.support.gateway import PERSONAS, TODAY, operation

INTERVAL_S = 0.3
MOVED = "D-2026-000303"  # chris's, RECU in the fixtures
CHRIS = "chris.martin@example.fr"


@pytest.fixture(scope="module")
def served_mocks() -> Iterator[dict[str, str]]:
    with mock_servers() as urls:
        yield urls


@pytest.fixture(scope="module")
def served_gateway(served_mocks: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    env = {
        "POLICY_ADMIN_URL": served_mocks["policy-admin"],
        "CLAIMS_URL": served_mocks["claims"],
        "EDITIQUE_URL": served_mocks["editique"],
        "CRM_URL": served_mocks["crm"],
        "GATEWAY_TODAY": TODAY.isoformat(),
        "GATEWAY_LIVE_INTERVAL_S": str(INTERVAL_S),
        "GATEWAY_LIVE_PER_CUSTOMER": "2",
        "GATEWAY_SESSION_CHECK_S": "0.1",
        "GATEWAY_PERSISTED_ONLY": "true",  # production's: the frontends' documents only
        "GATEWAY_MAX_IN_FLIGHT": "2",  # open SSE subscriptions must not take these places
        "GATEWAY_ADMISSION_QUEUE": "0",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with process(["-m", "gateway", "serve", "--port", str(port)], [base + "/healthz"], env=env):
        yield base, env


def token(subject: str, env: dict[str, str], role: str = "customer") -> str:
    args = [sys.executable, "-m", "gateway", "token", subject]
    if role != "customer":
        args += ["--role", role]
    return subprocess.run(
        args, capture_output=True, text=True, check=True, env={**os.environ, **env}
    ).stdout.strip()


@pytest.fixture
async def http(
    served_gateway: tuple[str, dict[str, str]], served_mocks: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    base, _ = served_gateway
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        for url in served_mocks.values():
            (await client.post(url + "/_admin/reset")).raise_for_status()
        yield client


async def move(http: httpx.AsyncClient, mocks: dict[str, str], status: str) -> float:
    """The back office moves the demande; when it did."""
    url = f"{mocks['crm']}/_admin/demandes/{MOVED}/statut"
    (
        await http.put(url, json={"statut": status, "commentaire": "Pris en charge"})
    ).raise_for_status()
    return time.monotonic()


async def signed_in(http: httpx.AsyncClient) -> dict[str, Any]:
    given = {"login": CHRIS, "password": PASSWORDS[CHRIS]}
    body = (
        await http.post(
            "/graphql", json={"query": operation("accounts/Login"), "variables": {"input": given}}
        )
    ).json()
    session: dict[str, Any] = body["data"]["login"]["session"]
    return session


def ws_url(http: httpx.AsyncClient) -> str:
    return str(http.base_url).replace("http://", "ws://").rstrip("/") + "/graphql"


class TransportWs:
    """One graphql-transport-ws connection: `connection_init` with the token, then subscribe."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, url: str, bearer: str | None) -> TransportWs:
        connection = await websockets.connect(url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
        payload = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        await connection.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(connection.recv(), 5))
        assert ack["type"] == "connection_ack", ack
        return cls(connection)

    async def subscribe(self, document: str, variables: dict[str, Any] | None = None) -> None:
        query = operation(document) if "{" not in document else document
        message = {"query": query, "variables": variables or {}}
        await self.connection.send(json.dumps({"id": "1", "type": "subscribe", "payload": message}))

    async def next(self, within_s: float) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(await asyncio.wait_for(self.connection.recv(), within_s))
        return found

    async def close(self) -> None:
        await self.connection.close()


async def sse_events(
    http: httpx.AsyncClient, document: str, bearer: str | None, variables: dict[str, Any]
) -> AsyncIterator[tuple[str, dict[str, Any] | None]]:
    """graphql-sse, distinct connections: (event, data) as they arrive."""
    headers = {"Accept": "text/event-stream"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    query = operation(document) if "{" not in document else document
    body = {"query": query, "variables": variables}
    async with http.stream("POST", "/graphql", json=body, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:") and event:
                data = line.partition(":")[2].strip()
                yield event, json.loads(data) if data else None
                if event == "complete":
                    return


async def test_a_customer_on_the_mobile_app_sees_their_demande_move_within_one_interval(
    http: httpx.AsyncClient,
    served_gateway: tuple[str, dict[str, str]],
    served_mocks: dict[str, str],
) -> None:
    _, env = served_gateway
    ws = await TransportWs.open(ws_url(http), token(PERSONAS["chris"], env))
    try:
        await ws.subscribe("live/DemandeUpdated")
        await asyncio.sleep(3 * INTERVAL_S)  # the watcher's first read: what is there already
        moved_at = await move(http, served_mocks, "EN_COURS")
        message = await ws.next(within_s=10)
        seen_after = time.monotonic() - moved_at
    finally:
        await ws.close()
    assert message["type"] == "next", message
    update = message["payload"]["data"]["demandeUpdated"]
    assert update["change"] == "STATUS_CHANGED"
    assert update["previousStatus"] == "RECEIVED"
    assert update["demande"]["reference"] == "DEM-2026-11-000303"
    assert update["demande"]["status"] == "IN_PROGRESS"
    assert update["demande"]["history"][-1]["status"] == "IN_PROGRESS"
    assert seen_after < INTERVAL_S + 1.0  # one interval, and the CRM's answer


async def test_a_customer_on_the_web_sees_their_demande_move_over_server_sent_events(
    http: httpx.AsyncClient,
    served_gateway: tuple[str, dict[str, str]],
    served_mocks: dict[str, str],
) -> None:
    _, env = served_gateway
    bearer = token(PERSONAS["chris"], env)
    received: list[tuple[str, dict[str, Any] | None]] = []

    async def listen() -> None:
        async for event in sse_events(http, "live/DemandeUpdated", bearer, {}):
            received.append(event)
            if event[0] == "next":
                return

    listening = asyncio.create_task(listen())
    await asyncio.sleep(3 * INTERVAL_S)
    moved_at = await move(http, served_mocks, "TRAITE")
    await asyncio.wait_for(listening, 10)
    assert time.monotonic() - moved_at < INTERVAL_S + 1.0
    _, data = received[-1]
    assert data is not None
    update = data["data"]["demandeUpdated"]
    assert (update["previousStatus"], update["demande"]["status"]) == ("RECEIVED", "DONE")


async def test_the_bell_shows_the_unread_count_as_soon_as_the_app_subscribes(
    http: httpx.AsyncClient, served_gateway: tuple[str, dict[str, str]]
) -> None:
    _, env = served_gateway
    ws = await TransportWs.open(ws_url(http), token(PERSONAS["chris"], env))
    try:
        await ws.subscribe("live/NotificationsChanged")
        message = await ws.next(within_s=10)
    finally:
        await ws.close()
    assert message["type"] == "next", message
    change = message["payload"]["data"]["notificationsChanged"]
    assert isinstance(change["unreadCount"], int)
    assert "errors" not in message["payload"]


async def test_signing_out_closes_the_subscriptions_of_that_session(
    http: httpx.AsyncClient,
) -> None:
    session = await signed_in(http)
    ws = await TransportWs.open(ws_url(http), session["accessToken"])
    try:
        await ws.subscribe("live/DemandeUpdated")
        await asyncio.sleep(2 * INTERVAL_S)
        body = {
            "query": operation("accounts/Logout"),
            "variables": {"refreshToken": session["refreshToken"]},
        }
        assert (await http.post("/graphql", json=body)).json()["data"]["logout"]["accepted"]
        ended = await ws.next(within_s=5)
        closing = await ws.next(within_s=5)
    finally:
        await ws.close()
    assert ended["type"] == "next"
    assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert closing["type"] == "complete"


@pytest.mark.parametrize("who", ["anonymous", "staff"])
async def test_no_one_but_the_customer_can_follow_their_demandes(
    http: httpx.AsyncClient, served_gateway: tuple[str, dict[str, str]], who: str
) -> None:
    _, env = served_gateway
    bearer = None if who == "anonymous" else token("agent.dupont", env, role="staff")
    ws = await TransportWs.open(ws_url(http), bearer)
    try:
        await ws.subscribe("live/DemandeUpdated")
        refused = await ws.next(within_s=5)
        closing = await ws.next(within_s=5)
    finally:
        await ws.close()
    code = {"anonymous": "UNAUTHENTICATED", "staff": "FORBIDDEN"}[who]
    assert refused["type"] == "next"
    assert refused["payload"]["errors"][0]["extensions"]["code"] == code
    assert closing["type"] == "complete"
    answers = [event async for event in sse_events(http, "live/NotificationsChanged", bearer, {})]
    assert answers[0][1] is not None
    assert answers[0][1]["errors"][0]["extensions"]["code"] == code


async def test_a_third_subscription_of_one_customer_is_refused_past_the_limit(
    http: httpx.AsyncClient, served_gateway: tuple[str, dict[str, str]]
) -> None:
    _, env = served_gateway
    bearer = token(PERSONAS["geralt"], env)
    opened = [await TransportWs.open(ws_url(http), bearer) for _ in range(3)]
    try:
        for ws in opened:
            await ws.subscribe("live/NotificationsChanged")
        firsts = [await ws.next(within_s=10) for ws in opened]
    finally:
        for ws in opened:
            await ws.close()
    refused = [m for m in firsts if "errors" in m.get("payload", {})]
    assert [m["payload"]["errors"][0]["extensions"]["code"] for m in refused] == [
        "TOO_MANY_SUBSCRIPTIONS"
    ]
    assert len([m for m in firsts if m["payload"].get("data")]) == 2


async def demandes_reads(http: httpx.AsyncClient, mocks: dict[str, str], client_id: str) -> int:
    log = (await http.get(mocks["crm"] + "/_admin/calls")).json()
    return sum(
        1
        for call in log["calls"]
        if call["method"] == "GET" and call["path"].endswith(f"/clients/{client_id}/demandes")
    )


async def test_two_screens_of_one_customer_cost_the_crm_one_read_per_interval_and_none_after(
    http: httpx.AsyncClient,
    served_gateway: tuple[str, dict[str, str]],
    served_mocks: dict[str, str],
) -> None:
    _, env = served_gateway
    client_id = PERSONAS["paul"]
    bearer = token(client_id, env)
    opened = [await TransportWs.open(ws_url(http), bearer) for _ in range(2)]
    try:
        for ws in opened:
            await ws.subscribe("live/DemandeUpdated")
        await asyncio.sleep(10 * INTERVAL_S)
        while_open = await demandes_reads(http, served_mocks, client_id)
    finally:
        for ws in opened:
            await ws.close()
    await asyncio.sleep(2 * INTERVAL_S)  # the watcher stops with the last subscription
    after_close = await demandes_reads(http, served_mocks, client_id)
    await asyncio.sleep(5 * INTERVAL_S)
    assert 5 <= while_open <= 12  # one watcher: about one read an interval, not two
    assert await demandes_reads(http, served_mocks, client_id) == after_close


UNTRUSTED = "subscription Probe { notificationsChanged { unreadCount } }"


async def test_a_document_outside_the_frontends_manifest_cannot_subscribe_either_way(
    http: httpx.AsyncClient, served_gateway: tuple[str, dict[str, str]]
) -> None:
    _, env = served_gateway
    bearer = token(PERSONAS["chris"], env)
    ws = await TransportWs.open(ws_url(http), bearer)
    try:
        await ws.subscribe(UNTRUSTED)
        refused = await ws.next(within_s=5)
    finally:
        await ws.close()
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    headers = {"Accept": "text/event-stream", "Authorization": f"Bearer {bearer}"}
    answer = await http.post("/graphql", json={"query": UNTRUSTED}, headers=headers)
    assert [e["extensions"]["code"] for e in answer.json()["errors"]] == [
        "PERSISTED_QUERY_NOT_IN_LIST"
    ]


async def test_open_web_subscriptions_leave_room_for_the_pages_requests(
    http: httpx.AsyncClient, served_gateway: tuple[str, dict[str, str]]
) -> None:
    _, env = served_gateway
    held = asyncio.Event()
    firsts: list[str] = []

    async def follow(client_id: str) -> None:
        async for event, _ in sse_events(
            http, "live/NotificationsChanged", token(client_id, env), {}
        ):
            firsts.append(event)
            if len(firsts) == 3:
                held.set()
            await asyncio.sleep(60)  # the screen stays open

    open_screens = [
        asyncio.create_task(follow(PERSONAS[who])) for who in ("chris", "geralt", "elodie")
    ]
    try:
        await asyncio.wait_for(held.wait(), 10)
        page = await http.post(
            "/graphql",
            json={"query": operation("Profile")},
            headers={"Authorization": f"Bearer {token(PERSONAS['chris'], env)}"},
        )
    finally:
        for task in open_screens:
            task.cancel()
        await asyncio.gather(*open_screens, return_exceptions=True)
    assert firsts == ["next", "next", "next"]
    assert page.status_code == 200, page.text
    assert "errors" not in page.json()
