"""Admission control: beyond the requests a process works on and its short queue, a fast 503."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from gateway.app import create_app
from gateway.edge.middleware.admission import Admission
from gateway.observability import metrics
from gateway.settings import Settings
from mocks import MockSystem
from tests.support.asgi import Held, client
from tests.support.fast_paths import only_with_fast_paths
from tests.support.gateway import PERSONAS, TODAY, Gateway, operation


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(400):  # 2 s at most
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


async def test_beyond_the_places_and_the_queue_the_answer_is_an_immediate_503() -> None:
    held = Held()
    admission = Admission(held, limit=2, queue=1, wait_s=5)
    counted = metrics.families().admission_refusals._value.get()
    async with client(admission) as http:
        working = [asyncio.create_task(http.get("/graphql")) for _ in range(2)]
        await until(lambda: held.started == 2)
        queued = asyncio.create_task(http.get("/graphql"))
        await until(lambda: len(admission.waiting) == 1)

        started = asyncio.get_running_loop().time()
        refused = await http.get("/graphql")
        assert asyncio.get_running_loop().time() - started < 0.5  # not queued: answered at once
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert refused.json()["errors"][0]["extensions"]["code"] == "OVERLOADED"
        assert held.started == 2 and admission.refused == 1
        assert metrics.families().admission_refusals._value.get() == counted + 1  # alerts read it

        held.release.set()  # the working requests finish: the queued one gets a place
        answers = await asyncio.gather(*working, queued)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert admission.in_flight == 0 and not admission.waiting


async def test_a_request_queued_longer_than_the_wait_is_refused_and_frees_its_place() -> None:
    held = Held()
    admission = Admission(held, limit=1, queue=4, wait_s=0.1)
    async with client(admission) as http:
        working = asyncio.create_task(http.get("/graphql"))
        await until(lambda: held.started == 1)
        late = await http.get("/graphql")
        assert late.status_code == 503 and not admission.waiting
        held.release.set()
        assert (await working).status_code == 200
        assert (await http.get("/graphql")).status_code == 200  # the place is free again
    assert admission.in_flight == 0


async def test_health_and_metrics_are_answered_even_when_full() -> None:
    held = Held()
    admission = Admission(held, limit=1, queue=0, wait_s=0)
    async with client(admission) as http:
        working = asyncio.create_task(http.get("/graphql"))
        await until(lambda: held.started == 1)
        assert (await http.get("/graphql")).status_code == 503
        probe = asyncio.create_task(http.get("/healthz"))  # reaches the app, not refused
        await until(lambda: held.started == 2)
        held.release.set()
        assert (await probe).status_code == 200 and (await working).status_code == 200


@pytest.fixture
async def small_gateway(mocks: dict[str, MockSystem]) -> AsyncIterator[Gateway]:
    settings = Settings(today=TODAY, cache=False, max_in_flight=2, admission_queue=0)
    app = create_app(settings, mocks=mocks)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield Gateway(http, settings, mocks, app)


async def test_an_overloaded_gateway_serves_whole_pages_and_refuses_the_rest_fast(
    small_gateway: Gateway,
) -> None:
    gateway = small_gateway
    for mock in gateway.mocks.values():  # pages take a while: the two places stay taken
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=mock), base_url="http://mock"
        ) as control:
            await control.put("/_admin/faults", json={"latency_ms": 50})
    headers = {"Authorization": f"Bearer {gateway.token(PERSONAS['paul'])}"}
    body = {"query": operation("HomePage")}
    answers = await asyncio.gather(
        *(gateway.http.post("/graphql", json=body, headers=headers) for _ in range(8))
    )
    pages = [a for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code == 503]
    assert len(pages) == 2 and len(refused) == 6
    assert all("errors" not in a.json() and a.json()["data"]["viewer"] for a in pages)
    assert all(a.headers["retry-after"] == "1" for a in refused)
    states = await gateway.app.state.services.backends.breakers.states()
    assert all(s["state"] == "closed" and s["failures"] == 0 for s in states.values())
    assert sum(s["attempts"] for s in states.values()) == 2 * 6  # refused pages called nothing


@only_with_fast_paths  # GC tuning (fastpath/gc_tuning.py)
async def test_a_started_gateway_collects_garbage_rarely_and_never_walks_start_up_objects(
    gateway: Gateway,
) -> None:
    import gc

    assert gc.get_threshold()[0] >= 5_000 and gc.get_freeze_count() > 0


class Answers:
    """Starts its answer at once with the content type its path names (`/events`: Server-Sent
    Events, else JSON) and keeps it open until `close` is set."""

    def __init__(self) -> None:
        self.close = asyncio.Event()
        self.started = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.started += 1
        kind = b"text/event-stream" if scope["path"] == "/events" else b"application/json"
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", kind)]}
        )
        await self.close.wait()
        await send({"type": "http.response.body", "body": b""})


async def asked(admission: Admission, path: str, accept: bytes) -> list[Message]:
    """One request through `admission` (raw ASGI: the answer may stay open); what it sent."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": [(b"accept", accept)]}
    await admission(scope, receive, send)
    return sent


URQL_ACCEPT = (
    b"application/graphql-response+json, application/graphql+json, application/json, "
    b"text/event-stream, multipart/mixed"
)


async def test_open_event_streams_give_their_place_back_when_they_start() -> None:
    answers = Answers()
    admission = Admission(answers, limit=1, queue=0, wait_s=0)
    streams = [
        asyncio.create_task(asked(admission, "/events", b"text/event-stream")) for _ in range(3)
    ]
    await until(lambda: answers.started == 3)  # three subscriptions open on one place
    assert admission.in_flight == 0
    page = asyncio.create_task(asked(admission, "/graphql", b"application/json"))
    await until(lambda: answers.started == 4)  # and a page still gets it
    assert admission.in_flight == 1
    answers.close.set()
    await asyncio.gather(*streams, page)
    assert admission.in_flight == 0 and admission.refused == 0


async def test_asking_for_events_is_not_enough_to_skip_admission() -> None:
    """urql names `text/event-stream` in the `Accept` of every query: answered as JSON, the
    request keeps its place until its answer ends."""
    answers = Answers()
    admission = Admission(answers, limit=1, queue=0, wait_s=0)
    query = asyncio.create_task(asked(admission, "/graphql", URQL_ACCEPT))
    await until(lambda: answers.started == 1)
    assert admission.in_flight == 1
    refused = await asked(admission, "/graphql", URQL_ACCEPT)
    assert refused[0]["status"] == 503 and answers.started == 1
    answers.close.set()
    await query
    assert admission.in_flight == 0
