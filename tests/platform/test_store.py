"""The shared store and the rate limits: the same behaviour in memory and in a real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.platform.rate_limiter import RateLimits, TooManyRequests
from gateway.platform.store import MemoryStore, RedisStore, Store, StoreUnavailable
from tests.support.redis import needs_redis


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    built: Store = (
        MemoryStore()
        if request.param == "memory"
        else RedisStore(request.getfixturevalue("redis_url"))
    )
    yield built
    await built.close()


async def test_a_key_is_claimed_once_even_by_concurrent_callers(store: Store) -> None:
    claims = await asyncio.gather(
        *(store.put("claim:k1", {"by": n}, ttl=5, only_if_absent=True) for n in range(20))
    )
    assert claims.count(True) == 1
    winner = claims.index(True)
    assert await store.get("claim:k1") == {"by": winner}


async def test_a_record_lives_its_ttl_then_is_gone(store: Store) -> None:
    await store.put("ttl:k", {"v": 1}, ttl=0.2)
    assert await store.get("ttl:k") == {"v": 1}
    await asyncio.sleep(0.3)
    assert await store.get("ttl:k") is None
    assert await store.put("ttl:k", {"v": 2}, ttl=5, only_if_absent=True)


async def test_delete_frees_the_key(store: Store) -> None:
    await store.put("del:k", {"v": 1}, ttl=5)
    await store.delete("del:k")
    assert await store.get("del:k") is None


async def test_the_memory_store_is_bounded() -> None:
    store = MemoryStore(max_entries=3)
    for n in range(5):
        await store.put(f"k{n}", {"n": n}, ttl=60)
    assert [await store.get(f"k{n}") for n in range(5)] == [
        None,
        None,
        {"n": 2},
        {"n": 3},
        {"n": 4},
    ]


async def test_an_unreachable_redis_is_an_error_not_a_miss() -> None:
    from mocks.processes import free_port

    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.2)
    with pytest.raises(StoreUnavailable):
        await store.get("anything")
    with pytest.raises(StoreUnavailable):
        await store.put("anything", {"v": 1}, ttl=5, only_if_absent=True)
    await store.close()


@pytest.fixture(params=["memory", "redis"])
async def limits(request: pytest.FixtureRequest) -> AsyncIterator[RateLimits]:
    url = None if request.param == "memory" else request.getfixturevalue("redis_url")
    built = RateLimits.build(url)
    await built.reset()
    yield built


async def test_a_limit_refuses_past_its_count_with_a_retry_after(limits: RateLimits) -> None:
    for _ in range(3):
        await limits.hit("3/minute", "login", "someone@example.org")
    with pytest.raises(TooManyRequests) as refused:
        await limits.hit("3/minute", "login", "someone@example.org")
    assert refused.value.extensions["code"] == "RATE_LIMITED"
    assert 1 <= refused.value.extensions["retryAfter"] <= 60
    await limits.hit("3/minute", "login", "someone-else@example.org")  # counted apart
    assert limits.refusals == 1


@needs_redis
async def test_two_processes_share_a_limit_through_redis(redis_url: str) -> None:
    first, second = RateLimits.build(redis_url), RateLimits.build(redis_url)
    await first.reset()
    await first.hit("2/minute", "ip", "203.0.113.9")
    await second.hit("2/minute", "ip", "203.0.113.9")
    with pytest.raises(TooManyRequests):
        await first.hit("2/minute", "ip", "203.0.113.9")


async def test_unreachable_counters_fail_open_or_closed_as_asked() -> None:
    from mocks.processes import free_port

    limits = RateLimits.build(f"redis://127.0.0.1:{free_port()}/0")
    await limits.hit("1/minute", "ip", "x")  # general traffic: let through
    await limits.hit("1/minute", "ip", "x")
    with pytest.raises(TooManyRequests):
        await limits.hit("1/minute", "login", "x", fail_open=False)


async def test_the_memory_of_last_good_answers_is_bounded_and_forgets_old_answers() -> None:
    """What stands in for an unreachable store: the least recently used go first, and an answer
    older than `keep_s` is not used (the store's outage is then an error again)."""
    from gateway.platform.store import LastGood

    async def down() -> str:
        raise StoreUnavailable()

    async def answer(value: str) -> str:
        return value

    memory: LastGood[str] = LastGood(fresh_s=0.0, keep_s=0.2, max_entries=2)
    assert await memory.ask("a", lambda: answer("A")) == "A"
    assert await memory.ask("b", lambda: answer("B")) == "B"
    assert await memory.ask("a", down) == "A"  # read: "a" is now the most recently used
    assert await memory.ask("c", lambda: answer("C")) == "C"  # full: "b" goes
    assert len(memory) == 2 and memory.stood_in == 1
    with pytest.raises(StoreUnavailable):
        await memory.ask("b", down)
    await asyncio.sleep(0.25)
    with pytest.raises(StoreUnavailable):  # remembered too long ago
        await memory.ask("a", down)
