"""Fail-over behind Sentinel, under load: a gateway process whose store is the primary a sentinel
names; the primary is killed while signed-in customers keep asking for pages, the sentinel promotes
the replica, and what the replica had survives: sessions (their refresh tokens still rotate) and
idempotency records (a démarche sent again answers the one made before, no second one)."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.pages import Pages, codes, gateway_over_http, pages_for, run, sign_in
from tests.support.redis import SERVICE, SentinelSetup, needs_redis, redis_cli, sentinel_setup

pytestmark = needs_redis


@pytest.fixture(scope="module")
def behind_sentinel(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, SentinelSetup]]:
    with sentinel_setup(tmp_path_factory.mktemp("sentinel")) as setup:
        env = {
            "GATEWAY_REDIS_URL": "redis:///0",  # the primary is the sentinel's to name
            "GATEWAY_REDIS_SENTINELS": f"127.0.0.1:{setup.sentinel_port}",
            "GATEWAY_REDIS_SENTINEL_SERVICE": SERVICE,
            # pages as fast as the machine allows, from one IP: this test is about the fail-over
            "GATEWAY_RATE_LIMIT_IP": "100000/minute",
            "GATEWAY_RATE_LIMIT_CLIENT": "100000/minute",
        }
        with gateway_over_http(env) as url:
            yield url, setup


async def create_demande(http: httpx.AsyncClient, token: str, key: str) -> dict[str, Any]:
    variables = {
        "input": {
            "idempotencyKey": key,
            "type": "MESSAGE",
            "subject": "Avant la bascule",
            "description": "Un message envoyé avant que le primaire ne tombe.",
        }
    }
    body: dict[str, Any] = await run(http, "demarches/CreateDemande", variables, token=token)
    return body


async def test_pages_sessions_and_idempotency_records_survive_a_sentinel_fail_over(
    behind_sentinel: tuple[str, SentinelSetup],
) -> None:
    url, setup = behind_sentinel
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        sessions = await sign_in(http)
        tokens = [s["accessToken"] for s in sessions]
        keys = [uuid.uuid4().hex for _ in range(5)]
        demandes = {}
        for n, key in enumerate(keys):
            made = await create_demande(http, tokens[n % len(tokens)], key)
            assert made["data"]["createDemande"]["userErrors"] == [], made
            demandes[key] = made["data"]["createDemande"]["demande"]["id"]
        # the replica has what the primary wrote (one replica acknowledged it)
        assert redis_cli(setup.primary_port, "wait", "1", "2000") == "1"
        before = await pages_for(http, tokens, 2.0)
        assert before.failed == [], before.failed[:3]

        load = asyncio.ensure_future(pages_for(http, tokens, 12.0))
        await asyncio.sleep(1.0)
        killed_at = time.monotonic()
        setup.primary.send_signal(signal.SIGKILL)
        setup.primary.wait(timeout=10)
        while setup.current_primary_port() != setup.replica_port:
            assert time.monotonic() - killed_at < 30, "the sentinel did not promote the replica"
            await asyncio.sleep(0.1)
        promoted_s = time.monotonic() - killed_at
        during: Pages = await load
        await asyncio.sleep(2.5)  # the store's circuit closes again after a failure

        again = {  # the same keys, after the fail-over
            key: await create_demande(http, tokens[n % len(tokens)], key)
            for n, key in enumerate(keys)
        }
        refreshed = [
            await run(http, "accounts/RefreshSession", {"refreshToken": s["refreshToken"]})
            for s in sessions
        ]
        after = await pages_for(http, tokens, 2.0)
    kept = [
        key
        for key, body in again.items()
        if "errors" not in body and body["data"]["createDemande"]["demande"]["id"] == demandes[key]
    ]
    rotated = [
        body
        for body in refreshed
        if "errors" not in body and body["data"]["refreshSession"]["session"]
    ]

    print(
        f"\nfail-over: replica promoted {promoted_s:.1f} s after the primary was killed; "
        f"during 12 s of pages: {during.figures()}; after: {after.figures()}; idempotency "
        f"records kept {len(kept)}/{len(keys)}, sessions refreshed {len(rotated)}/{len(sessions)}"
    )
    assert kept == keys, [codes(body) for body in again.values()]  # no second démarche
    assert len(rotated) == len(sessions), refreshed
    assert during.failed == [], during.failed[:5]
    assert during.served > 0 and after.failed == [] and after.served > 0
    assert "role:master" in redis_cli(setup.replica_port, "info", "replication")


def test_the_primary_is_found_through_the_sentinel_not_the_url(
    behind_sentinel: tuple[str, SentinelSetup],
) -> None:
    """The URL names no server: without the sentinel's answer, nothing would be reached."""
    url, _ = behind_sentinel
    health = httpx.get(f"{url}/readyz", timeout=10).json()
    assert health["checks"]["redis"] == "ok", health
