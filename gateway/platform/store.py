"""The shared store: small JSON records with a lifetime, in memory or in Redis.

It keeps what must survive a request and be seen by every gateway process behind one Redis:
idempotency records of writes, sessions and refresh tokens, persisted queries. Unlike the answer
cache (`adapters/cache.py`), a store failure is an error, never a miss: a write that cannot record
its idempotency key is refused, a session that cannot be checked is not trusted.

    store = Store.build(settings.redis_url)
    if await store.put("idem:…", {"state": "IN_PROGRESS"}, ttl=86_400, only_if_absent=True):
        ...  # this request claimed the key
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Any, Protocol

import orjson

from gateway.errors import GatewayError
from gateway.platform.redis import redis_client

NAMESPACE = "gw:store:v1:"


class StoreUnavailable(GatewayError):
    code = "STORE_UNAVAILABLE"

    def __init__(self) -> None:
        super().__init__("Le service est momentanément indisponible, réessayez dans un instant.")


class Store(Protocol):
    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def put(
        self, key: str, value: dict[str, Any], ttl: float, *, only_if_absent: bool = False
    ) -> bool:
        """Store `value` for `ttl` seconds; with `only_if_absent`, only if `key` holds nothing
        (atomic across processes). True when written."""
        ...

    async def delete(self, key: str) -> None: ...

    async def close(self) -> None: ...


def build_store(redis_url: str | None, timeout_s: float = 0.5) -> Store:
    return RedisStore(redis_url, timeout_s) if redis_url else MemoryStore()


class MemoryStore:
    """One process's store, bounded: the oldest records go first when it is full."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self.max_entries = max_entries
        self.records: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    async def get(self, key: str) -> dict[str, Any] | None:
        found = self.records.get(key)
        if found is None:
            return None
        expires, value = found
        if expires <= time.monotonic():
            del self.records[key]
            return None
        return value

    async def put(
        self, key: str, value: dict[str, Any], ttl: float, *, only_if_absent: bool = False
    ) -> bool:
        if only_if_absent and await self.get(key) is not None:
            return False
        self.records[key] = (time.monotonic() + ttl, value)
        self.records.move_to_end(key)
        while len(self.records) > self.max_entries:
            self.records.popitem(last=False)
        return True

    async def delete(self, key: str) -> None:
        self.records.pop(key, None)

    async def close(self) -> None:
        self.records.clear()


class RedisStore:
    """Every gateway process behind one Redis sees the same records; each call is bounded."""

    def __init__(self, url: str, timeout_s: float = 0.5) -> None:
        self.redis = redis_client(url, timeout_s)
        self.timeout_s = timeout_s

    async def get(self, key: str) -> dict[str, Any] | None:
        raw = await self._call(self.redis.get(NAMESPACE + key))
        return None if raw is None else dict(orjson.loads(raw))

    async def put(
        self, key: str, value: dict[str, Any], ttl: float, *, only_if_absent: bool = False
    ) -> bool:
        written = await self._call(
            self.redis.set(
                NAMESPACE + key,
                orjson.dumps(value),
                px=max(1, int(ttl * 1000)),
                nx=only_if_absent,
            )
        )
        return bool(written)

    async def delete(self, key: str) -> None:
        await self._call(self.redis.delete(NAMESPACE + key))

    async def close(self) -> None:
        await self.redis.aclose()

    async def _call(self, work: Any) -> Any:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await work
        except Exception as exc:  # hung, refused, or answered an error: the store is not there
            raise StoreUnavailable() from exc
