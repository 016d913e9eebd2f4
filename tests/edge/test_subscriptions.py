"""Subscriptions over real connections (uvicorn, mock processes; clients in
`tests/support/subscriptions.py`): `demandeUpdated` over graphql-transport-ws and over
graphql-sse, a demande moved through the CRM mock's admin route; an ended session closes the
connection; anonymous and staff callers are refused with a typed error; a WebSocket is timed
out, pinged and closed when idle; a pod that stops tells its subscribers to reconnect."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import websockets

from gateway.edge.subscriptions import RECONNECT_COMMENT, OpenStreams, until_shutdown
from mocks.base import MockSystem
from mocks.processes import free_port, gateway_server, mock_servers, pointing_at, process
from tests.support.accounts import PASSWORDS
from tests.support.gateway import PERSONAS, TODAY, Gateway, operation, serve
from tests.support.subscriptions import (
    TransportWs,
    demandes_reads,
    move,
    sse_events,
    token,
    ws_url,
)

INTERVAL_S = 0.3
INIT_TIMEOUT_S, PING_INTERVAL_S, PING_TIMEOUT_S, IDLE_TIMEOUT_S = 1.0, 0.5, 0.5, 2.0
LOADED_S = 2.0  # a change's way on a CI machine running four test workers on two cores (1.4 s seen)
CHRIS = "chris.martin@example.fr"


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
        "GATEWAY_LIVE_PER_CUSTOMER": "2",
        "GATEWAY_SESSION_CHECK_S": "0.1",
        "GATEWAY_PERSISTED_ONLY": "true",  # production's: the frontends' documents only
        "GATEWAY_MAX_IN_FLIGHT": "2",  # open SSE subscriptions must not take these places
        "GATEWAY_ADMISSION_QUEUE": "0",
        "GATEWAY_LIVE_INIT_TIMEOUT_S": str(INIT_TIMEOUT_S),
        "GATEWAY_LIVE_PING_INTERVAL_S": str(PING_INTERVAL_S),
        "GATEWAY_LIVE_PING_TIMEOUT_S": str(PING_TIMEOUT_S),
        "GATEWAY_LIVE_IDLE_TIMEOUT_S": str(IDLE_TIMEOUT_S),
    }
    with gateway_server(env) as base:
        yield base, env


@pytest.fixture
async def http(
    served_gateway: tuple[str, dict[str, str]], served_mocks: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    base, _ = served_gateway
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        for url in served_mocks.values():
            (await client.post(url + "/_admin/reset")).raise_for_status()
        yield client


async def signed_in(http: httpx.AsyncClient) -> dict[str, Any]:
    given = {"login": CHRIS, "password": PASSWORDS[CHRIS]}
    body = (
        await http.post(
            "/graphql", json={"query": operation("accounts/Login"), "variables": {"input": given}}
        )
    ).json()
    session: dict[str, Any] = body["data"]["login"]["session"]
    return session


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
    assert seen_after < INTERVAL_S + LOADED_S  # one interval, and the CRM's answer


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
    assert time.monotonic() - moved_at < INTERVAL_S + LOADED_S
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


async def test_signing_out_closes_the_connections_of_that_session_on_both_transports(
    http: httpx.AsyncClient,
) -> None:
    """The app's socket is closed 4403 as soon as a check finds the session ended, after the
    subscription's UNAUTHENTICATED and `complete`; the web's event stream ends after its error;
    the same token cannot open a socket again."""
    session = await signed_in(http)
    bearer = session["accessToken"]
    ws = await TransportWs.open(ws_url(http), bearer)
    web: list[tuple[str, dict[str, Any] | None]] = []

    async def follow() -> None:
        async for event in sse_events(http, "live/NotificationsChanged", bearer, {}):
            web.append(event)

    following = asyncio.create_task(follow())
    try:
        await ws.subscribe("live/DemandeUpdated")
        await asyncio.sleep(2 * INTERVAL_S)
        body = {
            "query": operation("accounts/Logout"),
            "variables": {"refreshToken": session["refreshToken"]},
        }
        assert (await http.post("/graphql", json=body)).json()["data"]["logout"]["accepted"]
        signed_out = time.monotonic()
        ended = await ws.next(within_s=5)
        closing = await ws.next(within_s=5)
        code, reason = await ws.closed(within_s=5)
        closed_after = time.monotonic() - signed_out
        await asyncio.wait_for(following, 5)  # the event stream ended by itself
    finally:
        following.cancel()
        await ws.close()
    assert ended["type"] == "next"
    assert ended["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert closing["type"] == "complete"
    assert (code, reason) == (4403, "Forbidden")
    assert closed_after < INTERVAL_S + 1.0  # the next check, not the idle timeout
    assert [event for event, _ in web] == ["next", "next", "complete"]
    last = web[1][1]
    assert last is not None and last["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    again = await websockets.connect(ws_url(http), subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await again.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {bearer}"}})
    )
    assert await closed_with(again, within_s=5) == (4403, "Forbidden")


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
    """Three screens opened one after the other (while it starts, a stream holds one of the 2
    places: it gives it back when its answer starts), then a page while all three stay open."""
    _, env = served_gateway
    firsts: list[str] = []

    async def follow(client_id: str, shown: asyncio.Event) -> None:
        async for event, _ in sse_events(
            http, "live/NotificationsChanged", token(client_id, env), {}
        ):
            firsts.append(event)
            shown.set()
            await asyncio.sleep(60)  # the screen stays open

    open_screens = []
    try:
        for who in ("chris", "geralt", "elodie"):
            shown = asyncio.Event()
            open_screens.append(asyncio.create_task(follow(PERSONAS[who], shown)))
            await asyncio.wait_for(shown.wait(), 10)
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


async def closed_with(connection: Any, within_s: float) -> tuple[int | None, str]:
    """Read until the gateway closes a bare socket: its code and reason."""
    try:
        async with asyncio.timeout(within_s):
            while True:
                await connection.recv()
    except websockets.ConnectionClosed as closed:
        received = closed.rcvd
        return (received.code, received.reason) if received else (None, "")
    raise AssertionError("still open")  # pragma: no cover


async def test_a_socket_that_never_says_who_it_is_is_closed_after_the_init_timeout(
    http: httpx.AsyncClient,
) -> None:
    connection = await websockets.connect(ws_url(http), subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    opened = time.monotonic()
    code, _ = await closed_with(connection, within_s=INIT_TIMEOUT_S + 3)
    assert code == 4408
    assert time.monotonic() - opened < INIT_TIMEOUT_S + 1.0


async def test_a_phone_gone_out_of_coverage_frees_its_subscription_after_a_missed_pong(
    http: httpx.AsyncClient, served_gateway: tuple[str, dict[str, str]]
) -> None:
    _, env = served_gateway
    ws = await TransportWs.open(ws_url(http), token(PERSONAS["elodie"], env), answer_pings=False)
    await ws.subscribe("live/NotificationsChanged")
    opened = time.monotonic()
    code, reason = await ws.closed(within_s=PING_INTERVAL_S + PING_TIMEOUT_S + 3)
    assert (code, reason) == (4408, "Ping timeout")  # graphql-ws clients retry 4408
    assert time.monotonic() - opened < PING_INTERVAL_S + PING_TIMEOUT_S + 1.0


async def test_a_socket_that_carries_no_subscription_is_closed_once_idle(
    http: httpx.AsyncClient, served_gateway: tuple[str, dict[str, str]]
) -> None:
    _, env = served_gateway
    asked = time.monotonic()  # the gateway's idle clock starts while the socket opens
    ws = await TransportWs.open(ws_url(http), token(PERSONAS["elodie"], env))
    opened = time.monotonic()
    code, reason = await ws.closed(within_s=IDLE_TIMEOUT_S + PING_INTERVAL_S + 3)  # pongs meanwhile
    closed = time.monotonic()
    assert (code, reason) == (1000, "Idle")
    assert closed - asked >= IDLE_TIMEOUT_S
    assert closed - opened < IDLE_TIMEOUT_S + PING_INTERVAL_S + 1.0


async def test_one_socket_cannot_carry_more_subscriptions_than_a_customer_may_hold(
    http: httpx.AsyncClient, served_gateway: tuple[str, dict[str, str]]
) -> None:
    _, env = served_gateway
    ws = await TransportWs.open(ws_url(http), token(PERSONAS["paul"], env))
    try:
        for id in ("1", "2", "3"):  # GATEWAY_LIVE_PER_CUSTOMER is 2
            await ws.subscribe("live/NotificationsChanged", id=id)
        answers = [await ws.next(within_s=10) for _ in range(3)]
    finally:
        await ws.close()
    refused = [a for a in answers if a["type"] == "error"]
    assert [(a["id"], a["payload"][0]["extensions"]["code"]) for a in refused] == [
        ("3", "TOO_MANY_SUBSCRIPTIONS")
    ]


def samples(text: str, name: str) -> dict[str, float]:
    """`name`'s samples in a /metrics text, by their labels' text."""
    found = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, _, value = line[len(name) :].rpartition(" ")
            found[labels] = float(value)
    return found


async def test_operators_see_open_subscriptions_by_transport_and_what_the_watchers_read(
    http: httpx.AsyncClient, served_gateway: tuple[str, dict[str, str]]
) -> None:
    _, env = served_gateway
    ws = await TransportWs.open(ws_url(http), token(PERSONAS["chris"], env))
    try:
        await ws.subscribe("live/NotificationsChanged")
        await ws.next(within_s=10)
        text = (await http.get("/metrics")).text
    finally:
        await ws.close()
    open_now = samples(text, "gateway_live_subscriptions")
    assert open_now['{transport="graphql-transport-ws"}'] >= 1
    assert samples(text, "gateway_live_watchers")['{role="alone"}'] >= 1  # no Redis here
    assert samples(text, "gateway_live_snapshots_total")['{outcome="read"}'] >= 1
    await asyncio.sleep(0.5)  # the socket's close reaches the gateway
    after = samples((await http.get("/metrics")).text, "gateway_live_subscriptions")
    assert (
        after['{transport="graphql-transport-ws"}']
        == open_now['{transport="graphql-transport-ws"}'] - 1
    )


async def test_a_pod_that_stops_tells_its_subscribers_to_reconnect_to_another(
    served_gateway: tuple[str, dict[str, str]],
) -> None:
    _, env = served_gateway
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with process(
        ["-m", "gateway", "serve", "--port", str(port)], [base + "/healthz"], env=env
    ) as pod:
        bearers = {who: token(PERSONAS[who], env) for who in ("chris", "geralt")}
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            ws = await TransportWs.open(ws_url(http), bearers["chris"])
            await ws.subscribe("live/NotificationsChanged")
            assert (await ws.next(within_s=10))["type"] == "next"
            events: list[str] = []
            first_event = asyncio.Event()

            async def follow() -> None:
                headers = {
                    "Accept": "text/event-stream",
                    "Authorization": f"Bearer {bearers['geralt']}",
                }
                body = {"query": operation("live/NotificationsChanged")}
                async with http.stream("POST", "/graphql", json=body, headers=headers) as answer:
                    async for line in answer.aiter_lines():  # an unfinished body raises here
                        if line.startswith("event:"):
                            events.append(line.partition(":")[2].strip())
                            first_event.set()

            web = asyncio.create_task(follow())
            await asyncio.wait_for(first_event.wait(), 10)
            stopped = time.monotonic()
            pod.send_signal(signal.SIGTERM)
            code, reason = await ws.closed(within_s=5)
            await asyncio.wait_for(web, 5)  # ended, and cleanly
            ended_after = time.monotonic() - stopped
            await asyncio.to_thread(pod.wait, 10)
    assert (code, reason) == (1012, "Service restart: reconnect")
    assert events == ["next"]  # no `complete`: graphql-sse clients retry such a stream
    assert ended_after < 2.0  # not the 10 s of uvicorn's grace period


NEXT, COMPLETE = "event: next\r\ndata: {}\r\n\r\n", "event: complete\r\ndata: \r\n\r\n"


def an_hour_without_change(closed: asyncio.Event) -> Callable[[], AsyncIterator[str]]:
    """A subscription's stream that sends one event, then waits; `closed` is set once it is closed."""

    async def subscription() -> AsyncIterator[str]:
        try:
            yield NEXT
            await asyncio.sleep(3600)
            yield COMPLETE
        finally:
            closed.set()

    return subscription


