"""The Redis client factory, against tiny servers of the test's own (no redis-server needed): a
Redis that hangs is an error within the bound, and answers come back as the bytes stored."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from redis.exceptions import TimeoutError as RedisTimeout

from gateway.platform.redis import redis_client
from gateway.platform.store import RedisStore, StoreUnavailable

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def server(handler: Handler) -> AsyncIterator[str]:
    """A TCP server on a free local port: its redis:// URL."""
    listening = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        listening.close()


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accepts the connection, reads what comes, never answers (a Redis stuck on a fork)."""
    while await reader.read(4096):
        pass
    writer.close()


async def command(reader: asyncio.StreamReader) -> list[bytes]:
    """One RESP command: `*<n>` then n bulk strings."""
    header = await reader.readline()
    if not header.startswith(b"*"):
        return []
    parts = []
    for _ in range(int(header[1:])):
        size = int((await reader.readline())[1:])
        parts.append((await reader.readexactly(size + 2))[:-2])
    return parts


def storing(records: dict[bytes, bytes], seen: list[bytes]) -> Handler:
    """GET, SET and PING over RESP; anything else (the client's own set-up) is OK. `seen`: the
    commands' names, in order."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while parts := await command(reader):
            name = parts[0].upper()
            seen.append(name)
            if name == b"PING":
                writer.write(b"+PONG\r\n")
            elif name == b"GET":
                value = records.get(parts[1])
                writer.write(
                    b"$-1\r\n" if value is None else b"$%d\r\n%s\r\n" % (len(value), value)
                )
            elif name == b"SET":
                records[parts[1]] = parts[2]
                writer.write(b"+OK\r\n")
            else:
                writer.write(b"+OK\r\n")
            await writer.drain()
        writer.close()

    return serve


async def test_a_hung_redis_is_an_error_within_the_bound_not_a_wait() -> None:
    """Without a socket timeout a command to a stuck Redis waits forever (holding a request)."""
    async with server(silent) as url:
        client = redis_client(url, timeout_s=0.2)
        started = time.monotonic()
        with pytest.raises(RedisTimeout):
            async with asyncio.timeout(5):  # the test's own guard, far above the bound
                await client.get("anything")
        assert time.monotonic() - started < 2
        await client.aclose()


async def test_the_store_reads_back_the_bytes_it_wrote_through_the_client() -> None:
    records: dict[bytes, bytes] = {}
    seen: list[bytes] = []
    async with server(storing(records, seen)) as url:
        client = redis_client(url)
        await client.set("raw", b"\xff\x00 not text")
        assert await client.get("raw") == b"\xff\x00 not text"  # bytes, never decoded
        await client.aclose()
        # a connection is health-checked before use: a restarted Redis fails a PING, not a SET
        assert seen.index(b"PING") < seen.index(b"SET")

        store = RedisStore(url)
        assert await store.put("idem:k", {"state": "DONE", "id": "é"}, ttl=60)
        assert await store.get("idem:k") == {"state": "DONE", "id": "é"}
        await store.close()


async def test_a_hung_redis_fails_a_store_call_as_unavailable() -> None:
    async with server(silent) as url:
        store = RedisStore(url, timeout_s=0.2)
        with pytest.raises(StoreUnavailable):
            await store.get("idem:k")
        await store.close()


async def test_a_frozen_redis_costs_the_rate_limits_one_bound_then_nothing() -> None:
    """Each limit's policy decides at once while the circuit is open: page limits let through,
    credential limits refuse; only the first hit waited for Redis."""
    from gateway.platform.rate_limiter import RateLimits, TooManyRequests
    from gateway.platform.redis import SharedRedis

    async with server(silent) as url:
        shared = SharedRedis.from_url(url, timeout_s=0.2, connect_timeout_s=0.2, circuit_s=30)
        limits = RateLimits.build(shared)
        started = time.monotonic()
        await limits.hit("300/minute", "graphql-client", "C0001002")  # waits the bound: open
        first = time.monotonic() - started
        for _ in range(100):
            await limits.hit("300/minute", "graphql-client", "C0001002")
        with pytest.raises(TooManyRequests):
            await limits.hit("5/15 minutes", "login", "someone", fail_open=False)
        rest = time.monotonic() - started - first
        assert 0.15 < first < 1.0 and rest < 0.1, (first, rest)
        assert shared.circuit.refused == 101 and limits.refusals == 0
        await shared.close()


async def test_after_the_circuit_s_one_call_probes_redis_and_the_others_do_not_wait() -> None:
    from gateway.platform.redis import CircuitOpen, RedisUnreachable, SharedRedis

    async with server(silent) as url:
        shared = SharedRedis.from_url(url, timeout_s=0.2, connect_timeout_s=0.2, circuit_s=0.3)
        with pytest.raises(RedisUnreachable):
            await shared.call(lambda: shared.client.get("k"))
        await asyncio.sleep(0.35)  # the circuit's moment has passed
        started = time.monotonic()
        outcomes = await asyncio.gather(
            *(shared.call(lambda: shared.client.get("k")) for _ in range(20)),
            return_exceptions=True,
        )
        assert time.monotonic() - started < 1.0
        probes = [o for o in outcomes if not isinstance(o, CircuitOpen)]
        assert len(probes) == 1 and isinstance(probes[0], RedisUnreachable)
        await shared.close()
