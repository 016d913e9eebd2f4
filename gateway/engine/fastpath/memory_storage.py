"""Rate-limit counters in memory, swept once a second instead of after every hit.

`limits`' asyncio `MemoryStorage` starts a sweep task after each hit, and the sweep sends every key
through a worker thread (`asyncio.to_thread`): two thread hops per request under load. Expired
entries never change a decision (a moving window reads its entries' own times); they only hold
memory, at most one more second of them.

Relies on `limits.aio.storage.MemoryStorage`'s name-mangled `_MemoryStorage__schedule_expiry`
(not public API): checked by `tests/engine/fastpath/test_upstream_names.py`. The composition root
(`gateway/app.py`) hands this class to `RateLimits.build`, the stock one with GATEWAY_FAST_PATHS=false.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from limits.aio.storage import MemoryStorage


class PacedMemoryStorage(MemoryStorage):
    """`limits`' memory storage, sweeping expired entries at most once every `SWEEP_EVERY_S`."""

    SWEEP_EVERY_S = 1.0
    clock: Callable[[], float] = staticmethod(time.monotonic)  # what paces the sweeps
    _next_sweep = 0.0

    async def _MemoryStorage__schedule_expiry(self) -> None:
        now = self.clock()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.SWEEP_EVERY_S
        await super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]
