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
    sweeps = 0
    sweep = PacedMemoryStorage._MemoryStorage__expire_events

    async def counted(self: PacedMemoryStorage) -> None:
        nonlocal sweeps
        sweeps += 1
        await sweep(self)

    monkeypatch.setattr(PacedMemoryStorage, "_MemoryStorage__expire_events", counted)
    hops = 0
    to_thread = asyncio.to_thread

    async def hopped(func: Any, /, *args: Any) -> Any:
        nonlocal hops
        hops += 1
        return await to_thread(func, *args)

    monkeypatch.setattr(asyncio, "to_thread", hopped)
    limits = RateLimits.build(None, PacedMemoryStorage)

    async def traffic(seconds: float) -> None:
        for _ in range(100):
            await limits.hit("1000/minute", "ip", "203.0.113.9")
            await limits.hit("1000/minute", "client", "C0001001")
            now.value += seconds / 100
            for _ in range(3):
                await asyncio.sleep(0)  # let a sweep task run, if one was started

    await traffic(0.5)
    assert sweeps == 1  # the first hit's sweep
    await traffic(0.99)  # the next second began during these
    assert sweeps == 2 and hops == 0  # no thread hop at all

    for _ in range(3):
        await limits.hit("3/second", "login", "x")
    with pytest.raises(TooManyRequests):
        await limits.hit("3/second", "login", "x")
    now.value += 1.01
    await limits.hit("3/second", "login", "x")


async def test_a_counter_cleared_during_a_sweep_breaks_nothing() -> None:
    """A successful sign-in clears its login's counter while a sweep runs: no `KeyError` (which
    the event loop would log, with the limiter key), and the other counters are kept."""
    storage = PacedMemoryStorage()
    limits = RateLimits(storage)
    for who in ("a", "b", "c"):
        await limits.hit("5/15 minutes", "login", who)
    await storage.timer
    storage._next_sweep = 0.0  # the next second has come
    await storage._MemoryStorage__schedule_expiry()  # type: ignore[attr-defined]
    await asyncio.sleep(0)  # the sweep starts
    await limits.clear("5/15 minutes", "login", "b")
    await storage.timer  # raised KeyError with limits' own sweep
    assert storage.timer.exception() is None
    for _ in range(4):
        await limits.hit("5/15 minutes", "login", "a")
    with pytest.raises(TooManyRequests):
        await limits.hit("5/15 minutes", "login", "a")
