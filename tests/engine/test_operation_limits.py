"""Operation limits: a hostile document is refused before anything runs, fast, whoever sends it.

Time bounds are generous (the target is 50 ms on an idle core; the suite shares 2 cores); the
figures of the closing note come from `python -m tests.support.hostile_timings`.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse

from gateway.engine.fastpath.validation_cache import validated
from gateway.engine.operation_limits import Limits, Measurer, violations
from gateway.engine.schema import schema
from mocks import MockSystem
from tests.support import hostile
from tests.support.fast_paths import only_with_fast_paths
from tests.support.gateway import OPERATIONS, PRODUCTION, Gateway, codes, operation, serve

BOUND_S = 1.0  # per request (target 50 ms, measured 1-25 ms): generous, the machine is shared
LIFTED_BOUND_S = 5.0  # with the token limit lifted to 100 000: parsing alone is ~0.3-0.6 s


def refused(body: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    """The limits a body was refused for, by name."""
    assert body["data"] is None
    return {e["extensions"]["limit"]: e["extensions"] for e in body["errors"]}


async def timed(gateway: Gateway, query: str, *, as_: str | None = None) -> tuple[dict, float]:  # type: ignore[type-arg]
    started = time.perf_counter()
    body = await gateway.run(query, as_=as_)
    return body, time.perf_counter() - started


@pytest.mark.parametrize("n", [18, 24, 30])
async def test_fragments_spreading_each_other_twice_are_refused_at_once(
    gateway: Gateway, n: int
) -> None:
    """The anonymous freeze: 24 fragments named `__…` spreading each other twice (20.7 s)."""
    await gateway.clear_calls()
    for who in (None, "C0001002"):
        body, elapsed = await timed(gateway, hostile.fragment_fanout(n), as_=who)
        assert body["data"] is None and codes(body)[-1] == "QUERY_TOO_COMPLEX"
        assert elapsed < BOUND_S, f"{n} fragments: {elapsed:.3f} s"
    assert sum(gateway.calls().values()) == 0


async def test_a_nested_fan_out_is_measured_once_per_fragment() -> None:
    document = parse(hostile.fragment_fanout(200, on="Query", leaf="__typename"), max_tokens=None)
    started = time.perf_counter()
    found = violations(schema._schema, document, Limits())
    assert time.perf_counter() - started < 0.05  # ~1 ms: 200 fragments measured once each
    fields = next(v for v in found if v.limit == "fields")
    assert fields.value == 10**12  # 2^200 fields, saturated rather than computed in full


async def test_80_000_typename_aliases_are_refused_before_parsing(
    mocks: dict[str, MockSystem],
) -> None:
    """1.3 MB: over the body limit (413); with that limit lifted, over the query length."""
    query = hostile.typename_aliases(80_000)
    async with serve(mocks, **PRODUCTION) as gateway:  # anonymous, in production
        response = await gateway.http.post("/graphql", json={"query": query})
        assert response.status_code == 413 and codes(response.json()) == ["PAYLOAD_TOO_LARGE"]
    async with serve(mocks, **PRODUCTION, max_body_bytes=10_000_000) as gateway:
        body, elapsed = await timed(gateway, query)
        assert codes(body) == ["QUERY_TOO_LARGE"] and body["data"] is None
        assert elapsed < BOUND_S  # its length is refused before the parser reads it


async def test_a_document_at_the_token_limit_is_refused_anonymously(gateway: Gateway) -> None:
    most = (Limits().max_tokens - 2) // 3  # `aN: __typename` is 3 tokens, the braces 2
    body, elapsed = await timed(gateway, hostile.typename_aliases(most))
    assert set(codes(body)) == {"QUERY_TOO_COMPLEX"} and "aliases" in refused(body)
    assert elapsed < BOUND_S
    body = await gateway.run(hostile.typename_aliases(most + 1))
    assert codes(body) == ["QUERY_TOO_LARGE"]


async def test_1_000_conflicting_fields_are_refused_before_the_quadratic_check(
    mocks: dict[str, MockSystem],
) -> None:
    """Even with the token limit lifted, the limits rule aborts validation first."""
    async with serve(mocks, max_tokens=100_000) as gateway:
        body, elapsed = await timed(gateway, hostile.conflicting_fields(1_000), as_="C0001002")
        assert set(codes(body)) == {"QUERY_TOO_COMPLEX"} and "aliases" in refused(body)
        assert elapsed < LIFTED_BOUND_S, f"{elapsed:.3f} s"
    async with serve(mocks) as gateway:  # with the default token limit the parser stops it
        body = await gateway.run(hostile.conflicting_fields(1_000), as_="C0001002")
        assert codes(body) == ["QUERY_TOO_LARGE"]


async def test_a_1_mb_query_is_refused_by_the_parser(gateway: Gateway) -> None:
    body, elapsed = await timed(gateway, hostile.megabyte_query(900_000), as_="C0001002")
    assert codes(body) == ["QUERY_TOO_LARGE"]
    assert elapsed < BOUND_S


async def test_1_000_aliases_of_reglement_cost_too_much_and_call_nothing(
    mocks: dict[str, MockSystem],
) -> None:
    async with serve(mocks, max_tokens=100_000, max_aliases=10_000) as gateway:
        await gateway.clear_calls()
        body, elapsed = await timed(gateway, hostile.reglement_aliases(1_000), as_="C0001002")
        assert set(codes(body)) == {"QUERY_TOO_COMPLEX"}
        cost = refused(body)["cost"]
        assert cost["value"] > cost["max"] == 5_000, cost
        assert sum(gateway.calls().values()) == 0 and elapsed < LIFTED_BOUND_S
    async with serve(mocks) as gateway:  # by default the parser stops it before
        body = await gateway.run(hostile.reglement_aliases(1_000), as_="C0001002")
        assert codes(body) == ["QUERY_TOO_LARGE"]


async def test_depth_counts_through_fragments(gateway: Gateway) -> None:
    body = await gateway.run(hostile.deep_through_fragments(3), as_="C0009001")  # depth 14
    assert codes(body) == ["QUERY_TOO_DEEP"]
    assert body["errors"][0]["extensions"] == {
        "code": "QUERY_TOO_DEEP",
        "limit": "depth",
        "value": 14,
        "max": 12,
        "requestId": body["errors"][0]["extensions"]["requestId"],
    }
    body = await gateway.run(hostile.deep_through_fragments(2), as_="C0009001")  # depth 10
    assert "QUERY_TOO_DEEP" not in codes(body)


async def test_cost_multiplies_by_first_and_first_is_bounded(
    mocks: dict[str, MockSystem],
) -> None:
    page = "{{ viewer {{ reglements(first: {n}) {{ edges {{ node {{ id paidOn kind }} }} }} }} }}"
    async with serve(mocks, max_cost=100) as gateway:
        small = await gateway.run(page.format(n=3), as_="C0001002")
        assert "errors" not in small
        big = await gateway.run(page.format(n=40), as_="C0001002")
        assert codes(big) == ["QUERY_TOO_COMPLEX"]
        assert big["errors"][0]["extensions"]["value"] == 1 + 10 + 40 * (1 + 1 + 3)
    async with serve(mocks) as gateway:
        body = await gateway.run(page.format(n=5_000), as_="C0001002")
        assert codes(body) == ["QUERY_TOO_COMPLEX"]
        assert body["errors"][0]["extensions"]["limit"] == "first"


@pytest.mark.parametrize(
    ("query", "limit"),
    [
        ("{ " + " ".join(f"a{i}: __typename" for i in range(11)) + " }", "rootFields"),
        ("{ viewer { " + " ".join(f"a{i}: id" for i in range(21)) + " } }", "aliases"),
        ("{ __typename" + " @include(if: true)" * 21 + " }", "directives"),
    ],
)
async def test_each_limit_is_enforced(gateway: Gateway, query: str, limit: str) -> None:
    body = await gateway.run(query, as_="C0001002")
    assert codes(body) == ["QUERY_TOO_COMPLEX"]
    assert body["errors"][0]["extensions"]["limit"] == limit


async def test_limits_are_settings(mocks: dict[str, MockSystem]) -> None:
    async with serve(mocks, max_root_fields=20, max_aliases=30) as gateway:
        body = await gateway.run("{ " + " ".join(f"a{i}: __typename" for i in range(11)) + " }")
        assert "errors" not in body


@only_with_fast_paths
async def test_validation_stays_cached_with_the_limits(gateway: Gateway) -> None:
    """strawberry #4635: rules built per request would defeat the validation cache (ours:
    gateway/engine/fastpath/validation_cache.py, keyed by the parsed document's identity)."""
    cache = validated
    await gateway.run("Profile", as_="C0001002")
    before = cache.cache_info()
    await gateway.run("Profile", as_="C0001002")
    after = cache.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses


