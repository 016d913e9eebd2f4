"""Watchers shared through a real redis-server: two `Watchers` with a client each stand for two
gateway processes. One of them reads a key per interval and both hand each snapshot to their
subscribers; the lease passes when its holder stops; without Redis, or without a holder they can
understand, each reads by itself."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from gateway.platform.redis import SharedRedis
from gateway.platform.watchers import LEASE_INTERVALS, Codec, TooManySubscriptions, Watchers
from mocks.processes import free_port

INTERVAL_S = 0.2
TEXT = Codec[str](str.encode, bytes.decode)


class Source:
    """A back-end: each read returns the next state and is counted."""

    def __init__(self) -> None:
        self.reads = 0
        self.counter = itertools.count()

    async def read(self) -> str:
        self.reads += 1
        return f"state {next(self.counter)}"


@pytest.fixture
async def shared(redis_url: str) -> AsyncIterator[Callable[[], SharedRedis]]:
    """One client per "process", flushed first, closed after."""
    opened: list[SharedRedis] = []

    def client() -> SharedRedis:
        opened.append(SharedRedis.from_url(redis_url, timeout_s=1.0))
        return opened[-1]

    await client().client.flushdb()
    yield client
    for each in opened:
        await each.close()


async def next_of(queue: asyncio.Queue[str], within_s: float = 2.0) -> str:
    return await asyncio.wait_for(queue.get(), within_s)


async def test_two_processes_watching_one_customer_read_it_once_an_interval(
    shared: Callable[[], SharedRedis],
) -> None:
    a = Watchers[str](INTERVAL_S, redis=shared(), codec=TEXT)
    b = Watchers[str](INTERVAL_S, redis=shared(), codec=TEXT)
    source = Source()
    try:
        async with a.subscribe("C-1", source.read) as on_a:
            await next_of(on_a)  # a holds the lease, read at once
            async with b.subscribe("C-1", source.read) as on_b:
                first_on_b = await next_of(on_b)  # the last snapshot, from Redis, not a read
                reads_before = source.reads
                await asyncio.sleep(10 * INTERVAL_S)
                seen_a = [on_a.get_nowait()]
                seen_b = [on_b.get_nowait()]
                assert 8 <= source.reads - reads_before <= 12  # one read an interval, not two
                assert seen_a == seen_b == [f"state {source.reads - 1}"]
                assert first_on_b.startswith("state ")
                assert (a.watches["C-1"].role, b.watches["C-1"].role) == ("holder", "follower")
                assert b.watches["C-1"].reads == 0
    finally:
        await a.close()
        await b.close()


async def test_a_holder_whose_last_subscriber_leaves_hands_over_within_one_interval(
    shared: Callable[[], SharedRedis],
) -> None:
    a = Watchers[str](INTERVAL_S, redis=shared(), codec=TEXT)
    b = Watchers[str](INTERVAL_S, redis=shared(), codec=TEXT)
    source = Source()
    try:
        holding = a.subscribe("C-2", source.read)
        await next_of(await holding.__aenter__())  # a holds the lease
        async with b.subscribe("C-2", source.read) as on_b:
            await asyncio.sleep(3 * INTERVAL_S)
            await holding.__aexit__(None, None, None)  # a's last screen closes
            holder_gone = asyncio.get_running_loop().time()
            while not on_b.empty():
                on_b.get_nowait()  # what a published
            assert b.watches["C-2"].reads == 0
            await next_of(on_b)  # b's own read, once it holds the lease
            taken_after = asyncio.get_running_loop().time() - holder_gone
            assert (b.watches["C-2"].role, b.watches["C-2"].reads) == ("holder", 1)
        assert b.watches == {} and a.watches == {}
    finally:
        await a.close()
        await b.close()
    assert taken_after < 1.5 * INTERVAL_S  # released: taken at b's next tick, not at expiry


async def test_a_holder_cut_off_from_redis_loses_the_lease_to_a_follower_within_its_ttl(
    shared: Callable[[], SharedRedis], redis_url: str
) -> None:
    cut_off = SharedRedis.from_url(redis_url, timeout_s=1.0, circuit_s=60)
    a = Watchers[str](INTERVAL_S, redis=cut_off, codec=TEXT)
    b = Watchers[str](INTERVAL_S, redis=shared(), codec=TEXT)
    source = Source()
    try:
        async with a.subscribe("C-6", source.read) as on_a:
            await next_of(on_a)
            async with b.subscribe("C-6", source.read) as on_b:
                await asyncio.sleep(2 * INTERVAL_S)
                assert (a.watches["C-6"].role, b.watches["C-6"].role) == ("holder", "follower")
                cut_off.circuit.failed()  # a cannot renew, nor release, nor publish
                loop = asyncio.get_running_loop()
                cut_at = loop.time()
                while not on_b.empty():
                    on_b.get_nowait()
                await next_of(on_b)  # b's own read
                taken_after = loop.time() - cut_at
                assert b.watches["C-6"].role == "holder"
                assert a.watches["C-6"].role == "alone"  # still reading for its own subscriber
                assert (await next_of(on_a)).startswith("state ")
    finally:
        await a.close()
        await b.close()
        await cut_off.close()
    assert taken_after < (LEASE_INTERVALS + 0.5) * INTERVAL_S  # the lease's TTL, and a read


async def test_each_process_reads_by_itself_when_redis_is_unreachable() -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    a = Watchers[str](INTERVAL_S, redis=SharedRedis.from_url(nowhere), codec=TEXT)
    source = Source()
    try:
        async with a.subscribe("C-3", source.read) as on_a:
            assert (await next_of(on_a)).startswith("state ")
            assert (await next_of(on_a)).startswith("state ")
            assert a.watches["C-3"].role == "alone"
    finally:
        await a.close()
        assert a.redis is not None
        await a.redis.close()


async def test_a_process_that_cannot_decode_the_holders_snapshots_reads_by_itself(
    shared: Callable[[], SharedRedis],
) -> None:
    def refuse(data: bytes) -> str:
        raise ValueError("another version's snapshot")

    a = Watchers[str](INTERVAL_S, redis=shared(), codec=TEXT)
    b = Watchers[str](INTERVAL_S, redis=shared(), codec=Codec(str.encode, refuse))
    holder, other = Source(), Source()
    try:
        async with a.subscribe("C-4", holder.read) as on_a:
            await next_of(on_a)  # a holds the lease
            async with b.subscribe("C-4", other.read) as on_b:
                await asyncio.sleep(5 * INTERVAL_S)
                assert b.watches["C-4"].role == "alone"
                assert other.reads >= 3 and on_b.get_nowait().startswith("state ")
    finally:
        await a.close()
        await b.close()


async def test_past_the_bound_of_one_customer_a_subscription_is_refused_typed() -> None:
    watchers = Watchers[str](INTERVAL_S, per_key=1)
    never: Callable[[], Awaitable[str]] = Source().read
    try:
        async with watchers.subscribe("C-5", never):
            with pytest.raises(TooManySubscriptions) as refused:
                async with watchers.subscribe("C-5", never):
                    pass
    finally:
        await watchers.close()
    assert refused.value.extensions["code"] == "TOO_MANY_SUBSCRIPTIONS"


async def test_past_the_reads_a_process_may_run_at_once_reads_wait_and_each_watcher_is_served() -> (
    None
):
    watchers = Watchers[str](INTERVAL_S, max_reads=2)
    running, most = 0, 0

    async def slow_read() -> str:  # a back-end answering in half an interval
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(INTERVAL_S / 2)
        running -= 1
        return "state"

    try:
        async with contextlib.AsyncExitStack() as stack:
            queues = [
                await stack.enter_async_context(watchers.subscribe(f"C-{n}", slow_read))
                for n in range(6)
            ]
            firsts = await asyncio.gather(*(next_of(queue) for queue in queues))
    finally:
        await watchers.close()
    assert firsts == ["state"] * 6
    assert most == 2
