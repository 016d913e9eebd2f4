"""Signed-in pages survive the shared store: a gateway process over real HTTP, behind a real
redis-server that is frozen (SIGSTOP) for 7 s, then killed (SIGKILL) for 7 s, while customers signed
in before keep asking for their home page. Writes that need an idempotency record, and a refresh
token's rotation, refuse fast and typed (`STORE_UNAVAILABLE`) instead.
"""

from __future__ import annotations

import asyncio
import signal
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from mocks.processes import free_port, mock_servers, process
from tests.support.accounts import PASSWORDS
from tests.support.gateway import TODAY, operation
from tests.support.redis import needs_redis, redis_server

OUTAGE_S = 7.0
CUSTOMERS = ["geralt.riviere@example.fr", "chris.martin@example.fr", "paul.bertrand@example.fr"]


@dataclass
class Pages:
    served: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("inf")

    def figures(self) -> str:
        return f"{self.served} served, {len(self.failed)} failed, p50 {self.p50 * 1000:.0f} ms"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """A gateway process over real HTTP, its back-ends mock processes, its store a redis-server."""
    with (
        redis_server(tmp_path_factory.mktemp("redis")) as (redis_url, redis),
        mock_servers() as urls,
    ):
        port = free_port()
        env = {
            "POLICY_ADMIN_URL": urls["policy-admin"],
            "CLAIMS_URL": urls["claims"],
            "EDITIQUE_URL": urls["editique"],
            "CRM_URL": urls["crm"],
            "GATEWAY_REDIS_URL": redis_url,
            "GATEWAY_TODAY": TODAY.isoformat(),
            "GATEWAY_ACCESS_LOG": "false",
        }
        url = f"http://127.0.0.1:{port}"
        with process(["-m", "gateway", "serve", "--port", str(port)], [f"{url}/healthz"], env=env):
            yield url, redis


async def run(http: httpx.AsyncClient, name: str, variables: Any = None, token: str = "") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": operation(name), "variables": variables}, headers=headers
    )
    return response.json()


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


async def sign_in(http: httpx.AsyncClient) -> list[dict[str, str]]:
    sessions = []
    for who in CUSTOMERS:
        body = await run(
            http, "accounts/Login", {"input": {"login": who, "password": PASSWORDS[who]}}
        )
        assert body["data"]["login"]["userErrors"] == [], body
        sessions.append(body["data"]["login"]["session"])
    return sessions


async def pages_for(http: httpx.AsyncClient, tokens: list[str], seconds: float) -> Pages:
    """Home pages asked in turn by every signed-in customer, one after the other, `seconds` long."""
    pages = Pages()
    deadline = time.monotonic() + seconds

    async def customer(token: str) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                body = await run(http, "HomePage", token=token)
            except httpx.HTTPError as error:
                pages.failed.append(type(error).__name__)
                continue
            pages.seconds.append(time.perf_counter() - started)
            if "errors" in body or not body.get("data"):
                pages.failed.append(",".join(map(str, codes(body))) or "no data")
            else:
                pages.served += 1

    await asyncio.gather(*(customer(token) for token in tokens))
    return pages


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
    assert await sessions.group("C0001002") == ("C0001002", "C0001003")
    sessions.store = RedisStore(shared)  # the store goes away
    started = time.perf_counter()
    for _ in range(50):
        await sessions.check(sid, "C0001002")  # from memory: still alive
        assert await sessions.group("C0001002") == ("C0001002", "C0001003")
    assert time.perf_counter() - started < 1.0
    assert sessions._seen.stood_in >= 50 and shared.circuit.refused >= 99
    with pytest.raises(StoreUnavailable):  # a session this process never saw is not trusted
        await sessions.check("never-seen", "C0001002")
    with pytest.raises(StoreUnavailable):  # nor can a refresh token be rotated
        await sessions.refresh(opened.refresh_token)
    await shared.close()
