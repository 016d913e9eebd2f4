"""Rate limits (the `limits` library, moving windows), in memory or shared through Redis.

One `RateLimits` per process, built by the composition root; a limit is a rule in the `limits`
notation and the identifiers it counts by:

    await services.rate_limits.hit("5/15 minutes", "login", login)   # raises TooManyRequests

A hit is spent before the work it protects (before the CRM is even called). When the counters
cannot be reached, `fail_open` decides: general traffic limits let the request through (a Redis
outage must not become a gateway outage), credential checks refuse it.

In Redis, the counters go through the process's one client (`limits` is handed its connection
pool) and its circuit (`platform/redis.py`): a hit waits at most `GATEWAY_REDIS_TIMEOUT_S` for
Redis, and after a failure the limits decide without asking it for `GATEWAY_REDIS_CIRCUIT_S`.
"""

from __future__ import annotations

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
from gateway.platform.redis import CircuitOpen, RedisUnreachable, SharedRedis

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
    def __init__(self, storage: Storage, redis: SharedRedis | None = None) -> None:
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self.redis = redis  # None in memory: no I/O, nothing to bound
        self.refusals = 0

    @classmethod
    def build(
        cls, redis: SharedRedis | str | None, in_memory: Callable[[], Storage] = MemoryStorage
    ) -> RateLimits:
        """Counters in Redis when `redis` is given (the process's shared client, or a URL), else
        in a storage `in_memory` makes (the composition root picks `limits`' own or a faster
        one)."""
        if isinstance(redis, str):
            redis = SharedRedis.from_url(redis)
        if redis:
            storage = RedisStorage(
                "async+redis://",  # where is the pool's business, not the URI's
                implementation="redispy",
                wrap_exceptions=True,
                connection_pool=redis.client.connection_pool,  # type: ignore[arg-type]
            )
            return cls(storage, redis)
        return cls(in_memory())

    async def _count(self, item: RateLimitItem, identifiers: tuple[str, ...]) -> Any:
        """None when the hit is within the limit, else the window's stats."""
        if await self.limiter.hit(item, *identifiers):
            return None
        return await self.limiter.get_window_stats(item, *identifiers)

    async def hit(self, limit: str, *identifiers: str, fail_open: bool = True) -> None:
        """Count one hit against `limit` for `identifiers`; raise `TooManyRequests` beyond it."""
        item = rule(limit)
        if self.redis is None:
            stats = await self._count(item, identifiers)
        else:
            try:
                stats = await self.redis.call(lambda: self._count(item, identifiers))
            except RedisUnreachable as error:
                if not isinstance(error, CircuitOpen):  # logged once per circuit opening
                    log.warning("rate_limit_store_failed", limit=limit, fail_open=fail_open)
                if fail_open:
                    return
                raise TooManyRequests(item.get_expiry()) from None
        if stats is None:
            return
        self.refusals += 1
        metrics.rate_limit_refused(limit)
        raise TooManyRequests(stats.reset_time - time.time())

    async def clear(self, limit: str, *identifiers: str) -> None:
        """Forget the hits counted against `limit` for `identifiers` (after a success, a reset)."""
        try:
            if self.redis is None:
                await self.limiter.clear(rule(limit), *identifiers)
            else:
                await self.redis.call(lambda: self.limiter.clear(rule(limit), *identifiers))
        except RedisUnreachable:  # the window then simply runs its course
            log.warning("rate_limit_clear_failed", limit=limit)

    async def reset(self) -> None:
        await self.storage.reset()
