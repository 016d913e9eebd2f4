"""Loads started ahead (`resolvers/loaders.py` `Plans`): a query seen before for the same customer
and variables starts its reads alongside the customer record, so the page waits for one round trip
of the back-ends instead of two; a plan the fresh record contradicts wastes a read, never shows
it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.observability import metrics
from mocks import MockSystem
from tests.conftest import faults
from tests.support.gateway import PERSONAS, Gateway, serve

LATENCY_MS = 150


def loads_ahead(outcome: str) -> float:
    return float(metrics.child("loads_ahead", outcome)._value.get())


def page_without_links(body: dict[str, Any]) -> str:
    return str(body).split("downloadUrl")[0]  # signed links carry their own expiry


@pytest.fixture
async def uncached(mocks: dict[str, MockSystem]) -> AsyncIterator[Gateway]:
    async with serve(mocks, cache=False) as gateway:
        yield gateway


async def timed_home(gateway: Gateway, persona: str) -> tuple[dict[str, Any], float, int]:
    await gateway.clear_calls()
    started = time.perf_counter()
    body = await gateway.run("HomePage", as_=persona)
    return body, time.perf_counter() - started, sum(gateway.calls().values())


async def test_a_page_seen_before_waits_for_one_round_trip_with_the_same_calls(
    uncached: Gateway,
) -> None:
    for system in uncached.mocks:
        await faults(uncached, system, latency_ms=LATENCY_MS)
    used = loads_ahead("used")
    first, first_s, first_calls = await timed_home(uncached, PERSONAS["paul"])
    second, second_s, second_calls = await timed_home(uncached, PERSONAS["paul"])
    print(f"first {first_s * 1000:.0f} ms, second {second_s * 1000:.0f} ms")
    assert "errors" not in first and page_without_links(first) == page_without_links(second)
    assert first_calls == second_calls == 6
    assert loads_ahead("used") - used == 5  # everything but the customer record itself
    assert first_s >= 2 * LATENCY_MS / 1000  # CRM record, then the rest
    assert second_s < 1.8 * LATENCY_MS / 1000  # all six at once


async def test_other_variables_or_another_customer_follow_no_plan(uncached: Gateway) -> None:
    await uncached.run("HomePage", as_=PERSONAS["paul"])
    wasted, used = loads_ahead("wasted"), loads_ahead("used")
    _, _, calls = await timed_home(uncached, PERSONAS["chris"])
    demandes = "query Demandes($first: Int) { viewer { demandes(first: $first) { totalCount } } }"
    await uncached.run(demandes, {"first": 1}, as_=PERSONAS["paul"])
    await uncached.clear_calls()
    await uncached.run(demandes, {"first": 2}, as_=PERSONAS["paul"])
    assert sum(uncached.calls().values()) == 2  # the CRM record and its demandes, nothing ahead
    assert (loads_ahead("wasted"), loads_ahead("used")) == (wasted, used)
    assert calls == 6


async def test_a_customer_record_that_changed_wastes_the_read_and_shows_only_its_own_data(
    uncached: Gateway,
) -> None:
    """Paul's record now points to Chris's policy-admin person: the contracts read ahead for
    Paul's old person are not shown (they are cancelled or dropped), the fresh ones are; the plan
    is forgotten, so the next page reads in two round trips again and records a new one."""
    crm = uncached.mocks["crm"].clients  # type: ignore[attr-defined]
    paul, chris = crm[PERSONAS["paul"]], crm[PERSONAS["chris"]]
    await uncached.run("HomePage", as_=PERSONAS["paul"])
    wasted = loads_ahead("wasted")
    paul["identifiants"]["policyAdmin"] = chris["identifiants"]["policyAdmin"]
    moved = await uncached.run("HomePage", as_=PERSONAS["paul"])
    chris_page = await uncached.run("HomePage", as_=PERSONAS["chris"])
    numbers = lambda body: [c["number"] for c in body["data"]["viewer"]["contracts"]]  # noqa: E731
    assert "errors" not in moved and numbers(moved) == numbers(chris_page) != []
    assert loads_ahead("wasted") - wasted == 1
    await uncached.clear_calls()
    await uncached.run("HomePage", as_=PERSONAS["paul"])  # no plan: nothing ahead, all read
    assert sum(uncached.calls().values()) == 6


async def test_mutations_are_not_planned(uncached: Gateway) -> None:
    mutation = (
        "mutation Prefs($input: PreferencesInput!) { updatePreferences(input: $input) "
        "{ person { contracts { number } } userErrors { code } } }"
    )
    consents = {"groupOffers": True, "targetedCommunication": False, "satisfactionSurveys": True}
    variables = {"input": {"paperless": True, "consents": consents}}
    used, wasted = loads_ahead("used"), loads_ahead("wasted")
    for _ in range(2):
        body = await uncached.run(mutation, variables, as_=PERSONAS["paul"])
        assert body["data"]["updatePreferences"]["person"]["contracts"], body
    assert (loads_ahead("used"), loads_ahead("wasted")) == (used, wasted)


async def test_the_setting_turns_plans_off(mocks: dict[str, MockSystem]) -> None:
    async with serve(mocks, cache=False, loads_ahead=False) as gateway:
        used = loads_ahead("used")
        for _ in range(2):
            body, _, calls = await timed_home(gateway, PERSONAS["paul"])
            assert "errors" not in body and calls == 6
        assert loads_ahead("used") == used


async def test_the_operation_is_told_by_the_parser_not_by_the_text(uncached: Gateway) -> None:
    """A document that opens with a fragment is a query all the same; in a document holding a
    query and a mutation, the mutation run is not planned."""
    fragment_first = (
        "fragment Numbers on Person { contracts { number } demandes { totalCount } }\n"
        "query Mine { viewer { ...Numbers } }"
    )
    used = loads_ahead("used")
    for _ in range(2):
        assert "errors" not in await uncached.run(fragment_first, as_=PERSONAS["paul"])
    assert loads_ahead("used") - used == 2
    both = (
        "query Mine { viewer { contracts { number } } }\n"
        "mutation Prefs($input: PreferencesInput!) { updatePreferences(input: $input) "
        "{ person { contracts { number } } userErrors { code } } }"
    )
    consents = {"groupOffers": True, "targetedCommunication": False, "satisfactionSurveys": True}
    variables = {"input": {"paperless": True, "consents": consents}}
    used, wasted = loads_ahead("used"), loads_ahead("wasted")
    for _ in range(2):
        response = await uncached.http.post(
            "/graphql",
            json={"query": both, "variables": variables, "operationName": "Prefs"},
            headers={"Authorization": f"Bearer {uncached.token(PERSONAS['paul'])}"},
        )
        assert response.json()["data"]["updatePreferences"]["person"]["contracts"]
    assert (loads_ahead("used"), loads_ahead("wasted")) == (used, wasted)