async def test_an_event_stream_ends_without_complete_when_the_process_drains() -> None:
    streams = OpenStreams()
    closed = asyncio.Event()

    subscription = an_hour_without_change(closed)

    async def read(stream: Callable[[], AsyncIterator[str]]) -> list[str]:
        return [chunk async for chunk in stream()]

    reading = asyncio.create_task(read(until_shutdown(subscription, streams)))
    await asyncio.sleep(0.05)
    streams.drain()
    chunks = await asyncio.wait_for(reading, 1)
    assert chunks == [NEXT, RECONNECT_COMMENT]  # a graphql-sse client retries this stream
    assert closed.is_set()  # the subscription itself was closed, its watcher left

    async def finished() -> AsyncIterator[str]:
        yield NEXT
        yield COMPLETE

    assert await read(until_shutdown(finished, OpenStreams())) == [NEXT, COMPLETE]


async def test_an_event_stream_whose_client_goes_away_closes_its_subscription_at_once() -> None:
    """The client gone, the response is cancelled while the stream waits for its next event: the
    subscription is closed then (its customer's watcher left, its place given back), not when an
    event, a heartbeat or the garbage collector next comes by."""
    closed = asyncio.Event()

    subscription = an_hour_without_change(closed)
    first = asyncio.Event()

    async def read(stream: Callable[[], AsyncIterator[str]]) -> None:
        async for _ in stream():
            first.set()

    reading = asyncio.create_task(read(until_shutdown(subscription, OpenStreams())))
    await asyncio.wait_for(first.wait(), 1)
    reading.cancel()  # what the server does to the response of a client that disconnected
    with contextlib.suppress(asyncio.CancelledError):
        await reading
    await asyncio.wait_for(closed.wait(), 1)


