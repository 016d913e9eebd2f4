"""The shared store: small JSON records with a lifetime, in memory or in Redis.

It keeps what must survive a request and be seen by every gateway process behind one Redis:
idempotency records of writes, sessions and refresh tokens, persisted queries. Unlike the answer
cache (`adapters/transport/cache.py`), a store failure is an error, never a miss
(`StoreUnavailable`): a write that cannot record its idempotency key is refused, a refresh token
that cannot be claimed is not rotated. Its callers decide what a failure means for them (the
sessions answer from their memory of the last good answer, `identity/sessions.py`).

Redis is reached through the process's `SharedRedis` (`platform/redis.py`): each call is bounded
by `GATEWAY_REDIS_TIMEOUT_S` and goes through its circuit, so a store that is down or frozen
answers `StoreUnavailable` at once for `GATEWAY_REDIS_CIRCUIT_S` after a failure.

    store = build_store(SharedRedis.from_settings(settings))
    if await store.put("idem:…", {"state": "IN_PROGRESS"}, ttl=86_400, only_if_absent=True):
        ...  # this request claimed the key
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

import orjson

from gateway.errors import GatewayError
from gateway.platform.redis import RedisUnreachable, SharedRedis

NAMESPACE = "gw:store:v1:"
V = TypeVar("V")


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


def build_store(redis: SharedRedis | None) -> Store:
    return RedisStore(redis) if redis else MemoryStore()


class LastGood(Generic[V]):
    """A process's memory of the store's last good answers, by key: `fresh_s` long the store is
    not asked again; `keep_s` long the answer stands in when the store cannot be reached
    (`StoreUnavailable`); at most `max_entries`, the least recently used forgotten first.

        alive = await memory.ask(sid, lambda: sessions_alive(sid))
    """

    def __init__(self, fresh_s: float, keep_s: float, max_entries: int = 100_000) -> None:
        self.fresh_s = fresh_s
        self.keep_s = max(keep_s, fresh_s)
        self.max_entries = max_entries
        self.entries: OrderedDict[str, tuple[float, float, V]] = OrderedDict()  # fresh, kept
        self.stood_in = 0  # answers given from memory while the store was unreachable

    def __len__(self) -> int:
        return len(self.entries)

    def remember(self, key: str, value: V, *, forever: bool = False) -> None:
        now = time.monotonic()
        until = float("inf") if forever else now + self.fresh_s
        kept = float("inf") if forever else now + self.keep_s
        self.entries[key] = (until, kept, value)
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)

    def forget(self, key: str) -> None:
        self.entries.pop(key, None)

    def keep_only(self, key: str | None) -> None:
        kept = self.entries.get(key) if key is not None else None
        self.entries.clear()
        if key is not None and kept is not None:
            self.entries[key] = kept

    async def ask(self, key: str, load: Callable[[], Awaitable[V]]) -> V:
        """The remembered answer while fresh, else `load()`'s (remembered), else, when the store
        cannot be reached, the last one while kept; `StoreUnavailable` when there is none."""
        found = self.entries.get(key)
        now = time.monotonic()
        if found is not None and now < found[0]:
            self.entries.move_to_end(key)
            return found[2]
        try:
            value = await load()
        except StoreUnavailable:
            if found is None or now >= found[1]:
                raise
            self.stood_in += 1
            self.entries.move_to_end(key)
            return found[2]
        self.remember(key, value)
        return value


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

    def __init__(self, redis: SharedRedis | str, timeout_s: float = 0.5) -> None:
        self.shared = (
            redis
            if isinstance(redis, SharedRedis)
            else SharedRedis.from_url(redis, timeout_s=timeout_s, connect_timeout_s=timeout_s)
        )
        self.redis = self.shared.client

    async def get(self, key: str) -> dict[str, Any] | None:
        raw = await self._call(lambda: self.redis.get(NAMESPACE + key))
        return None if raw is None else dict(orjson.loads(raw))

    async def put(
        self, key: str, value: dict[str, Any], ttl: float, *, only_if_absent: bool = False
    ) -> bool:
        written = await self._call(
            lambda: self.redis.set(
                NAMESPACE + key,
                orjson.dumps(value),
                px=max(1, int(ttl * 1000)),
                nx=only_if_absent,
            )
        )
        return bool(written)

    async def delete(self, key: str) -> None:
        await self._call(lambda: self.redis.delete(NAMESPACE + key))

    async def close(self) -> None:
        await self.shared.close()

    async def _call(self, work: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await self.shared.call(work)
        except RedisUnreachable as exc:  # hung, refused, answered an error, or known to be down
            raise StoreUnavailable() from exc
