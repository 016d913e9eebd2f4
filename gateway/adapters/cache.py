"""Cross-request cache of legacy answers (aiocache): in memory by default, Redis when
`GATEWAY_REDIS_URL` is set, the same behaviour both ways.

What is cached is a back-end's answer to one resource (plain JSON data, never mutated), keyed by that resource
(`crm GET /crm/api/clients/C0001001`), never a rendered page: access rules run on every request,
hit or miss. Values are JSON (no pickle from a shared store). Concurrent misses of one key in a
process make one back-end call (single flight). A cache that fails is a miss, never an error. The
in-memory store is bounded. Keys a mutation changes are invalidated by the adapter that mutates.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiocache import Cache
from aiocache.base import BaseCache
from aiocache.serializers import JsonSerializer, NullSerializer

from .. import metrics

log = structlog.get_logger("gateway.cache")
NAMESPACE = "gw:v1:"


def system(key: str) -> str:
    """The back-end a key belongs to: keys start with its name (`crm GET /crm/api/…`)."""
    return key.split(" ", 1)[0]


class ResponseCache:
    def __init__(
        self, store: BaseCache, max_entries: int | None = 20_000, enabled: bool = True
    ) -> None:
        self.store = store
        self.enabled = enabled
        self.max_entries = max_entries
        self.order: OrderedDict[str, None] = OrderedDict()
        self.inflight: dict[str, asyncio.Future[Any]] = {}
        self.hits = 0
        self.misses = 0
        self.background: set[asyncio.Future[Any]] = set()

    @classmethod
    def build(cls, redis_url: str | None) -> ResponseCache:
        if redis_url:
            store = Cache.from_url(redis_url)
            store.serializer = JsonSerializer()
            store.namespace = NAMESPACE
            return cls(store, max_entries=None)  # Redis bounds itself (maxmemory policy)
        # in memory the JSON values are kept as they are (nothing mutates them): no decoding per hit
        return cls(Cache(Cache.MEMORY, serializer=NullSerializer(), namespace=NAMESPACE))

    @classmethod
    def disabled(cls) -> ResponseCache:
        """Stores nothing (benchmarks of the uncached path; `GATEWAY_CACHE=false`)."""
        return cls(
            Cache(Cache.MEMORY, serializer=JsonSerializer(), namespace=NAMESPACE), enabled=False
        )

    async def fetch(self, key: str, ttl: float, load: Callable[[], Awaitable[Any]]) -> Any:
        """The cached answer for `key`, or `load()`'s, stored for `ttl` seconds."""
        if not self.enabled:
            return await load()
        try:
            found = await self.store.get(key)
        except Exception:  # a cache outage is a miss
            log.warning("cache_get_failed", key=key)
            found = None
        if found is not None:
            self.hits += 1
            metrics.cache_lookup(system(key), 1, 0)
            return found["v"]
        self.misses += 1
        metrics.cache_lookup(system(key), 0, 1)
        future = self.inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._load(key, ttl, load))
            self.inflight[key] = future
            future.add_done_callback(lambda _: self.inflight.pop(key, None))
        return await asyncio.shield(future)

    async def fetch_many(
        self, keys: list[str], ttl: float, load: Callable[[list[str]], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        """Cached answers for `keys`; the missing ones loaded together by `load(missing)`."""
        if not self.enabled:
            return await load(keys)
        try:
            found = await self.store.multi_get(keys)
        except Exception:
            log.warning("cache_get_failed", keys=len(keys))
            found = [None] * len(keys)
        values = {k: v["v"] for k, v in zip(keys, found, strict=True) if v is not None}
        missing = [k for k in keys if k not in values]
        self.hits += len(values)
        self.misses += len(missing)
        if keys:
            metrics.cache_lookup(system(keys[0]), len(values), len(missing))
        if missing:
            loaded = await load(missing)
            try:
                await self.store.multi_set([(k, {"v": loaded.get(k)}) for k in missing], ttl=ttl)
                for key in missing:
                    self._remember(key)
            except Exception:
                log.warning("cache_set_failed", keys=len(missing))
            values.update({k: loaded.get(k) for k in missing})
        return values

    async def _load(self, key: str, ttl: float, load: Callable[[], Awaitable[Any]]) -> Any:
        value = await load()
        try:
            await self.store.set(key, {"v": value}, ttl=ttl)
            self._remember(key)
        except Exception:
            log.warning("cache_set_failed", key=key)
        return value

    def _remember(self, key: str) -> None:
        if self.max_entries is None:
            return
        self.order[key] = None
        self.order.move_to_end(key)
        while len(self.order) > self.max_entries:
            oldest, _ = self.order.popitem(last=False)
            self._later(self.store.delete(oldest))

    def _later(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def invalidate(self, *keys: str) -> None:
        for key in keys:
            self.order.pop(key, None)
            try:
                await self.store.delete(key)
            except Exception:
                log.warning("cache_delete_failed", key=key)

    async def clear(self) -> None:
        self.order.clear()
        await self.store.clear(namespace=NAMESPACE)

    @property
    def hit_ratio(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    async def close(self) -> None:
        await self.store.close()