class StuckClient:
    """A graphql-sse request driven by hand, as uvicorn drives the app: the first event's send
    never completes (a full socket, a client gone silent), then the client disconnects."""

    def __init__(self, app: Any, document: str, bearer: str) -> None:
        self.gone, self.sending = asyncio.Event(), asyncio.Event()
        self.body = json.dumps({"query": operation(document)}).encode()
        self.received = 0
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {
                "version": "3.0",
                "spec_version": "2.3",
            },  # uvicorn's: it listens for disconnects
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"gateway.test"),
                (b"accept", b"text/event-stream"),
                (b"content-type", b"application/json"),
                (b"authorization", f"Bearer {bearer}".encode()),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        self.answering = asyncio.create_task(app(scope, self.receive, self.send))

    async def receive(self) -> dict[str, Any]:
        self.received += 1
        if self.received == 1:
            return {"type": "http.request", "body": self.body, "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            self.sending.set()
            await asyncio.Event().wait()  # the socket is full: this send never completes

    async def disconnect(self) -> None:
        self.gone.set()
        await asyncio.wait_for(self.answering, 5)


async def test_an_event_stream_whose_client_goes_away_mid_send_closes_its_subscription(
    gateway: Gateway,
) -> None:
    """The client gone while an event is being sent: the server cancels the response there,
    outside the stream, and the stream is closed all the same, its customer's watcher stopped,
    not left reading the back-ends until the garbage collector comes by."""
    watchers = gateway.app.state.services.live
    client = StuckClient(
        gateway.app, "live/NotificationsChanged", gateway.token(PERSONAS["geralt"])
    )
    await asyncio.wait_for(client.sending.wait(), 10)  # the bell's first state, stuck in the socket
    assert watchers.open == 1
    await client.disconnect()
    await asyncio.sleep(0.1)
    assert watchers.open == 0 and not watchers.watches


async def test_a_stream_gone_with_events_still_queued_closes_its_subscription(
    mocks: dict[str, MockSystem],
) -> None:
    """Events keep coming while the first is stuck in the socket: strawberry's heartbeat merge
    holds one and waits to queue the next when the client goes. Closing the body cancels that
    wait, not the subscription: the response closes the subscription itself."""
    async with serve(mocks, live_interval_s=0.05) as gateway:
        watchers = gateway.app.state.services.live
        crm = mocks["crm"]
        client = StuckClient(
            gateway.app, "live/NotificationsChanged", gateway.token(PERSONAS["geralt"])
        )
        await asyncio.wait_for(client.sending.wait(), 10)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=crm), base_url="http://127.0.0.1"
        ) as admin:
            for status in ("TRAITE", "CLOTURE"):  # each posts a notification: the bell moves
                posted = len(crm.notifications)  # type: ignore[attr-defined]
                moved = await admin.put(
                    "/_admin/demandes/D-2026-000312/statut", json={"statut": status}
                )
                assert moved.status_code == 200
                for _ in range(100):
                    if len(crm.notifications) > posted:  # type: ignore[attr-defined]
                        break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.3)  # the watcher's next states reach the stream
        await client.disconnect()
        await asyncio.sleep(0.1)
        assert watchers.open == 0 and not watchers.watches
