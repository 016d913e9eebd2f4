"""The idempotency records: one claim per key, takeover after an unknown outcome, a failing store
refuses the write."""

from __future__ import annotations

import asyncio

from gateway.platform.store import MemoryStore, RedisStore
from gateway.resolvers.idempotency import Idempotency, exactly_once, external_reference
from gateway.resolvers.problems import Refused
from tests.conftest import admin
from tests.support.demarches import GERALT, demandes_count, key, posts
from tests.support.gateway import Gateway, codes

MESSAGE = {"type": "MESSAGE", "subject": "Question", "description": "Bonjour"}


async def test_a_concurrent_repeat_is_told_to_wait_and_one_demande_is_made(
    gateway: Gateway,
) -> None:
    async with admin(gateway.mocks["crm"]) as control:
        await control.put(
            "/_admin/faults",
            json={"latency_ms": 300, "routes": ["POST /crm/api/clients/{clientId}/demandes"]},
        )
    variables = {"input": {"idempotencyKey": key(), **MESSAGE}}
    before = demandes_count(gateway)
    first, second = await asyncio.gather(
        gateway.run("demarches/CreateDemande", variables, as_=GERALT),
        gateway.run("demarches/CreateDemande", variables, as_=GERALT),
    )
    results = [first["data"]["createDemande"], second["data"]["createDemande"]]
    assert sorted(bool(r["demande"]) for r in results) == [False, True]
    waiting = next(r for r in results if not r["demande"])
    assert [e["code"] for e in waiting["userErrors"]] == ["IN_PROGRESS"]
    assert demandes_count(gateway) == before + 1 and posts(gateway) == 1


async def test_a_failing_store_refuses_the_write(gateway: Gateway) -> None:
    services = gateway.app.state.services
    services.store = RedisStore("redis://127.0.0.1:1/0", timeout_s=0.2)  # nothing listens there
    body = await gateway.run(
        "demarches/CreateDemande", {"input": {"idempotencyKey": key(), **MESSAGE}}, as_=GERALT
    )
    assert codes(body) == ["STORE_UNAVAILABLE"] and posts(gateway) == 0


async def test_the_same_key_of_two_viewers_or_two_mutations_are_distinct() -> None:
    assert external_reference("createDemande", "C0001001", "k" * 8) != external_reference(
        "createDemande", "C0001002", "k" * 8
    )
    assert external_reference("createDemande", "C0001001", "k" * 8) != external_reference(
        "changeDebitDay", "C0001001", "k" * 8
    )
    store = MemoryStore()
    idem = Idempotency(store)
    one = await idem.claim("createDemande", "C0001001", "k" * 8, {"a": 1})
    other = await idem.claim("createDemande", "C0001002", "k" * 8, {"a": 2})
    assert one.replay is None and other.replay is None


async def test_an_unknown_outcome_is_taken_over_once_and_reconciled_first() -> None:
    store = MemoryStore()
    idem = Idempotency(store)
    claim = await idem.claim("m", "v", "key-12345", {"x": 1})
    await claim.unknown()  # the first attempt got no answer
    takeover, loser = await asyncio.gather(
        idem.claim("m", "v", "key-12345", {"x": 1}),
        idem.claim("m", "v", "key-12345", {"x": 1}),
        return_exceptions=True,
    )
    assert isinstance(loser, Refused) and loser.problems[0].code == "IN_PROGRESS"
    assert not isinstance(takeover, BaseException) and takeover.resumed
    performed: list[str] = []

    async def perform() -> str:
        performed.append("write")
        return "new"

    async def reconcile(first_at: float) -> str | None:
        return "found"

    assert await exactly_once(takeover, perform=perform, reconcile=reconcile) == "found"
    assert performed == []
    replay = await idem.claim("m", "v", "key-12345", {"x": 1})
    assert replay.replay == "found"


async def test_keys_of_the_wrong_length_are_refused() -> None:
    idem = Idempotency(MemoryStore())
    for bad in ("short", "x" * 65):
        try:
            await idem.claim("m", "v", bad, {})
        except Refused as refused:
            assert refused.problems[0].field == "idempotencyKey"
        else:
            raise AssertionError(bad)
