"""A breaker counts only a back-end's own failures: nothing a request asks can open it."""

from __future__ import annotations

import pytest

from gateway.adapters.transport.breaker import BreakerPolicy
from gateway.adapters.transport.resilience import Breakers, CircuitOpen, Guard, RetryPolicy
from gateway.errors import (
    BackendRejected,
    BackendUnavailable,
    GatewayError,
    NotFound,
    TooManyBackendCalls,
)


async def fail_with(error: Exception) -> None:
    raise error


@pytest.mark.parametrize(
    "error",
    [
        BackendRejected("claims"),  # a 4xx: the system answered, the request was wrong
        NotFound("Ce client"),  # raised inside an attempt (a write's 404)
        TooManyBackendCalls(),
        KeyError("a gateway bug"),
    ],
)
async def test_what_a_request_causes_never_opens_a_breaker(error: Exception) -> None:
    breakers = Breakers(BreakerPolicy(min_volume=3, ttl_s=60))
    guard = Guard("claims", breakers, 0.5, RetryPolicy(attempts=1))
    for _ in range(20):  # 20 of 20 attempts: a 100 % rate over the minimum volume
        with pytest.raises(type(error)):
            await guard.once(lambda _budget: fail_with(error))
    assert (await breakers.states())["claims"]["state"] == "closed"


async def test_a_back_end_failing_opens_its_breaker() -> None:
    breakers = Breakers(BreakerPolicy(min_volume=3, ttl_s=60))
    guard = Guard("claims", breakers, 0.5, RetryPolicy(attempts=1))
    for _ in range(3):
        with pytest.raises(BackendUnavailable):
            await guard.once(lambda _budget: fail_with(BackendUnavailable("claims")))
    with pytest.raises(CircuitOpen):
        await guard.once(lambda _budget: fail_with(GatewayError("never run")))


async def test_cancelled_requests_never_open_a_breaker() -> None:
    import asyncio

    breakers = Breakers(BreakerPolicy(min_volume=3, ttl_s=60))
    guard = Guard("crm", breakers, 5, RetryPolicy(attempts=1))
    for _ in range(10):  # clients that went away mid-call
        task = asyncio.ensure_future(guard.once(lambda _budget: asyncio.sleep(10)))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert (await breakers.states())["crm"]["state"] == "closed"
