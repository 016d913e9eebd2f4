"""`@defer` and `@stream` in process: the parts as Apollo Client and urql read them, one answer
for a client that asks for JSON, and every limit, loader and log of the operation as a whole."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.engine.incremental import accepts_parts
from mocks import MockSystem
from tests.conftest import faults
from tests.observability.test_logs import captured, lines
from tests.support.gateway import PERSONAS, Gateway, codes, operation, serve
from tests.support.incremental import ACCEPT, Deferred, Parts

DEFERRED = "live/HomePageDeferred"


@pytest.fixture(params=[True, False], ids=["fast-paths", "stock"])
async def gateway(
    request: pytest.FixtureRequest, mocks: dict[str, MockSystem]
) -> AsyncIterator[Gateway]:
    async with serve(mocks, fast_paths=request.param) as gateway:
        yield gateway


def unsigned(body: Any) -> Any:
    """Download links are signed per issue time: compare everything else."""
    if isinstance(body, dict):
        return {k: ("<link>" if k == "downloadUrl" else unsigned(v)) for k, v in body.items()}
    if isinstance(body, list):
        return [unsigned(v) for v in body]
    return body


async def deferred(gateway: Gateway, query: str | None, who: str = "geralt", **extra: Any) -> Parts:
    return await Deferred(gateway.http).post(query, gateway.token(PERSONAS[who]), **extra)


async def test_a_deferred_home_page_comes_in_parts_that_merge_into_the_home_page(
    gateway: Gateway,
) -> None:
    answer = await deferred(gateway, operation(DEFERRED))
    assert 'boundary="-"' in answer.content_type and "deferSpec=20220824" in answer.content_type
    assert all(p.headers["content-type"] == "application/json; charset=utf-8" for p in answer.parts)
    first, *later = answer.bodies
    assert first["hasNext"] is True and set(first) == {"data", "hasNext"}
    assert set(first["data"]["viewer"]) == {
        "id", "kind", "displayName", "contactDataRequired", "contracts", "demandes",
    }  # fmt: skip
    entries = [entry for body in later for entry in body.get("incremental", [])]
    assert sorted((e["label"], e["path"], *e["data"]) for e in entries) == [
        ("documents", ["viewer"], "documents"),
        ("reglements", ["viewer"], "reglements"),
    ]
    assert [b["hasNext"] for b in later][-1] is False
    assert all(b["hasNext"] for b in later[:-1])
    assert not any({"pending", "completed", "id"} & set(b) for b in later)  # not graphql-core's
    home = await gateway.run("HomePage", as_=PERSONAS["geralt"])
    assert unsigned(answer.merged()) == unsigned(home)


async def test_a_client_that_asks_for_json_gets_one_answer_with_everything(
    gateway: Gateway,
) -> None:
    for accept in ("application/json", "multipart/mixed;deferSpec=20990101, application/json"):
        response = await gateway.http.post(
            "/graphql",
            json={"query": operation(DEFERRED)},
            headers={
                "Authorization": f"Bearer {gateway.token(PERSONAS['geralt'])}",
                "Accept": accept,
            },
        )
        assert response.headers["content-type"] == "application/json"
        home = await gateway.run("HomePage", as_=PERSONAS["geralt"])
        assert unsigned(response.json()) == unsigned(home)


URQL_ACCEPT = (  # @urql/core 6: every query and mutation, subscriptions being served over SSE
    "application/graphql-response+json, application/graphql+json, application/json, "
    "text/event-stream, multipart/mixed"
)


async def test_urql_naming_event_streams_gets_parts_and_json_not_events(gateway: Gateway) -> None:
    token = gateway.token(PERSONAS["geralt"])
    answer = await Deferred(gateway.http).post(operation(DEFERRED), token, accept=URQL_ACCEPT)
    home = await gateway.run("HomePage", as_=PERSONAS["geralt"])
    assert len(answer.parts) > 1 and unsigned(answer.merged()) == unsigned(home)
    page = await gateway.http.post(
        "/graphql",
        json={"query": operation("HomePage")},
        headers={"Authorization": f"Bearer {token}", "Accept": URQL_ACCEPT},
    )
    assert page.headers["content-type"] == "application/json"
    assert unsigned(page.json()) == unsigned(home)


def test_which_accept_headers_read_parts() -> None:
    assert accepts_parts(ACCEPT)
    assert accepts_parts("multipart/mixed, application/graphql-response+json, application/json")
    assert accepts_parts('multipart/mixed; deferSpec="20220824"')
    assert not accepts_parts("application/json")
    assert not accepts_parts(None)
    assert not accepts_parts("multipart/mixed;subscriptionSpec=1.0, application/json")
    assert not accepts_parts("multipart/mixed;deferSpec=20990101")


async def test_each_resource_is_loaded_once_deferred_parts_included(gateway: Gateway) -> None:
    await gateway.clear_calls()
    await gateway.run("HomePage", as_=PERSONAS["geralt"])
    plain = gateway.calls()
    await gateway.clear_calls()
    await deferred(gateway, operation(DEFERRED))
    assert gateway.calls() == plain and plain["editique"] == 1


async def test_editique_down_is_an_error_in_the_documents_part_only(gateway: Gateway) -> None:
    await faults(gateway, "editique", error_rate=1.0, error_status=503)
    answer = await deferred(gateway, operation(DEFERRED))
    first, *later = answer.bodies
    assert "errors" not in first and first["data"]["viewer"]["contracts"]
    entries = {e["label"]: e for body in later for e in body.get("incremental", [])}
    assert "errors" not in entries["reglements"] and entries["reglements"]["data"]["reglements"]
    documents = entries["documents"]
    assert documents["data"] == {"documents": None}
    [error] = documents["errors"]
    assert error["path"] == ["viewer", "documents"]
    assert error["extensions"]["code"] == "BACKEND_UNAVAILABLE"
    assert error["extensions"]["backend"] == "editique" and error["extensions"]["requestId"]
    assert later[-1]["hasNext"] is False


async def test_a_streamed_list_arrives_item_by_item_after_its_first_items(
    gateway: Gateway,
) -> None:
    query = 'query { viewer { contracts @stream(initialCount: 1, label: "c") { number } } }'
    answer = await deferred(gateway, query, who="chris")
    first, *later = answer.bodies
    assert len(first["data"]["viewer"]["contracts"]) == 1
    items = [e for body in later for e in body.get("incremental", [])]
    assert [(e["path"], e["label"]) for e in items] == [
        (["viewer", "contracts", i], "c") for i in range(1, len(items) + 1)
    ]
    plain = await gateway.run(
        query.replace('@stream(initialCount: 1, label: "c")', ""), as_=PERSONAS["chris"]
    )
    assert answer.merged() == plain and len(plain["data"]["viewer"]["contracts"]) == 3


# ---- every limit applies to the whole operation ---------------------------------------------------
DEEP_IN_DEFER = """query {
  viewer { id ... @defer { reglements(first: 1) { edges { node { netAmount { amount } } } } } }
}"""
ALIASES_IN_DEFER = "query { viewer { id ... @defer { a: id b: id c: id } } }"
COSTLY_IN_DEFER = """query {
  viewer { id ... @defer { documents(first: 3) { edges { node { id } } }
                           reglements(first: 3) { edges { node { id } } } } }
}"""


@pytest.mark.parametrize(
    ("limit", "query", "code"),
    [
        ({"max_depth": 4}, DEEP_IN_DEFER, "QUERY_TOO_DEEP"),
        ({"max_aliases": 2}, ALIASES_IN_DEFER, "QUERY_TOO_COMPLEX"),
        ({"max_cost": 20}, COSTLY_IN_DEFER, "QUERY_TOO_COMPLEX"),
    ],
    ids=["depth", "aliases", "cost"],
)
async def test_a_deferred_fragment_counts_in_the_documents_limits(
    mocks: dict[str, MockSystem], limit: dict[str, int], query: str, code: str
) -> None:
    async with serve(mocks, **limit) as gateway:
        token = gateway.token(PERSONAS["geralt"])
        response = await gateway.http.post(
            "/graphql",
            json={"query": query},
            headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT},
        )
        assert response.headers["content-type"] == "application/json"  # refused before parts
        assert codes(response.json()) == [code] and response.json()["data"] is None
        # the same fields without the deferred fragment pass
        assert "errors" not in await gateway.run("query { viewer { id } }", as_=PERSONAS["geralt"])


async def test_the_call_budget_counts_the_deferred_parts_calls(
    mocks: dict[str, MockSystem],
) -> None:
    async with serve(mocks) as gateway:
        await deferred(gateway, operation(DEFERRED))
        needed = sum(gateway.calls().values())
    for mock in mocks.values():
        mock.log.clear()
    async with serve(mocks, max_backend_calls=needed - 1, cache=False) as gateway:
        merged = (await deferred(gateway, operation(DEFERRED))).merged()
        assert "TOO_MANY_BACKEND_CALLS" in codes(merged)
        assert sum(gateway.calls().values()) <= needed - 1


async def test_the_deadline_ends_a_slow_deferred_part_with_its_error(
    mocks: dict[str, MockSystem],
) -> None:
    async with serve(mocks, request_deadline_s=0.6) as gateway:
        await faults(gateway, "editique", latency_ms=2000)
        answer = await deferred(gateway, operation(DEFERRED))
        first, *later = answer.bodies
        assert "errors" not in first
        documents = next(
            e for body in later for e in body.get("incremental", []) if e["label"] == "documents"
        )
        assert documents["data"] == {"documents": None}
        assert [e["extensions"]["code"] for e in documents["errors"]] == ["BACKEND_TIMEOUT"]
        assert answer.parts[-1].at < 1.5


async def test_a_deferred_page_without_a_session_is_refused_as_a_whole(gateway: Gateway) -> None:
    response = await gateway.http.post(
        "/graphql", json={"query": operation(DEFERRED)}, headers={"Accept": ACCEPT}
    )
    assert codes(response.json()) == ["UNAUTHENTICATED"] and response.json()["data"] is None


async def test_one_log_line_for_the_operation_with_its_outcome_over_every_part(
    gateway: Gateway,
) -> None:
    await faults(gateway, "editique", error_rate=1.0, error_status=503, latency_ms=300)
    with captured() as stream:
        answer = await deferred(gateway, operation(DEFERRED))
    [line] = [e for e in lines(stream) if e["event"] == "request"]
    assert line["operation"] == "HomePageDeferred" and line["outcome"] == "partial"
    assert line["error_codes"] == ["BACKEND_UNAVAILABLE"]
    assert line["duration_ms"] >= 300 and line["backends"]["editique"]["calls"] >= 1
    assert len(answer.parts) >= 2


async def test_a_persisted_deferred_page_runs_by_its_hash(gateway: Gateway) -> None:
    from gateway.engine.persisted import sha256

    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(operation(DEFERRED))}}
    answer = await deferred(gateway, None, extensions=extensions)
    assert answer.bodies[0]["data"]["viewer"]["displayName"] == "Geralt RIVIÈRE"
    assert answer.bodies[-1]["hasNext"] is False


async def test_a_back_end_served_stale_is_named_on_the_first_and_the_last_part(
    gateway: Gateway,
) -> None:
    first = await deferred(gateway, operation(DEFERRED), who="paul")
    assert not any("extensions" in body for body in first.bodies)
    cache = gateway.app.state.services.backends.cache
    cache.clock = lambda: time.time() + 60  # the CRM's 30-second answers are no longer fresh
    await faults(gateway, "crm", error_rate=1.0)
    again = await deferred(gateway, operation(DEFERRED), who="paul")
    opening, *_, closing = again.bodies
    assert "errors" not in opening
    assert [n["backend"] for n in opening["extensions"]["stale"]] == ["crm"]
    assert [n["backend"] for n in closing["extensions"]["stale"]] == ["crm"]
    assert unsigned(again.merged()["data"]) == unsigned(first.merged()["data"])