@pytest.mark.parametrize("path", sorted(OPERATIONS.rglob("*.graphql")), ids=lambda p: p.stem)
def test_every_frontend_document_is_within_the_default_limits(path: Path) -> None:
    document = parse(path.read_text("utf-8"), **Limits().parse_options())
    assert violations(schema._schema, document, Limits()) == []
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    measurer = Measurer(schema._schema, document, Limits())
    assert all(measurer.operation(o).cost <= Limits().max_cost for o in operations)


@pytest.mark.parametrize(
    ("name", "cost"),
    [
        ("live/DemandeUpdated", 10 + 17),  # `demandeUpdated(id)` takes arguments; 17 fields
        ("live/NotificationsChanged", 1 + 10),  # `notificationsChanged`; 10 fields
    ],
)
def test_a_subscription_costs_what_one_state_asks_for(name: str, cost: int) -> None:
    """A subscription's cost is its selection measured once, as a query's: each state is
    answered under a call budget and a deadline of its own (`resolvers/live.py`, tested over
    both transports in tests/edge/test_subscription_limits.py), so the bound of one answer is
    the bound of each state; how many states come is the watcher's interval's to bound."""
    document = parse(operation(name))
    (subscription,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert Measurer(schema._schema, document, Limits()).operation(subscription).cost == cost


def test_the_shipped_limits_are_the_settings_defaults() -> None:
    """`build_schema()` without settings (the exported schema, tools) enforces what a served
    gateway enforces by default."""
    from gateway.settings import Settings

    assert Limits() == Limits.of(Settings())
    assert Limits.of(Settings(max_cost=7, max_tokens=9)) == Limits(max_cost=7, max_tokens=9)
