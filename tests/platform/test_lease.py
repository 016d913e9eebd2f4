"""Leases against a real redis-server: one holder at a time, kept while renewed, taken over once
it runs out, released by its holder only, and never extended for a holder that was replaced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.platform.lease import Leases, holder_token
from gateway.platform.redis import RedisUnreachable, SharedRedis
from mocks.processes import free_port

KEY = "live:lease:test"


@pytest.fixture
async def two_processes(redis_url: str) -> AsyncIterator[tuple[Leases, Leases]]:
    """Two clients of one Redis, as two gateway processes have; the key free at the start."""
    a, b = SharedRedis.from_url(redis_url), SharedRedis.from_url(redis_url)
    await a.client.delete(KEY)
    try:
        yield Leases(a), Leases(b)
    finally:
        await a.close()
        await b.close()


async def test_one_process_holds_a_lease_the_others_are_refused(
    two_processes: tuple[Leases, Leases],
) -> None:
    a, b = two_processes
    token_a, token_b = holder_token(), holder_token()
    assert (await a.hold(KEY, token_a, ttl_s=5, held=False)).held
    assert not (await b.hold(KEY, token_b, ttl_s=5, held=False)).held
    assert await a.holder(KEY) == token_a
    assert token_a.split(b"/")[1].isdigit()  # host/pid/random: an operator finds the pod


async def test_a_holder_that_renews_keeps_its_lease_past_its_first_ttl(
    two_processes: tuple[Leases, Leases],
) -> None:
    a, b = two_processes
    token_a, token_b = holder_token(), holder_token()
    assert (await a.hold(KEY, token_a, ttl_s=0.3, held=False)).held
    for _ in range(5):  # 1 s: three times the TTL
        await asyncio.sleep(0.2)
        assert (await a.hold(KEY, token_a, ttl_s=0.3, held=True)).held
        assert not (await b.hold(KEY, token_b, ttl_s=0.3, held=False)).held


async def test_the_lease_of_a_holder_that_died_is_taken_once_it_runs_out(
    two_processes: tuple[Leases, Leases],
) -> None:
    a, b = two_processes
    token_a, token_b = holder_token(), holder_token()
    assert (await a.hold(KEY, token_a, ttl_s=0.3, held=False)).held
    refused = await b.hold(KEY, token_b, ttl_s=0.3, held=False)
    assert not refused.held and 0.2 < refused.free_in_s <= 0.3  # b knows when to try again
    await asyncio.sleep(refused.free_in_s + 0.01)  # a renews no more
    assert (await b.hold(KEY, token_b, ttl_s=0.3, held=False)).held
    assert await b.holder(KEY) == token_b


async def test_a_holder_replaced_after_a_pause_does_not_extend_the_new_holders_lease(
    two_processes: tuple[Leases, Leases],
) -> None:
    a, b = two_processes
    token_a, token_b = holder_token(), holder_token()
    assert (await a.hold(KEY, token_a, ttl_s=0.1, held=False)).held
    await asyncio.sleep(0.15)  # a paused past its lease
    assert (await b.hold(KEY, token_b, ttl_s=5, held=False)).held
    assert not (await a.hold(KEY, token_a, ttl_s=5, held=True)).held
    assert await a.holder(KEY) == token_b


async def test_only_the_holder_releases_a_lease_and_the_next_takes_it_at_once(
    two_processes: tuple[Leases, Leases],
) -> None:
    a, b = two_processes
    token_a, token_b = holder_token(), holder_token()
    assert (await a.hold(KEY, token_a, ttl_s=30, held=False)).held
    assert not await b.release(KEY, token_b)  # not b's to let go
    assert await a.holder(KEY) == token_a
    assert await a.release(KEY, token_a)
    assert (await b.hold(KEY, token_b, ttl_s=30, held=False)).held  # no 30 s wait


async def test_without_redis_a_lease_is_neither_held_nor_waited_for() -> None:
    shared = SharedRedis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(RedisUnreachable):
            await asyncio.wait_for(Leases(shared).hold(KEY, holder_token(), 1, held=False), 2)
    finally:
        await shared.close()
