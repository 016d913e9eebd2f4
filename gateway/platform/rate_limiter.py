"""Rate limits (the `limits` library, moving windows), in memory or shared through Redis.

One `RateLimits` per process, built by the composition root; a limit is a rule in the `limits`
notation and the identifiers it counts by:

    await services.rate_limits.hit("5/15 minutes", "login", login)   # raises TooManyRequests

A hit is spent before the work it protects (before the CRM is even called). When the counters
cannot be reached, `fail_open` decides: general traffic limits let the request through (a Redis
outage must not become a gateway outage), credential checks refuse it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any, ClassVar

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from gateway.errors import GatewayError
from gateway.observability import metrics

log = structlog.get_logger("gateway.ratelimit")


class TooManyRequests(GatewayError):
    """The caller spent a limit of the gateway's own (not a back-end's 429)."""

    code: ClassVar[str] = "RATE_LIMITED"

    def __init__(self, retry_after: float) -> None:
        super().__init__("Trop de tentatives, réessayez un peu plus tard.")
        self.retry_after = max(1, math.ceil(retry_after))

    @property
    def extensions(self) -> dict[str, Any]:
        return {"code": self.code, "retryAfter": self.retry_after}


@lru_cache(maxsize=64)
def rule(text: str) -> RateLimitItem:
    return parse(text)


class RateLimits:
    def __init__(self, storage: Storage, timeout_s: float | None = 0.2) -> None:
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self.timeout_s = timeout_s
        self.refusals = 0

    @classmethod
    def build(
        cls, redis_url: str | None, in_memory: Callable[[], Storage] = MemoryStorage
    ) -> RateLimits:
        """Counters in Redis when `redis_url` is set, else in a storage `in_memory` makes (the
        composition root picks `limits`' own or a faster one)."""
        if redis_url:
            uri = "async+" + redis_url if not redis_url.startswith("async+") else redis_url
            return cls(RedisStorage(uri, implementation="redispy", wrap_exceptions=True))
        # no I/O in memory: a timeout would only measure a busy loop, and fail a flood open
        return cls(in_memory(), timeout_s=None)

    async def hit(self, limit: str, *identifiers: str, fail_open: bool = True) -> None:
        """Count one hit against `limit` for `identifiers`; raise `TooManyRequests` beyond it."""
        item = rule(limit)
        try:
            async with asyncio.timeout(self.timeout_s):  # None in memory: nothing to bound
                if await self.limiter.hit(item, *identifiers):
                    return
                stats = await self.limiter.get_window_stats(item, *identifiers)
        except Exception:
            log.warning("rate_limit_store_failed", limit=limit, fail_open=fail_open)
            if fail_open:
                return
            raise TooManyRequests(item.get_expiry()) from None
        self.refusals += 1
        metrics.rate_limit_refused(limit)
        raise TooManyRequests(stats.reset_time - time.time())

    async def clear(self, limit: str, *identifiers: str) -> None:
        """Forget the hits counted against `limit` for `identifiers` (after a success, a reset)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.limiter.clear(rule(limit), *identifiers)
        except Exception:  # the window then simply runs its course
            log.warning("rate_limit_clear_failed", limit=limit)

    async def reset(self) -> None:
        await self.storage.reset()
