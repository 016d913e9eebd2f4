"""Two gateway processes behind one real redis-server, their back-ends the mock processes: a
customer followed on both costs the CRM one watcher's reads, a demande moved by the back office
reaches the subscribers of both within an interval, and when the pod reading for the customer
dies the other takes over within the lease's time."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gateway.platform.redis import redis_client
from mocks.processes import free_port, mock_servers, pointing_at, process
from tests.support.gateway import PERSONAS, TODAY
from tests.support.subscriptions import TransportWs, move, sse_events, token

INTERVAL_S = 0.5
LOADED_S = 2.0  # a change's way on a CI machine running four test workers on two cores
LEASE_S = 1.5 * INTERVAL_S  # LEASE_INTERVALS intervals (platform/watchers.py)
CHRIS = PERSONAS["chris"]
LEASE_KEY = f"live:lease:{CHRIS}"


@dataclass
class Pods:
    """The two gateways, their mocks and their Redis."""

    urls: list[str]
    processes: list[subprocess.Popen[bytes]]
    mocks: dict[str, str]
    env: dict[str, str]
    redis_url: str

    async def lease_holder(self) -> int | None:
        """The pid of the gateway holding the customer's lease (its token: host/pid/random)."""
        client = redis_client(self.redis_url, timeout_s=2)
        try:
            found = await client.get(LEASE_KEY)
        finally:
            await client.aclose()
        return int(found.split(b"/")[1]) if found else None

    def ws_url(self, pod: int) -> str:
        return self.urls[pod].replace("http://", "ws://") + "/graphql"

    def index_of(self, pid: int | None) -> int:
        return [p.pid for p in self.processes].index(pid)


@pytest.fixture
def pods(redis_url: str) -> Iterator[Pods]:
    with mock_servers() as mocks, ExitStack() as stack:
        env = {
            **pointing_at(mocks),
            "GATEWAY_REDIS_URL": redis_url,
            "GATEWAY_REDIS_TIMEOUT_S": "1",  # sharing is tested here, not the 250 ms bound
            "GATEWAY_TODAY": TODAY.isoformat(),
            "GATEWAY_LIVE_INTERVAL_S": str(INTERVAL_S),
        }
        urls, started = [], []
        for _ in range(2):
            port = free_port()
            urls.append(f"http://127.0.0.1:{port}")
            started.append(
                stack.enter_context(
                    process(
                        ["-m", "gateway", "serve", "--port", str(port)],
                        [urls[-1] + "/healthz"],
                        env=env,
                    )
                )
            )
        yield Pods(urls, started, mocks, env, redis_url)


async def crm_calls(http: httpx.AsyncClient, pods: Pods) -> list[dict[str, Any]]:
    """The CRM mock's reads of the customer's demandes, in order."""
    log = (await http.get(pods.mocks["crm"] + "/_admin/calls")).json()
    return [
        call
        for call in log["calls"]
        if call["method"] == "GET" and call["path"].endswith(f"/clients/{CHRIS}/demandes")
    ]


async def test_a_customer_followed_on_two_pods_costs_one_read_an_interval_and_sees_moves_on_both(
    pods: Pods,
) -> None:
    bearer = token(CHRIS, pods.env)
    async with httpx.AsyncClient(timeout=10) as http:
        mobile = await TransportWs.open(pods.ws_url(0), bearer)
        await mobile.subscribe("live/DemandeUpdated")
        web_events: list[tuple[str, dict[str, Any] | None]] = []
        web_got_next = asyncio.Event()

        async def web() -> None:
            async with httpx.AsyncClient(base_url=pods.urls[1], timeout=30) as pod_b:
                async for event in sse_events(pod_b, "live/DemandeUpdated", bearer, {}):
                    web_events.append(event)
                    if event[0] == "next":
                        web_got_next.set()

        following = asyncio.create_task(web())
        try:
            await asyncio.sleep(3 * INTERVAL_S)  # both follow: one reads, the other listens
            before = len(await crm_calls(http, pods))
            await asyncio.sleep(10 * INTERVAL_S)
            reads = len(await crm_calls(http, pods)) - before
            holder = await pods.lease_holder()
            moved_at = await move(http, pods.mocks, "EN_COURS")
            on_mobile = await mobile.next(within_s=10)
            mobile_after = time.monotonic() - moved_at
            await asyncio.wait_for(web_got_next.wait(), 10)
            web_after = time.monotonic() - moved_at
        finally:
            following.cancel()
            await asyncio.gather(following, return_exceptions=True)
            await mobile.close()
    print(
        f"reads in 10 intervals: {reads}; seen after {mobile_after:.2f} s (WS, pod A), "
        f"{web_after:.2f} s (SSE, pod B); lease held by pod {pods.index_of(holder)}"
    )
    assert 8 <= reads <= 12  # one watcher in the deployment: two would read about 20 times
    assert holder in {p.pid for p in pods.processes}
    update = on_mobile["payload"]["data"]["demandeUpdated"]
    assert (update["previousStatus"], update["demande"]["status"]) == ("RECEIVED", "IN_PROGRESS")
    _, data = web_events[-1]
    assert data is not None
    assert data["data"]["demandeUpdated"]["demande"]["status"] == "IN_PROGRESS"
    assert mobile_after < INTERVAL_S + LOADED_S and web_after < INTERVAL_S + LOADED_S


async def test_when_the_pod_reading_for_a_customer_dies_the_other_reads_within_the_lease(
    pods: Pods,
) -> None:
    bearer = token(CHRIS, pods.env)
    async with httpx.AsyncClient(timeout=10) as http:
        screens = [await TransportWs.open(pods.ws_url(i), bearer) for i in range(2)]
        for screen in screens:
            await screen.subscribe("live/DemandeUpdated")
        await asyncio.sleep(3 * INTERVAL_S)
        holder = pods.index_of(await pods.lease_holder())
        survivor = 1 - holder
        pods.processes[holder].kill()  # SIGKILL: no release, the lease has to run out
        killed_at, killed_on = time.monotonic(), datetime.now(UTC)
        await asyncio.to_thread(pods.processes[holder].wait, 5)
        taken_after = None
        while taken_after is None and time.monotonic() - killed_at < 5:
            if await pods.lease_holder() == pods.processes[survivor].pid:
                taken_after = time.monotonic() - killed_at
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        read_on = min(  # the survivor's first read (the mock logs when each call arrived)
            at
            for at in (datetime.fromisoformat(c["at"]) for c in await crm_calls(http, pods))
            if at > killed_on
        )
        read_after = (read_on - killed_on).total_seconds()
        settled = len(await crm_calls(http, pods))
        await asyncio.sleep(6 * INTERVAL_S)
        reads_after = len(await crm_calls(http, pods)) - settled
        moved_at = await move(http, pods.mocks, "TRAITE")
        on_survivor = await screens[survivor].next(within_s=10)
        seen_after = time.monotonic() - moved_at
        for screen in screens:
            await screen.close()
    print(
        f"lease taken {taken_after:.2f} s after the kill, first read {read_after:.2f} s; "
        f"{reads_after} reads in 6 intervals after; move seen after {seen_after:.2f} s"
    )
    assert taken_after is not None and taken_after < LEASE_S + INTERVAL_S  # about 2 intervals
    assert read_after < LEASE_S + INTERVAL_S
    assert 4 <= reads_after <= 8  # the survivor alone reads, once an interval
    update = on_survivor["payload"]["data"]["demandeUpdated"]
    assert update["demande"]["status"] == "DONE"
    assert seen_after < INTERVAL_S + LOADED_S
