"""Rate-limit counters in memory, swept once a second instead of after every hit.

`limits`' asyncio `MemoryStorage` starts a sweep task after each hit, and the sweep sends every key
through a worker thread (`asyncio.to_thread`): two thread hops per request under load, and a key
cleared while the sweep waits on a hop (a successful sign-in clears its counter) makes the sweep
raise `KeyError`, logged with the key. Here the sweep runs at most once a second, in one go on the
event loop (a bisection per key, nothing to wait for), so no key can vanish under it. Expired
entries never change a decision (a moving window reads its entries' own times); they only hold
memory, at most one more second of them.

Relies on `limits.aio.storage.MemoryStorage`'s name-mangled `_MemoryStorage__schedule_expiry` and
`_MemoryStorage__expire_events`, and on its `events`, `expirations`, `storage` and `locks`
attributes (not public API): checked by `tests/engine/fastpath/test_upstream_names.py`. The composition root
(`gateway/app.py`) hands this class to `RateLimits.build`, the stock one with GATEWAY_FAST_PATHS=false.
"""

from __future__ import annotations

import bisect
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

    async def _MemoryStorage__expire_events(self) -> None:
        now = time.time()
        for key in list(self.events):
            entries = self.events.get(key)
            if entries:  # newest first: keep those expiring after now
                cutoff = bisect.bisect_left(entries, -now, key=lambda entry: -entry.expiry)
                entries = self.events[key] = entries[:cutoff]
            if not entries:
                self.events.pop(key, None)
                self.locks.pop(key, None)
        for key, expires in list(self.expirations.items()):
            if expires <= now:
                self.storage.pop(key, None)
                self.expirations.pop(key, None)
                self.locks.pop(key, None)
