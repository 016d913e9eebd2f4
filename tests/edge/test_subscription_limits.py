"""Every limit of a POST holds a subscription, over graphql-transport-ws and graphql-sse alike:
the document's limits (parser and validation, `engine/operation_limits.py`), validation errors
typed and without suggestions, the rate limits, and each state answered within a deadline and a
call budget of its own (`resolvers/live.py`), a hanging back-end failing one field or skipping
one read, never the subscription.

A production gateway (introspection and suggestions off), documents not restricted to the
frontends' so that hostile ones reach the limits, served by uvicorn in this process (production
needs Redis to start as a process), its back-ends the mock processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.identity.tokens import TokenVerifier
from gateway.settings import Settings
from mocks.processes import mock_servers
from tests.support.gateway import PERSONAS, PRODUCTION, TODAY, codes, operation
from tests.support.subscriptions import TransportWs, move, served, sse_events, ws_url

INTERVAL_S = 0.3
DEADLINE_S = 1.0  # GATEWAY_REQUEST_DEADLINE_S: each state's, each watcher read's
BUDGET = 7  # GATEWAY_MAX_BACKEND_CALLS: a watcher read makes 5 calls, a state below 2
SLACK_S = 1.5  # the CRM's answer, a busy machine
HANG_MS = 4_000  # a back-end that hangs: past the deadline, not past the mocks' stop (10 s)


@pytest.fixture(scope="module")
def served_mocks() -> Iterator[dict[str, str]]:
    with mock_servers() as urls:
        yield urls


@pytest.fixture(scope="module")
async def gateway(served_mocks: dict[str, str]) -> AsyncIterator[tuple[str, Settings]]:
    backends = {
        "policy_admin_url": served_mocks["policy-admin"],
        "claims_url": served_mocks["claims"],
        "editique_url": served_mocks["editique"],
        "crm_url": served_mocks["crm"],
    }
    settings = Settings(
        today=TODAY,
        **{**PRODUCTION, **backends},
        live_interval_s=INTERVAL_S,
        request_deadline_s=DEADLINE_S,
        max_backend_calls=BUDGET,
        cache=False,  # every state's contract read reaches policy-admin
        rate_limit_anonymous="3/minute",  # no other test here calls anonymously
    )
    async with served(create_app(settings)) as base:
        yield base, settings


@pytest.fixture
async def http(
    gateway: tuple[str, Settings], served_mocks: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    base, _ = gateway
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        for url in served_mocks.values():
            (await client.post(url + "/_admin/reset")).raise_for_status()
        yield client


def bearer(gateway: tuple[str, Settings], who: str) -> str:
    return TokenVerifier(gateway[1]).issue(PERSONAS[who], "customer")


async def refused_over_ws(http: httpx.AsyncClient, document: str, token: str | None) -> Any:
    """The `error` message a `subscribe` of `document` is answered with: its errors."""
    ws = await TransportWs.open(ws_url(http), token)
    try:
        await ws.subscribe(document)
        answer = await ws.next(within_s=5)
    finally:
        await ws.close()
    assert answer["type"] == "error", answer
    return answer["payload"]


async def refused_over_sse(
    http: httpx.AsyncClient, document: str, token: str | None
) -> tuple[int, Any]:
    """A graphql-sse request of `document`: its status and errors, refused before the document
    runs (a JSON answer, as a POST's) or at once (one `next` event, then `complete`)."""
    headers = {"Accept": "text/event-stream"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    answer = await http.post("/graphql", json={"query": document}, headers=headers)
    if answer.headers["content-type"].startswith("application/json"):
        return answer.status_code, answer.json()["errors"]
    events = [block for block in answer.text.split("\r\n\r\n") if block.strip()]
    assert [e.split("\r\n")[0] for e in events] == ["event: next", "event: complete"], events
    body = json.loads(events[0].split("\r\n")[1].removeprefix("data:"))
    assert body["data"] is None
    return answer.status_code, body["errors"]


def pages(levels: int, first: int) -> str:
    """A demande's contract, its dossiers, their contract… `levels` times."""
    nested = "id"
    for _ in range(levels):
        nested = f"contract {{ dossiers(first: {first}) {{ edges {{ node {{ {nested} }} }} }} }}"
    return f"subscription {{ demandeUpdated {{ demande {{ {nested} }} }} }}"


BELL = "notificationsChanged"
LIMITS = {  # (document, [(code, limit)]): the pairs tests/engine/test_operation_limits.py has
    "depth": (pages(3, 1), [("QUERY_TOO_DEEP", "depth")]),
    "aliases": (
        f"subscription {{ {BELL} {{ {' '.join(f'a{i}: unreadCount' for i in range(21))} }} }}",
        [("QUERY_TOO_COMPLEX", "aliases")],
    ),
    "rootFields": (
        f"subscription {{ {' '.join(f'a{i}: {BELL} {{ unreadCount }}' for i in range(11))} }}",
        [("QUERY_TOO_COMPLEX", "rootFields")],
    ),
    "fields": (
        f"subscription {{ {BELL} {{ {' unreadCount' * 401} }} }}",
        [("QUERY_TOO_COMPLEX", "fields")],
    ),
    "directives": (
        f"subscription {{ {BELL} {{ unreadCount{' @include(if: true)' * 21} }} }}",
        [("QUERY_TOO_COMPLEX", "directives")],
    ),
    "cost": (pages(2, 50), [("QUERY_TOO_COMPLEX", "cost")]),  # 50 × 50 dossiers a state
    "first": (pages(1, 51), [("QUERY_TOO_COMPLEX", "first")]),
    "tokens": (
        f"subscription {{ {BELL} {{ {' unreadCount' * 1001} }} }}",
        [("QUERY_TOO_LARGE", None)],
    ),
    "comments": (
        f"subscription {{ {BELL} {{ unreadCount }} }}" + "\n# a comment" * 201,
        [("QUERY_TOO_LARGE", None)],
    ),
    "length": (
        f"subscription {{ {BELL} {{ unreadCount }} }}" + " " * 100_000,
        [("QUERY_TOO_LARGE", None)],
    ),
    "syntax": (f"subscription {{ {BELL} {{ unreadCount }}", [("GRAPHQL_PARSE_FAILED", None)]),
}


@pytest.mark.parametrize("limit", LIMITS)
async def test_a_subscription_past_a_limit_is_refused_as_a_post_is_over_both_transports(
    http: httpx.AsyncClient, gateway: tuple[str, Settings], limit: str
) -> None:
    document, expected = LIMITS[limit]
    token = bearer(gateway, "chris")
    over_ws = await refused_over_ws(http, document, token)
    status, over_sse = await refused_over_sse(http, document, token)
    for errors in (over_ws, over_sse):
        found = [(e["extensions"]["code"], e["extensions"].get("limit")) for e in errors]
        assert found == expected
    assert status == 200  # as a POST's: the errors say it
    if expected[0][1] is not None:  # a measure: its value and maximum, as a POST's
        assert over_ws[0]["extensions"]["value"] > over_ws[0]["extensions"]["max"]


async def test_a_subscriptions_validation_errors_are_typed_and_suggest_nothing_in_production(
    http: httpx.AsyncClient, gateway: tuple[str, Settings]
) -> None:
    token = bearer(gateway, "chris")
    post = await http.post(
        "/graphql",
        json={"query": "{ viewr { id } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert codes(post.json()) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "Did you mean" not in post.text
    typo = "subscription { notificationsChange { unreadCount } }"
    introspection = "subscription { __schema { types { name } } }"
    for document in (typo, introspection):
        over_ws = await refused_over_ws(http, document, token)
        _, over_sse = await refused_over_sse(http, document, token)
        for errors in (over_ws, over_sse):
            assert {e["extensions"]["code"] for e in errors} == {"GRAPHQL_VALIDATION_FAILED"}
            assert not [e for e in errors if "Did you mean" in e["message"]], errors
    assert over_ws[-1]["message"] == "Cannot query field '__schema' on type 'Subscription'."


async def test_subscribing_spends_the_rate_limits_of_a_post_over_both_transports(
    http: httpx.AsyncClient,
) -> None:
    """Anonymous callers: 3 a minute here. Each `subscribe` and each event stream spends one,
    as a POST does, before it is refused for want of a session."""
    ws = await TransportWs.open(ws_url(http), None)
    try:
        answers = []
        for id in ("1", "2", "3", "4"):
            await ws.subscribe(operation("live/NotificationsChanged"), id=id)
            answers.append(await ws.next(within_s=5))
            if answers[-1]["type"] == "next":
                assert (await ws.next(within_s=5))["type"] == "complete"
    finally:
        await ws.close()
    assert [a["payload"]["errors"][0]["extensions"]["code"] for a in answers[:3]] == [
        "UNAUTHENTICATED"
    ] * 3
    assert answers[3]["type"] == "error"
    assert answers[3]["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
    headers = {"Accept": "text/event-stream"}
    body = {"query": operation("live/NotificationsChanged")}
    answer = await http.post("/graphql", json=body, headers=headers)
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0
    assert codes(answer.json()) == ["RATE_LIMITED"]


# ---- each state: a deadline and a call budget of its own ------------------------------------

FOLLOW_CONTRACT = (
    "subscription { demandeUpdated { change demande { reference status contract { number } } } }"
)


class Followed:
    """One customer's subscription over both transports at once."""

    def __init__(self, ws: TransportWs, events: asyncio.Queue[dict[str, Any]]) -> None:
        self.ws = ws
        self.events = events

    async def updates(self, within_s: float) -> list[dict[str, Any]]:
        """The next payload of each transport: [WebSocket's, event stream's]."""
        async with asyncio.timeout(within_s):
            message = await self.ws.next(within_s)
            assert message["type"] == "next", message
            return [message["payload"], await self.events.get()]

    def quiet(self) -> bool:
        return self.ws.inbox.empty() and self.events.empty()


@contextlib.asynccontextmanager
async def followed(http: httpx.AsyncClient, token: str, document: str) -> AsyncIterator[Followed]:
    ws = await TransportWs.open(ws_url(http), token)
    await ws.subscribe(document)
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def listen() -> None:
        async for event, data in sse_events(http, document, token, {}):
            if event == "next" and data is not None:
                events.put_nowait(data)

    listening = asyncio.create_task(listen())
    try:
        yield Followed(ws, events)
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await ws.close()


async def faults(http: httpx.AsyncClient, url: str, **settings: object) -> None:
    (await http.put(url + "/_admin/faults", json=settings)).raise_for_status()


async def test_each_state_is_answered_within_a_deadline_and_a_call_budget_of_its_own(
    http: httpx.AsyncClient, gateway: tuple[str, Settings], served_mocks: dict[str, str]
) -> None:
    """The connection's deadline is long past and its budget would be spent by the states'
    contract reads (one each, no cache here): each state gets its own."""
    async with followed(http, bearer(gateway, "geralt"), FOLLOW_CONTRACT) as live:
        await asyncio.sleep(2 * DEADLINE_S)
        answers = []
        for status in ("EN_COURS", "TRAITE") * (BUDGET // 2 + 1):  # BUDGET + 1 states at least
            await move(http, served_mocks, status, "D-2026-000307")
            answers += await live.updates(within_s=10)
    for payload in answers:
        assert "errors" not in payload, payload
        assert payload["data"]["demandeUpdated"]["demande"]["contract"] == {"number": "AA565656"}


async def test_a_back_end_hanging_past_the_deadline_fails_one_field_of_one_state(
    http: httpx.AsyncClient, gateway: tuple[str, Settings], served_mocks: dict[str, str]
) -> None:
    async with followed(http, bearer(gateway, "paul"), FOLLOW_CONTRACT) as live:
        await asyncio.sleep(3 * INTERVAL_S)  # the watcher's first read
        await faults(http, served_mocks["policy-admin"], timeout_rate=1.0, hang_ms=HANG_MS)
        moved_at = await move(http, served_mocks, "EN_COURS", "D-2026-000316")
        hanging = await live.updates(within_s=10)
        answered_after = time.monotonic() - moved_at
        await faults(http, served_mocks["policy-admin"])
        await move(http, served_mocks, "TRAITE", "D-2026-000316")
        back = await live.updates(within_s=10)
    assert answered_after < INTERVAL_S + DEADLINE_S + SLACK_S
    for payload in hanging:
        update = payload["data"]["demandeUpdated"]
        assert (update["demande"]["status"], update["demande"]["contract"]) == ("IN_PROGRESS", None)
        assert codes(payload) == ["BACKEND_TIMEOUT"]
    for payload in back:  # the same subscriptions, still open
        assert "errors" not in payload
        assert payload["data"]["demandeUpdated"]["demande"]["contract"] == {
            "number": "ADH184068708"
        }


def failed_reads(metrics: str) -> float:
    prefix = 'gateway_live_snapshots_total{outcome="failed"} '
    return next(
        (
            float(line.removeprefix(prefix))
            for line in metrics.splitlines()
            if line.startswith(prefix)
        ),
        0.0,
    )


async def test_a_watcher_read_past_the_deadline_is_skipped_and_the_subscriptions_carry_on(
    http: httpx.AsyncClient, gateway: tuple[str, Settings], served_mocks: dict[str, str]
) -> None:
    """The CRM holds every answer 4 s: each read gives up at the deadline (several fail while
    it hangs, not one), no state is sent, and the change comes once the CRM answers."""
    hang_s = 3 * DEADLINE_S
    async with followed(http, bearer(gateway, "chris"), operation("live/DemandeUpdated")) as live:
        await asyncio.sleep(3 * INTERVAL_S)
        failed_before = failed_reads((await http.get("/metrics")).text)
        await faults(http, served_mocks["crm"], timeout_rate=1.0, hang_ms=HANG_MS)
        await move(http, served_mocks, "EN_COURS")
        await asyncio.sleep(hang_s)
        failed = failed_reads((await http.get("/metrics")).text) - failed_before
        assert live.quiet()
        await faults(http, served_mocks["crm"])
        answered_at = time.monotonic()
        updates = await live.updates(within_s=10)
        answered_after = time.monotonic() - answered_at
    assert failed >= hang_s / DEADLINE_S - 1  # reads end at the deadline, the watcher goes on
    assert answered_after < DEADLINE_S + INTERVAL_S + SLACK_S  # the read under way, then one
    for payload in updates:
        assert payload["data"]["demandeUpdated"]["demande"]["status"] == "IN_PROGRESS"
