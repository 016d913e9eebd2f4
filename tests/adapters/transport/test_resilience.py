"""Retries, deadlines and circuit breakers, driven by seeded fault injection."""

from __future__ import annotations

import asyncio
import time

from gateway.adapters.transport.resilience import RetryPolicy
from tests.conftest import faults
from tests.support.gateway import PERSONAS, Gateway, codes


async def test_transient_failures_are_retried_until_the_page_is_whole(gateway: Gateway) -> None:
    for system, seed in (("policy-admin", 3), ("claims", 4), ("editique", 5), ("crm", 6)):
        await faults(gateway, system, error_rate=0.3, quirk_rate=0.2, seed=seed)
    for persona in ("chris", "geralt", "paul", "brico"):
        body = await gateway.run("HomePage", as_=PERSONAS[persona])
        assert "errors" not in body, (persona, body.get("errors"))
    logs = {name: mock.log.calls for name, mock in gateway.mocks.items()}
    assert sum(1 for calls in logs.values() for c in calls if c.fault) > 5  # faults really happened


async def test_retry_after_is_honoured(gateway: Gateway) -> None:
    await faults(gateway, "claims", quirk_rate=0.5, seed=1)  # seed 1: the first draw is a 429
    started = time.perf_counter()
    body = await gateway.run("HomePage", as_=PERSONAS["paul"])
    assert "errors" not in body
    calls = gateway.mocks["claims"].log.calls
    first_429 = next(c for c in calls if c.status == 429)
    assert time.perf_counter() - started >= 1.0  # Retry-After: 1
    assert any(c.seq > first_429.seq and c.status == 200 for c in calls)


async def test_no_retry_starts_after_the_request_deadline(gateway: Gateway) -> None:
    gateway.app.state.services.settings.request_deadline_s = 1.0
    await faults(gateway, "editique", timeout_rate=1.0, hang_ms=10_000)
    started = time.perf_counter()
    body = await gateway.run("HomePage", as_=PERSONAS["chris"])
    elapsed = time.perf_counter() - started
    assert elapsed < 1.2, elapsed
    assert body["data"]["viewer"]["documents"] is None and codes(body) == ["BACKEND_TIMEOUT"]
    assert (
        len(gateway.mocks["editique"].log.calls) == 1
    )  # 0.8 s attempt, then no time left for another


def test_backoff_is_full_jitter_capped_and_retry_after_capped() -> None:
    policy = RetryPolicy(attempts=5, base_s=0.05, cap_s=0.5, retry_after_cap_s=2.0)

    class State:
        def __init__(self, n: int, error: Exception | None = None) -> None:
            self.attempt_number = n
            self.outcome = type("O", (), {"exception": lambda _self: error})()
            self.upcoming_sleep = 0.0

    waits = [policy.wait(State(n)) for n in range(1, 8) for _ in range(50)]  # type: ignore[arg-type]
    assert min(waits) >= 0 and max(waits) <= 0.5 and len(set(waits)) > 100
    from gateway.errors import RateLimited

    assert policy.wait(State(1, RateLimited("claims", retry_after=30))) == 2.0  # type: ignore[arg-type]


async def test_breaker_opens_fails_fast_and_closes_after_a_probe(gateway: Gateway) -> None:
    breakers = gateway.app.state.services.backends.breakers
    breakers.policy.ttl_s = 0.5
    breakers.policy.min_volume = 10  # 3 pages: 5 failed attempts each (the shipped 20 needs 4)
    await faults(gateway, "editique", error_rate=1.0, error_status=503)
    for _ in range(3):
        await gateway.run("HomePage", as_=PERSONAS["chris"])
    states = await breakers.states()
    assert states["editique"]["state"] == "opened" and states["crm"]["state"] == "closed"
    health = (await gateway.http.get("/healthz")).json()
    assert health["status"] == "degraded" and health["backends"]["editique"]["state"] == "opened"
    metrics = (await gateway.http.get("/metrics")).text
    assert 'gateway_breaker_state{backend="editique"} 2.0' in metrics
    gateway.mocks["editique"].log.clear()
    started = time.perf_counter()
    body = await gateway.run("HomePage", as_=PERSONAS["chris"])
    assert (
        time.perf_counter() - started < 0.3 and len(gateway.mocks["editique"].log.calls) == 0
    )  # failing fast
    assert (
        body["data"]["viewer"]["documents"] is None
        and body["errors"][0]["extensions"]["backend"] == "editique"
    )
    assert body["data"]["viewer"]["contracts"]
    await faults(gateway, "editique")  # the back-end recovers
    await asyncio.sleep(0.6)
    body = await gateway.run("HomePage", as_=PERSONAS["geralt"])  # half-open: this request probes
    assert "errors" not in body and (await breakers.states())["editique"]["state"] == "closed"


async def test_rejections_do_not_open_the_breaker(gateway: Gateway) -> None:
    gateway.app.state.services.backends.breakers.policy.min_volume = 2
    for _ in range(4):
        body = await gateway.run(
            '{ node(id: "Q29udHJhY3Q6Wlo5OTk5OTk=") { id } }', as_="agent-1", role="staff"
        )
        assert codes(body) == ["NOT_FOUND"]
    assert (await gateway.app.state.services.backends.breakers.states())["policy-admin"][
        "state"
    ] == "closed"
