"""Overload is not a back-end failure: breakers open on a failure rate the back-end caused, and
attempt timeouts time the back-end, not a busy event loop."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.adapters.transport.breaker import BreakerPolicy, RateBreaker
from gateway.adapters.transport.resilience import LoopLag, attempt_timeout, start_deadline
from tests.conftest import faults
from tests.support.gateway import PERSONAS, Gateway


def outcomes(breaker: RateBreaker, failures: int, successes: int) -> None:
    """`successes` answered attempts, then `failures` failed ones."""
    for i in range(failures + successes):
        ticket = breaker.admit()
        assert ticket == "admitted"
        (breaker.success if i < successes else breaker.failure)(ticket)


def test_a_low_failure_rate_never_opens_the_breaker() -> None:
    breaker = RateBreaker(BreakerPolicy(failure_rate=0.5, min_volume=20))
    for _ in range(30):  # 40 % failures, 150 attempts, never 50 % in the window
        outcomes(breaker, failures=2, successes=3)
    assert breaker.state == "closed" and breaker.totals() == (150, 60)


def test_failures_below_the_minimum_volume_do_not_open_the_breaker() -> None:
    breaker = RateBreaker(BreakerPolicy(failure_rate=0.5, min_volume=20))
    outcomes(breaker, failures=19, successes=0)  # a burst of 19 consecutive failures
    assert breaker.state == "closed"
    outcomes(breaker, failures=1, successes=0)  # the 20th attempt: 100 % over the volume
    assert breaker.state == "opened" and breaker.admit() == "refused"


def test_an_open_breaker_lets_one_probe_through_and_closes_when_it_answers() -> None:
    breaker = RateBreaker(BreakerPolicy(failure_rate=0.5, min_volume=4, ttl_s=0.05))
    outcomes(breaker, failures=2, successes=2)
    assert breaker.state == "opened"
    time.sleep(0.06)
    probe = breaker.admit()
    assert probe == "probe" and breaker.admit() == "refused"  # one probe at a time
    breaker.failure(probe)
    assert breaker.state == "opened"  # the probe failed: open for another ttl
    time.sleep(0.06)
    probe = breaker.admit()
    breaker.release(probe)  # a cancelled probe gives its slot back
    probe = breaker.admit()
    breaker.success(probe)
    assert breaker.state == "closed" and breaker.totals() == (0, 0)


def test_old_failures_leave_the_window() -> None:
    breaker = RateBreaker(BreakerPolicy(failure_rate=0.5, min_volume=4, window_s=1))
    outcomes(breaker, failures=3, successes=0)
    time.sleep(1.05)
    outcomes(breaker, failures=1, successes=3)  # the three old failures no longer count
    assert breaker.state == "closed" and breaker.totals() == (4, 1)


async def test_a_back_end_failing_one_request_in_five_keeps_its_breaker_closed(
    gateway: Gateway,
) -> None:
    await faults(gateway, "crm", error_rate=0.2, error_status=503, seed=7)
    for _ in range(12):
        await gateway.clear_calls()  # every page calls the CRM again
        body = await gateway.run("HomePage", as_=PERSONAS["paul"])
        assert "errors" not in body  # retried
    crm = (await gateway.app.state.services.backends.breakers.states())["crm"]
    assert crm["state"] == "closed" and crm["failures"] > 0 and crm["attempts"] >= 20


async def test_a_back_end_failing_every_attempt_opens_its_breaker_only(gateway: Gateway) -> None:
    await faults(gateway, "claims", error_rate=1.0, error_status=503)
    for _ in range(5):  # 5 pages × up to 10 claims attempts: over the 20-attempt minimum
        await gateway.run("HomePage", as_=PERSONAS["paul"])
    states = await gateway.app.state.services.backends.breakers.states()
    assert states["claims"]["state"] == "opened"
    assert {s["state"] for name, s in states.items() if name != "claims"} == {"closed"}


async def test_an_attempt_cut_short_by_the_request_deadline_is_not_held_against_the_back_end(
    gateway: Gateway,
) -> None:
    gateway.app.state.services.settings.request_deadline_s = 0.3  # éditique's attempt gets 1 s
    await faults(gateway, "editique", timeout_rate=1.0, hang_ms=5_000)
    body = await gateway.run("HomePage", as_=PERSONAS["chris"])
    assert body["data"]["viewer"]["documents"] is None
    editique = (await gateway.app.state.services.backends.breakers.states())["editique"]
    assert editique["failures"] == 0 and editique["attempts"] == 0


async def test_an_attempt_that_used_its_whole_timeout_counts_as_a_failure(
    gateway: Gateway,
) -> None:
    gateway.app.state.services.settings.request_deadline_s = 1.2  # one whole 1 s attempt fits
    await faults(gateway, "editique", timeout_rate=1.0, hang_ms=5_000)
    await gateway.run("HomePage", as_=PERSONAS["chris"])
    editique = (await gateway.app.state.services.backends.breakers.states())["editique"]
    assert editique["failures"] == 1


async def answer_after(seconds: float, hops: int = 3) -> str:
    """A back-end answering after `seconds`, then a few loop iterations to read its answer."""
    await asyncio.sleep(seconds)
    for _ in range(hops):
        await asyncio.sleep(0)
    return "answer"


async def test_a_busy_event_loop_does_not_time_out_a_back_end_that_answered_in_time() -> None:
    loop = asyncio.get_running_loop()
    async with attempt_timeout(0.01):  # the loop-lag meter is running before the attempt
        pass
    loop.call_later(0.01, time.sleep, 0.3)  # the process is busy for 300 ms
    async with attempt_timeout(0.2):
        assert await answer_after(0.05) == "answer"  # answered after 50 ms, read after 310


async def test_a_slow_back_end_still_times_out_at_its_budget() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        async with attempt_timeout(0.1):
            await answer_after(1.0)
    assert 0.09 < loop.time() - started < 0.5


async def test_a_busy_event_loop_never_stretches_an_attempt_past_the_request_deadline() -> None:
    async def request() -> None:
        start_deadline(0.25)  # (in a task of its own, as every GraphQL request is)
        asyncio.get_running_loop().call_later(0.01, time.sleep, 0.3)
        async with attempt_timeout(0.2):
            await answer_after(0.05)

    with pytest.raises(TimeoutError):
        await asyncio.create_task(request())


async def test_the_loop_lag_meter_ticks_only_while_attempts_are_in_flight() -> None:
    loop = asyncio.get_running_loop()
    meter = LoopLag.of(loop)
    async with attempt_timeout(1.0):
        assert meter.ticking and meter.active >= 1
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.05)  # the next tick sees nothing in flight and stops
    assert not meter.ticking and meter.active == 0
