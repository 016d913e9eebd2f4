"""What a client sends never steers a back-end: cursors are the gateway's own, identifiers have
their documented format before they reach a URL, and a request's back-end calls are bounded."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import pytest

from gateway.schema.ids import to_global
from mocks import MockSystem
from tests.support.gateway import PERSONAS, Gateway, codes, cursors_signed_with, serve

PAGE = """query Page($after: String) { viewer { reglements(first: 20, after: $after) {
  totalCount pageInfo { endCursor hasNextPage } edges { node { id } } } } }"""


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


async def test_a_forged_cursor_is_refused_before_any_backend_call(gateway: Gateway) -> None:
    first = await gateway.run(PAGE, as_=PERSONAS["geralt"])
    genuine = first["data"]["viewer"]["reglements"]["pageInfo"]["endCursor"]
    raw = base64.urlsafe_b64decode(genuine + "=" * (-len(genuine) % 4))
    altered = base64.urlsafe_b64encode(raw.replace(b"19.", b"99.", 1)).decode()
    for forged in (b64("offset:10000"), b64("offset:1000000"), altered, "💥", ""):
        await gateway.clear_calls()
        body = await gateway.run(PAGE, {"after": forged}, as_=PERSONAS["geralt"])
        assert body["data"]["viewer"]["reglements"] is None, forged
        assert codes(body) == ["BAD_USER_INPUT"] and gateway.calls()["claims"] == 0


async def test_the_page_after_the_last_is_empty_and_asks_no_backend(gateway: Gateway) -> None:
    after, pages = None, 0
    while True:  # walk Geralt's règlements (health and benefit lists merged) to the end
        body = await gateway.run(PAGE, {"after": after}, as_=PERSONAS["geralt"])
        found = body["data"]["viewer"]["reglements"]
        pages += 1
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    assert pages > 1 and found["edges"]
    await gateway.clear_calls()
    past = await gateway.run(
        PAGE, {"after": found["pageInfo"]["endCursor"]}, as_=PERSONAS["geralt"]
    )
    page = past["data"]["viewer"]["reglements"]
    assert page["edges"] == [] and page["totalCount"] == found["totalCount"]
    assert page["pageInfo"]["hasNextPage"] is False and gateway.calls()["claims"] == 0


FORGED_KEYS = [
    ("Dossier", "../dossiers?numContrat=80785436"),
    ("Dossier", "185501146\x00"),
    ("Dossier", "185501146/../../reglements"),
    ("Reglement", "AVTC0046211800749\r\nX-Injected: 1"),
    ("Reglement", "../reglements?numContrat=80785436"),
    ("Reglement", "RMB20200124000173@A7781002\x07"),
    ("Reglement", "RMB20200124000173@../A7781002"),
    ("Contract", "80785436\x1b[31m"),
    ("Contract", "../contrats/80785436"),
    ("Document", "DOC20231020000311@EDQ-1001</ed:idPersonne>"),
    ("Demande", "D-2023-000184/../../clients"),
    ("Person", "C0001001/../C0001002"),
    ("Person", "C0001001\n"),
]


@pytest.mark.parametrize("role", ["customer", "staff"])
async def test_forged_identifiers_are_not_found_and_reach_no_backend(
    gateway: Gateway, role: str
) -> None:
    await gateway.run("HomePage", as_=PERSONAS["paul"])  # the viewer's own record is cached
    for kind, key in FORGED_KEYS:
        for mock in gateway.mocks.values():
            mock.log.clear()
        body = await gateway.run(
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": to_global(kind, key)},
            as_=PERSONAS["paul"] if role == "customer" else "S0000001",
            role=role,
        )
        assert body["data"]["node"] is None and codes(body) == ["NOT_FOUND"], (kind, key, body)
        assert gateway.calls()["claims"] + gateway.calls()["policy-admin"] == 0, (kind, key)
        assert gateway.calls()["editique"] == 0 and gateway.calls()["crm"] == 0, (kind, key)


async def test_a_token_subject_that_is_not_a_client_id_calls_no_backend(gateway: Gateway) -> None:
    for subject in ("../interlocuteurs/I0042", "C0001001?x=1", "C0001001\r\n"):
        await gateway.clear_calls()
        body = await gateway.run("HomePage", as_=subject)
        assert codes(body) == ["UNAUTHENTICATED"] and sum(gateway.calls().values()) == 0


def aliases(count: int) -> str:
    fields = " ".join(
        f'r{i}: reglement(id: "{to_global("Reglement", f"AVTC{i:013d}")}") {{ id }}'
        for i in range(count)
    )
    return "{ " + fields + " }"


async def test_a_runaway_request_ends_at_its_backend_call_budget(
    mocks: dict[str, MockSystem],
) -> None:
    """Defence in depth: with the operation limits lifted, the call budget still ends it."""
    lifted = {"max_tokens": 10**6, "max_aliases": 10**4, "max_root_fields": 10**4}
    async with serve(mocks, **lifted, max_fields=10**5, max_cost=10**9) as gateway:
        await runaway(gateway)


async def runaway(gateway: Gateway) -> None:
    gateway.app.state.services.settings.request_deadline_s = 30  # the budget ends it, not time
    await gateway.run("Profile", as_=PERSONAS["paul"])
    await gateway.clear_calls()
    started = time.perf_counter()
    body = await gateway.run(aliases(300), as_=PERSONAS["paul"])
    elapsed = time.perf_counter() - started
    found = codes(body)
    assert "TOO_MANY_BACKEND_CALLS" in found and set(found) <= {
        "TOO_MANY_BACKEND_CALLS",
        "NOT_FOUND",
    }
    assert gateway.calls()["claims"] <= 60 and elapsed < 10, (gateway.calls(), elapsed)
    states = await gateway.app.state.services.backends.breakers.states()
    assert states["claims"]["state"] == "closed" and states["claims"]["failures"] == 0
    assert "errors" not in await gateway.run("HomePage", as_=PERSONAS["geralt"])


async def test_the_call_budget_is_a_setting(gateway: Gateway) -> None:
    gateway.app.state.services.settings.max_backend_calls = 3
    body = await gateway.run(aliases(10), as_=PERSONAS["paul"])
    assert codes(body).count("TOO_MANY_BACKEND_CALLS") >= 6


async def test_one_customer_forging_cursors_cannot_open_the_claims_breaker(
    gateway: Gateway,
) -> None:
    """The breaker attack of issue 11: one customer sends forged cursors every 200 ms while the
    others browse; every other page stays complete and the claims breaker stays closed."""
    stop = time.perf_counter() + 3.0
    forged = [b64("offset:10000"), b64("offset:1000000"), b64("offset:2000")]

    async def attacker() -> int:
        sent = 0
        while time.perf_counter() < stop:
            await gateway.run(PAGE, {"after": forged[sent % 3]}, as_=PERSONAS["geralt"])
            sent += 1
            await asyncio.sleep(0.2)
        return sent

    async def customer(persona: str) -> list[dict[str, Any]]:
        bodies = []
        while time.perf_counter() < stop:
            bodies.append(await gateway.run("HomePage", as_=PERSONAS[persona]))
            await asyncio.sleep(0.05)
        return bodies

    started = time.perf_counter()
    sent, *served = await asyncio.gather(
        attacker(), customer("paul"), customer("brico"), customer("chris")
    )
    assert time.perf_counter() - started < 6.0
    pages = [body for bodies in served for body in bodies]
    assert sent >= 3 and len(pages) >= 6  # a busy machine serves fewer; none may fail
    incomplete = [b for b in pages if "errors" in b]
    assert incomplete == [], incomplete[:1]
    states = await gateway.app.state.services.backends.breakers.states()
    assert states["claims"]["state"] == "closed" and states["claims"]["failures"] == 0


def test_a_cursor_is_accepted_by_every_gateway_process_sharing_the_secret() -> None:
    from gateway.errors import BadInput
    from gateway.schema.ids import cursor, position

    def issued_by(secret: str) -> str:
        with cursors_signed_with(secret):
            return cursor(5, 10)

    def read_by(secret: str, value: str) -> tuple[int, int]:
        with cursors_signed_with(secret):
            return tuple(position(value))  # type: ignore[return-value]

    shared = "s" * 32
    assert read_by(shared, issued_by(shared)) == (5, 10)
    with pytest.raises(BadInput):
        read_by("another-secret-of-32-bytes-000000", issued_by(shared))
