"""Notification events in process (`gateway/resolvers/events.py`): the gateway tells the CRM's feed
of a règlement paid, a document issued and a demande moved, once each, whether it sees them at a
sign-in or while the bell is open, whatever answers are lost, however many readers find them, and
after its markers are lost; a customer's first sight tells nothing old."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.domain.events import EventCounts
from gateway.observability import metrics
from gateway.resolvers.events import looks_settled, marker_key
from mocks import MockSystem
from tests.conftest import admin, faults
from tests.support.accounts import PASSWORDS
from tests.support.gateway import PERSONAS, Gateway, serve
from tests.support.live import claims_client, issue_card, move, pay_now, subscribed

INTERVAL_S = 0.1
PAUL, CHRIS, GERALT = PERSONAS["paul"], PERSONAS["chris"], PERSONAS["geralt"]
LOGINS = {
    PAUL: "paul.bertrand@example.fr",
    CHRIS: "chris.martin@example.fr",
    GERALT: "geralt.riviere@example.fr",
}
POST_NOTIFICATION = "POST /crm/api/clients/{clientId}/notifications"


@pytest.fixture
async def gateway(mocks: dict[str, MockSystem]) -> AsyncIterator[Gateway]:
    async with serve(mocks, live_interval_s=INTERVAL_S) as served:
        yield served


def posted(gateway: Gateway, client_id: str, event: str) -> list[dict[str, Any]]:
    """The notifications the CRM mock recorded (committed, whatever answer was lost)."""
    return [
        n
        for n in gateway.mocks["crm"].notifications.values()  # type: ignore[attr-defined]
        if n["clientId"] == client_id and n["evenement"] == event
    ]


def gateway_events(gateway: Gateway, client_id: str) -> list[dict[str, Any]]:
    return [
        n
        for n in gateway.mocks["crm"].notifications.values()  # type: ignore[attr-defined]
        if n["clientId"] == client_id and n["cleIdempotence"].startswith("gw-evt-")
    ]


def emailed(gateway: Gateway, client_id: str, event: str) -> int:
    return sum(
        1
        for m in gateway.mocks["crm"].outbox  # type: ignore[attr-defined]
        if m["type"] == "NOTIFICATION"
        and m["clientId"] == client_id
        and m.get("evenement") == event
    )


def posts(gateway: Gateway) -> int:
    return int(gateway.mocks["crm"].log.counts[POST_NOTIFICATION])


async def sign_in(gateway: Gateway, client_id: str) -> None:
    """A sign-in, and the look it starts after its answer, finished."""
    login = LOGINS[client_id]
    body = await gateway.run(
        "accounts/Login", {"input": {"login": login, "password": PASSWORDS[login]}}
    )
    assert body["data"]["login"]["session"] is not None, body
    await looks_settled()


async def paid(gateway: Gateway) -> str:
    async with (
        admin(gateway.mocks["claims"]) as control,
        claims_client("http://127.0.0.1", gateway.mocks["claims"]) as api,
    ):
        return await pay_now(control, api)


async def issued(gateway: Gateway) -> str:
    async with admin(gateway.mocks["editique"]) as editique:
        return await issue_card(editique, "EDQ-1002", "AA565656")


async def changes(ws: Any, within_s: float) -> list[dict[str, Any]]:
    """The `notificationsChanged` payloads sent within `within_s`."""
    found = []
    while True:
        try:
            message = await ws.next(within_s)
        except TimeoutError:
            return found
        assert message["type"] == "next", message
        found.append(message["payload"]["data"]["notificationsChanged"])


# ---- while the bell is open ----------------------------------------------------------------------
async def test_a_payment_made_while_the_bell_is_open_is_one_notification_and_moves_the_count(
    gateway: Gateway,
) -> None:
    async with subscribed(gateway.app, gateway.token(PAUL), "live/NotificationsChanged") as ws:
        first = (await ws.next(5))["payload"]["data"]["notificationsChanged"]
        assert await changes(ws, 3 * INTERVAL_S) == []  # his first sight: nothing old is told
        await paid(gateway)
        change = (await ws.next(5))["payload"]["data"]["notificationsChanged"]
        later = await changes(ws, 5 * INTERVAL_S)
    assert change["unreadCount"] == first["unreadCount"] + 1
    assert change["latest"]["event"] == "PAYMENT_MADE"
    assert change["latest"]["title"] == "Nouveau règlement"
    assert change["latest"]["link"] == "/mes-reglements"
    assert later == []
    assert len(posted(gateway, PAUL, "REGLEMENT_EFFECTUE")) == 1
    assert len(gateway_events(gateway, PAUL)) == 1
    feed = await gateway.run("securite/Notifications", as_=PAUL)
    notifications = feed["data"]["viewer"]["notifications"]
    assert notifications["unreadCount"] == first["unreadCount"] + 1
    assert [e["node"]["event"] for e in notifications["edges"]] == ["PAYMENT_MADE"]
    assert "a été effectué le" in notifications["edges"][0]["node"]["message"]


async def test_a_demande_moved_by_the_back_office_is_one_demande_mise_a_jour(
    gateway: Gateway,
) -> None:
    async with subscribed(gateway.app, gateway.token(CHRIS), "live/NotificationsChanged") as ws:
        first = (await ws.next(5))["payload"]["data"]["notificationsChanged"]
        await asyncio.sleep(3 * INTERVAL_S)
        async with admin(gateway.mocks["crm"]) as crm:
            await move(crm, "D-2026-000303", "EN_COURS")
        change = (await ws.next(5))["payload"]["data"]["notificationsChanged"]
        later = await changes(ws, 5 * INTERVAL_S)
    assert change["unreadCount"] == first["unreadCount"] + 1
    assert change["latest"]["event"] == "DEMANDE_UPDATED"
    assert "DEM-2026-11-000303" in change["latest"]["message"]
    assert "En cours de traitement" in change["latest"]["message"]
    assert later == []
    assert len(posted(gateway, CHRIS, "DEMANDE_MISE_A_JOUR")) == 1
    assert emailed(gateway, CHRIS, "DEMANDE_MISE_A_JOUR") == 1


# ---- at sign-in ----------------------------------------------------------------------------------
async def test_a_sign_in_after_a_new_document_tells_of_it_once(gateway: Gateway) -> None:
    await sign_in(gateway, GERALT)
    assert gateway_events(gateway, GERALT) == []
    await issued(gateway)
    await sign_in(gateway, GERALT)
    await sign_in(gateway, GERALT)
    found = posted(gateway, GERALT, "DOCUMENT_DISPONIBLE")
    assert len(found) == 1
    assert found[0]["lien"] == "/mes-documents"
    assert "Carte" in found[0]["message"] or "carte" in found[0]["message"]
    assert emailed(gateway, GERALT, "DOCUMENT_DISPONIBLE") == 1


async def test_a_first_ever_sign_in_tells_nothing_old(gateway: Gateway) -> None:
    """Paul has a règlement, documents and a demande moved in the last month: all are there at
    his first sight, none is news."""
    await sign_in(gateway, PAUL)
    assert gateway_events(gateway, PAUL) == []
    markers = await gateway.app.state.services.store.get(marker_key(PAUL))
    assert markers is not None
    assert all(markers["seen"][kind] for kind in markers["seen"])  # each kind had facts to mark


async def test_the_metrics_count_each_event_found_and_sent(gateway: Gateway) -> None:
    found: list[str] = []
    sent: list[str] = []
    gateway.app.state.services.event_counts = EventCounts(found=found.append, sent=sent.append)
    await sign_in(gateway, PAUL)
    await paid(gateway)
    await sign_in(gateway, PAUL)
    await sign_in(gateway, PAUL)
    assert found == sent == ["REGLEMENT_EFFECTUE"]


async def test_the_app_counts_events_in_its_metrics(gateway: Gateway) -> None:
    def count(family: str) -> float:
        return float(metrics.child(family, "REGLEMENT_EFFECTUE")._value.get())

    before = count("live_events_found"), count("live_events_sent")
    await sign_in(gateway, PAUL)
    await paid(gateway)
    await sign_in(gateway, PAUL)
    assert (count("live_events_found"), count("live_events_sent")) == (before[0] + 1, before[1] + 1)


# ---- exactly once --------------------------------------------------------------------------------
async def test_each_event_is_posted_once_when_the_crm_answers_are_lost(gateway: Gateway) -> None:
    await sign_in(gateway, PAUL)
    await faults(gateway, "crm", timeout_rate=0.5, hang_ms=800, seed=7, routes=[POST_NOTIFICATION])
    references = [await paid(gateway) for _ in range(3)]
    await sign_in(gateway, PAUL)
    await sign_in(gateway, PAUL)
    await faults(gateway, "crm")
    await sign_in(gateway, PAUL)
    found = posted(gateway, PAUL, "REGLEMENT_EFFECTUE")
    assert len(found) == len(references)  # committed once each
    assert len({n["cleIdempotence"] for n in found}) == len(references)
    assert emailed(gateway, PAUL, "REGLEMENT_EFFECTUE") == len(references)
    assert posts(gateway) > len(references)  # answers were lost: the same keys were posted again


async def test_two_readers_finding_the_same_event_post_it_once(
    gateway: Gateway, mocks: dict[str, MockSystem]
) -> None:
    """A second gateway process over the same back-ends, with markers of its own: both find the
    règlement, both post it, the CRM records it once."""
    async with serve(mocks, live_interval_s=INTERVAL_S) as other:
        await asyncio.gather(sign_in(gateway, PAUL), sign_in(other, PAUL))
        await paid(gateway)
        before = posts(gateway)
        await asyncio.gather(sign_in(gateway, PAUL), sign_in(other, PAUL))
    assert posts(gateway) - before == 2  # each reader posted it
    assert len(posted(gateway, PAUL, "REGLEMENT_EFFECTUE")) == 1
    assert emailed(gateway, PAUL, "REGLEMENT_EFFECTUE") == 1


async def test_lost_markers_lose_no_event_and_repeat_none(gateway: Gateway) -> None:
    store = gateway.app.state.services.store
    await sign_in(gateway, PAUL)
    await paid(gateway)
    await sign_in(gateway, PAUL)  # the first règlement told
    await paid(gateway)
    await issued(gateway)  # Geralt's: not Paul's business
    await store.delete(marker_key(PAUL))  # the store flushed
    await sign_in(gateway, PAUL)
    told = posted(gateway, PAUL, "REGLEMENT_EFFECTUE")
    assert len(told) == 2  # the second one too, and the first one not twice
    assert gateway_events(gateway, PAUL) == told  # nothing of his first sight


async def test_markers_written_late_repeat_a_post_the_crm_answers_once(gateway: Gateway) -> None:
    """The markers of a look are lost after its posts (a crash, a store that failed): the next
    look posts the same event again, under the same key, and the CRM does not record it twice."""
    store = gateway.app.state.services.store
    await sign_in(gateway, PAUL)
    before = await store.get(marker_key(PAUL))
    await paid(gateway)
    await sign_in(gateway, PAUL)
    await store.put(marker_key(PAUL), before, 3600)  # as if the look had never written them
    calls = posts(gateway)
    await sign_in(gateway, PAUL)
    assert posts(gateway) == calls + 1
    assert len(posted(gateway, PAUL, "REGLEMENT_EFFECTUE")) == 1
    assert emailed(gateway, PAUL, "REGLEMENT_EFFECTUE") == 1
