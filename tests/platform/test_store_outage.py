"""Signed-in pages survive the shared store: a gateway process over real HTTP, behind a real
redis-server that is frozen (SIGSTOP) for 7 s, then killed (SIGKILL) for 7 s, while customers signed
in before keep asking for their home page. Writes that need an idempotency record, and a refresh
token's rotation, refuse fast and typed (`STORE_UNAVAILABLE`) instead.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mocks.processes import free_port
from tests.support.pages import codes, gateway_over_http, pages_for, run, sign_in
from tests.support.redis import needs_redis, redis_server

OUTAGE_S = 7.0


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """A gateway process over real HTTP, its back-ends mock processes, its store a redis-server."""
    with (
        redis_server(tmp_path_factory.mktemp("redis")) as (redis_url, redis),
        gateway_over_http({"GATEWAY_REDIS_URL": redis_url}) as url,
    ):
        yield url, redis


async def write_refused_fast(http: httpx.AsyncClient, token: str) -> float:
    """A démarche needing its idempotency record: refused typed; how long it took."""
    variables = {
        "input": {
            "idempotencyKey": uuid.uuid4().hex,
            "type": "MESSAGE",
            "subject": "Pendant la panne",
            "description": "Un message envoyé pendant que le store est injoignable.",
        }
    }
    started = time.perf_counter()
    body = await run(http, "demarches/CreateDemande", variables, token=token)
    elapsed = time.perf_counter() - started
    assert codes(body) == ["STORE_UNAVAILABLE"], body
    return elapsed


@needs_redis
async def test_signed_in_customers_keep_their_pages_while_redis_is_frozen_then_killed(
    gateway: tuple[str, Any],
) -> None:
    url, redis = gateway
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        sessions = await sign_in(http)
        tokens = [s["accessToken"] for s in sessions]
        before = await pages_for(http, tokens, 3.0)  # warm: the cache and the sessions' memory
        assert before.failed == [], before.failed[:3]

        redis.send_signal(signal.SIGSTOP)
        try:
            frozen_task = asyncio.ensure_future(pages_for(http, tokens, OUTAGE_S))
            await asyncio.sleep(1.0)
            write_frozen = await write_refused_fast(http, tokens[0])
            refresh = await run(
                http, "accounts/RefreshSession", {"refreshToken": sessions[1]["refreshToken"]}
            )
            frozen = await frozen_task
        finally:
            redis.send_signal(signal.SIGCONT)
        assert codes(refresh) == ["STORE_UNAVAILABLE"], refresh  # not rotated, not ended

        await asyncio.sleep(3.0)  # the circuit closes again; the store answers
        after = await pages_for(http, tokens, 2.0)

        redis.send_signal(signal.SIGKILL)
        redis.wait(timeout=10)
        killed_task = asyncio.ensure_future(pages_for(http, tokens, OUTAGE_S))
        await asyncio.sleep(1.0)
        write_killed = await write_refused_fast(http, tokens[0])
        killed = await killed_task
        health = (await http.get("/healthz")).json()

    print(
        f"\nbefore: {before.figures()}\nfrozen {OUTAGE_S:.0f} s: {frozen.figures()}, a write "
        f"refused in {write_frozen * 1000:.0f} ms\nafter: {after.figures()}\n"
        f"killed {OUTAGE_S:.0f} s: {killed.figures()}, a write refused in "
        f"{write_killed * 1000:.0f} ms"
    )
    assert frozen.failed == [] and killed.failed == [], (frozen.failed[:3], killed.failed[:3])
    assert frozen.served > 0 and killed.served > 0 and after.failed == []
    # a frozen store does not slow pages down: no request waits on it past the first bound
    # (300 ms, or the page's own time before the outage on a machine slower than that)
    bound = max(0.3, 1.5 * before.p50)
    assert frozen.p50 < bound and killed.p50 < bound, (frozen.p50, killed.p50, before.p50)
    assert write_frozen < 1.0 and write_killed < 1.0, (write_frozen, write_killed)
    # the sessions were vouched for by the process's memory, the store's circuit is open
    assert health["store"]["answeredFromMemory"] > 0 and health["store"]["circuitOpen"], health


async def test_a_page_asked_while_redis_is_down_waits_no_longer_than_one_bound(
    tmp_path: Path,
) -> None:
    """In process: the store's circuit and the sessions' memory, without any server to stop."""
    from gateway.identity.sessions import Sessions
    from gateway.identity.signing_key import SigningKey
    from gateway.platform.redis import SharedRedis
    from gateway.platform.store import MemoryStore, RedisStore, StoreUnavailable
    from gateway.settings import Settings

    settings = Settings(session_check_s=0.0)  # every check asks the store
    shared = SharedRedis.from_url(f"redis://127.0.0.1:{free_port()}/0", circuit_s=60.0)
    sessions = Sessions(MemoryStore(), SigningKey.from_settings(settings), settings)
    opened = await sessions.open("C0001002", ("C0001002", "C0001003"))
    import jwt

    sid = jwt.decode(opened.access_token, options={"verify_signature": False})["sid"]
    await sessions.check(sid, "C0001002")
    assert await sessions.grouped("C0001002") and await sessions.proven("C0001002")
    sessions.store = RedisStore(shared)  # the store goes away
    started = time.perf_counter()
    for _ in range(50):
        await sessions.check(sid, "C0001002")  # from memory: still alive
        assert await sessions.grouped("C0001002")  # the group is still read from the CRM
        assert await sessions.proven("C0001002")
    assert time.perf_counter() - started < 1.0
    assert not await sessions.proven("C0001003")  # never seen: the group narrows
    assert sessions._seen.stood_in >= 50 and shared.circuit.refused >= 99
    with pytest.raises(StoreUnavailable):  # a session this process never saw is not trusted
        await sessions.check("never-seen", "C0001002")
    with pytest.raises(StoreUnavailable):  # nor can a refresh token be rotated
        await sessions.refresh(opened.refresh_token)
    await shared.close()
