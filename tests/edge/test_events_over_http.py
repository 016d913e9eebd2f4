"""Notification events over real connections (uvicorn, mock processes): a règlement paid through
the claims mock's admin route reaches the CRM's feed once and the open bell within one watcher
interval; under CRM answers held past the gateway's timeout (committed, then lost), a demande
moved by the back office is still one notification."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from mocks.processes import gateway_server, mock_servers, pointing_at
from tests.support.gateway import PERSONAS, TODAY
from tests.support.live import claims_client, crm_client, events_in, move, pay_now
from tests.support.subscriptions import TransportWs, token, ws_url

INTERVAL_S = 0.3
PAUL, CHRIS = PERSONAS["paul"], PERSONAS["chris"]
POST_NOTIFICATION = "POST /crm/api/clients/{clientId}/notifications"


@pytest.fixture(scope="module")
def served_mocks() -> Iterator[dict[str, str]]:
    with mock_servers() as urls:
        yield urls


@pytest.fixture(scope="module")
def served_gateway(served_mocks: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    env = {
        **pointing_at(served_mocks),
        "GATEWAY_TODAY": TODAY.isoformat(),
        "GATEWAY_LIVE_INTERVAL_S": str(INTERVAL_S),
    }
    with gateway_server(env) as base:
        yield base, env


@pytest.fixture
async def http(served_mocks: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        for url in served_mocks.values():
            (await client.post(url + "/_admin/reset")).raise_for_status()
        yield client


async def feed(mocks: dict[str, str], client_id: str) -> list[dict[str, Any]]:
    """The client's notifications, read from the CRM as the gateway reads them."""
    async with crm_client(mocks["crm"]) as crm:
        answer = await crm.get(f"/crm/api/clients/{client_id}/notifications")
    found: list[dict[str, Any]] = answer.json()["notifications"]
    return found


async def crm_posts(http: httpx.AsyncClient, mocks: dict[str, str]) -> int:
    counts = (await http.get(mocks["crm"] + "/_admin/calls")).json()["counts"]
    return int(counts.get(POST_NOTIFICATION, 0))


async def bell(ws: TransportWs, within_s: float) -> dict[str, Any]:
    message = await ws.next(within_s)
    assert message["type"] == "next", message
    change: dict[str, Any] = message["payload"]["data"]["notificationsChanged"]
    return change


async def quiet(ws: TransportWs, for_s: float) -> list[dict[str, Any]]:
    """What the bell receives in `for_s` (nothing, when nothing changes)."""
    found = []
    end = time.monotonic() + for_s
    while (left := end - time.monotonic()) > 0:
        try:
            found.append(await bell(ws, left))
        except TimeoutError:
            break
    return found


async def test_a_payment_made_while_the_app_is_open_rings_the_bell_once(
    http: httpx.AsyncClient,
    served_gateway: tuple[str, dict[str, str]],
    served_mocks: dict[str, str],
) -> None:
    base, env = served_gateway
    async with httpx.AsyncClient(base_url=base) as gateway:
        ws = await TransportWs.open(ws_url(gateway), token(PAUL, env))
    try:
        await ws.subscribe("live/NotificationsChanged")
        first = await bell(ws, 10)
        assert await quiet(ws, 3 * INTERVAL_S) == []  # his first sight: nothing old is told
        async with (
            httpx.AsyncClient(base_url=served_mocks["claims"]) as control,
            claims_client(served_mocks["claims"]) as claims,
        ):
            await pay_now(control, claims)
        paid_at = time.monotonic()
        change = await bell(ws, 10)
        rang_after = time.monotonic() - paid_at
        later = await quiet(ws, 5 * INTERVAL_S)
    finally:
        await ws.close()
    print(
        f"\nrèglement paid → bell: {rang_after * 1000:.0f} ms (interval {INTERVAL_S * 1000:.0f} ms)"
    )
    assert change["unreadCount"] == first["unreadCount"] + 1
    assert change["latest"]["event"] == "PAYMENT_MADE"
    assert later == []
    assert rang_after < INTERVAL_S + 1.5  # one interval, the reads and the post
    notifications = await feed(served_mocks, PAUL)
    assert len(events_in(notifications, "REGLEMENT_EFFECTUE")) == 1
    assert [n["cleIdempotence"][:7] for n in notifications] == ["gw-evt-"]


async def test_a_demande_moved_is_one_notification_when_the_crm_answers_are_held(
    http: httpx.AsyncClient,
    served_gateway: tuple[str, dict[str, str]],
    served_mocks: dict[str, str],
) -> None:
    """Every post is committed by the CRM and answered after the gateway gave up, for a while:
    the gateway posts it again at each look, under the same key, until an answer comes."""
    base, env = served_gateway
    crm = served_mocks["crm"]
    async with httpx.AsyncClient(base_url=base) as gateway:
        ws = await TransportWs.open(ws_url(gateway), token(CHRIS, env))
    try:
        await ws.subscribe("live/NotificationsChanged")
        first = await bell(ws, 10)
        await asyncio.sleep(3 * INTERVAL_S)
        held = {"timeout_rate": 1.0, "hang_ms": 2000, "routes": [POST_NOTIFICATION]}
        (await http.put(crm + "/_admin/faults", json=held)).raise_for_status()
        async with httpx.AsyncClient(base_url=crm) as control:
            await move(control, "D-2026-000303", "EN_COURS")
        change = await bell(ws, 15)  # committed: the feed shows it though no answer came
        for _ in range(100):  # its next looks post it again, under the same key
            if await crm_posts(http, served_mocks) >= 3:
                break
            await asyncio.sleep(INTERVAL_S)
        (await http.put(crm + "/_admin/faults", json={})).raise_for_status()
        await asyncio.sleep(10 * INTERVAL_S)  # the next looks get their answer
        later = await quiet(ws, 2 * INTERVAL_S)
    finally:
        await ws.close()
    posts = await crm_posts(http, served_mocks)
    print(f"\nheld answers: {posts} posts for one notification")
    assert change["unreadCount"] == first["unreadCount"] + 1
    assert change["latest"]["event"] == "DEMANDE_UPDATED"
    assert later == []
    told = events_in(await feed(served_mocks, CHRIS), "DEMANDE_MISE_A_JOUR")
    assert len(told) == 1
    outbox = (await http.get(crm + "/_admin/outbox")).json()
    mailed = [m for m in outbox["emails"] if m.get("evenement") == "DEMANDE_MISE_A_JOUR"]
    assert len(mailed) == 1  # sent once, whatever the repeats
    assert posts >= 3
