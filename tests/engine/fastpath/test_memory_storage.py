"""The rate limits' memory storage sweeps expired entries once a second, and decides the same."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from gateway.engine.fastpath.memory_storage import PacedMemoryStorage
from gateway.platform.rate_limiter import RateLimits, TooManyRequests
from tests.support.fast_paths import only_with_fast_paths

pytestmark = only_with_fast_paths


class Now:
    """The time both clocks read (the pacing's monotonic one, `limits`' wall clock), moved by hand."""

    def __init__(self) -> None:
        self.value = 1_000_000.0

    def __call__(self) -> float:
        return self.value


async def test_in_memory_hits_sweep_at_most_once_a_second_and_decide_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`limits` would sweep (a thread hop per key) after every hit; ours once a second, and a
    window still refuses and recovers on its entries' own times."""
    now = Now()
    monkeypatch.setattr(time, "time", now)  # what `limits` reads for its windows
    monkeypatch.setattr(PacedMemoryStorage, "clock", staticmethod(now))
    hops = 0

    async def counted(func: Any, /, *args: Any) -> Any:
        """The hop, counted, and run on the loop: a loaded machine's thread pool never lags."""
        nonlocal hops
        hops += 1
        return func(*args)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    limits = RateLimits.build(None, PacedMemoryStorage)

    async def traffic(seconds: float) -> None:
        for _ in range(100):
            await limits.hit("1000/minute", "ip", "203.0.113.9")
            await limits.hit("1000/minute", "client", "C0001001")
            now.value += seconds / 100
            for _ in range(3):
                await asyncio.sleep(0)  # let a sweep task run, if one was started

    await traffic(0.5)
    assert hops == 2  # the first hit's sweep, one hop per key
    await traffic(0.99)  # the next second began during these
    assert hops == 4

    for _ in range(3):
        await limits.hit("3/second", "login", "x")
    with pytest.raises(TooManyRequests):
        await limits.hit("3/second", "login", "x")
    now.value += 1.01
    await limits.hit("3/second", "login", "x")
