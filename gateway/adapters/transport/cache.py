"""Cross-request cache of legacy answers: in memory by default, Redis (aiocache) when
`GATEWAY_REDIS_URL` is set, the same behaviour both ways.

What is cached is a back-end's answer to one resource (plain JSON data, never mutated), keyed by
that resource (`crm GET /crm/api/clients/C0001001`), never a rendered page: access rules run on
every request, hit or miss. Values are JSON (no pickle from a shared store). Concurrent misses of
one key in a process make one back-end call (single flight). Keys a mutation changes are
invalidated by the adapter that mutates.

A cache that cannot hurt:

* every call to a shared store is bounded by `GATEWAY_CACHE_TIMEOUT_S` (50 ms) and goes through
  the cache's own breaker (`StoreBreaker`): a slow, hung or dead Redis is a miss, counted in
  `errors`, never an error of a back-end that got no call; stores are written in the background;
* the Redis client is the process's one (`platform/redis.py`), shared with the store and the
  rate limits; it waits for a pooled connection (`GATEWAY_REDIS_POOL_SIZE`) instead of refusing;
* in memory, the cache is bounded by bytes (`GATEWAY_CACHE_MAX_BYTES`) in a segmented LRU: a new
  entry is on probation until it is read again, and probation is evicted first, so a burst of
  entries nobody reads again (one customer choosing ids) cannot evict everyone's;
* a request adds at most `GATEWAY_CACHE_MAX_ADDS_PER_REQUEST` entries (`budget.py`).

**Stale-if-error**: an entry is kept `GATEWAY_STALE_IF_ERROR_S` (600 s) past its freshness. When
the back-end then fails (down, timeout, breaker open, saturated), the last value seen is answered
instead, and the request notes the back-end and the value's date (`extensions.stale`). What is
kept is the back-end's answer, so the same access rules run on it.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import orjson
import structlog
from aiocache import Cache
from aiocache.serializers import JsonSerializer

from gateway.adapters.transport.budget import may_add_to_cache, note_stale
from gateway.errors import BackendError, BackendRejected, TooManyBackendCalls
from gateway.observability import metrics
from gateway.platform.redis import SharedRedis

log = structlog.get_logger("gateway.cache")
NAMESPACE = "gw:v2:"  # v2: entries carry the time they were stored (`{"v": …, "t": …}`)
ENTRY_OVERHEAD_BYTES = 200  # dict slots, key, bookkeeping: a rough but safe per-entry cost


def stale_allowed(error: BaseException) -> bool:
    """Failures a last value may stand in for: the system is down, slow, saturated or its
    breaker is open. Never a refusal (a 4xx: the request was wrong) nor a gateway limit."""
    return isinstance(error, BackendError) and not isinstance(error, BackendRejected)


def _forget(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned store call's outcome (no "exception was never retrieved")."""
    if not task.cancelled():
        task.exception()


class StoreBreaker:
    """The cache's own breaker: `threshold` consecutive failures open it for `ttl_s`, during
    which the store is not asked at all (every call a miss); then calls probe it again."""

    def __init__(self, threshold: int = 5, ttl_s: float = 5.0) -> None:
        self.threshold = threshold
        self.ttl_s = ttl_s
        self.failures = 0
        self.open_until = 0.0

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self.open_until

    def failed(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.open_until = time.monotonic() + self.ttl_s

    def succeeded(self) -> None:
        self.failures = 0
        self.open_until = 0.0


class MemoryStore:
    """An in-process store bounded by bytes: a segmented LRU (probation, then protected once read
    again). Same async surface as aiocache's stores; values are kept as they are (no copy)."""

    def __init__(self, max_bytes: int, protected_share: float = 0.8) -> None:
        self.max_bytes = max_bytes
        self.protected_max = int(max_bytes * protected_share)
        self.probation: OrderedDict[str, tuple[Any, int, float]] = OrderedDict()
        self.protected: OrderedDict[str, tuple[Any, int, float]] = OrderedDict()
        self.bytes = {"probation": 0, "protected": 0}

    @property
    def size_bytes(self) -> int:
        return self.bytes["probation"] + self.bytes["protected"]

    def __len__(self) -> int:
        return len(self.probation) + len(self.protected)

    def _pop(self, key: str) -> tuple[Any, int, float] | None:
        for name, segment in (("protected", self.protected), ("probation", self.probation)):
            found = segment.pop(key, None)
            if found is not None:
                self.bytes[name] -= found[1]
                return found
        return None

    def _read(self, key: str) -> Any:
        if key in self.protected:
            value, _, expires = self.protected[key]
            if expires <= time.monotonic():
                self._pop(key)
                return None
            self.protected.move_to_end(key)
            return value
        found = self.probation.get(key)
        if found is None:
            return None
        if found[2] <= time.monotonic():
            self._pop(key)
            return None
        self._pop(key)  # read again: promoted, the oldest protected ones go back on probation
        self.protected[key] = found
        self.bytes["protected"] += found[1]
        while self.bytes["protected"] > self.protected_max and len(self.protected) > 1:
            old_key, old = self.protected.popitem(last=False)
            self.bytes["protected"] -= old[1]
            self.probation[old_key] = old
            self.bytes["probation"] += old[1]
        return found[0]

    def _write(self, key: str, value: Any, ttl: float | None) -> None:
        size = len(orjson.dumps(value)) + len(key) + ENTRY_OVERHEAD_BYTES
        self._pop(key)
        if size > self.max_bytes // 4:  # one huge answer may not flush the cache
            return
        expires = time.monotonic() + ttl if ttl else float("inf")
        self.probation[key] = (value, size, expires)
        self.bytes["probation"] += size
        while self.size_bytes > self.max_bytes:
            segment, name = (
                (self.probation, "probation") if self.probation else (self.protected, "protected")
            )
            _, old = segment.popitem(last=False)
            self.bytes[name] -= old[1]

    async def get(self, key: str) -> Any:
        return self._read(key)

    async def multi_get(self, keys: list[str]) -> list[Any]:
        return [self._read(key) for key in keys]

    async def set(self, key: str, value: Any, ttl: float | None = None) -> bool:
        self._write(key, value, ttl)
        return True

    async def multi_set(self, pairs: list[tuple[str, Any]], ttl: float | None = None) -> bool:
        for key, value in pairs:
            self._write(key, value, ttl)
        return True

    async def delete(self, key: str) -> int:
        return 1 if self._pop(key) is not None else 0

    async def clear(self, namespace: str | None = None) -> bool:
        self.probation.clear()
        self.protected.clear()
        self.bytes = {"probation": 0, "protected": 0}
        return True

    async def close(self) -> None:
        return None


def redis_store(redis: SharedRedis) -> Any:
    """aiocache's Redis store, on the process's one client (`platform/redis.py`: TLS, ACL,
    Sentinel, a pool whose commands wait for a connection). aiocache 0.12 takes only a host and a
    password, so the client it builds from them (never connected) is replaced by the shared one."""
    cache = Cache(
        Cache.REDIS,
        serializer=JsonSerializer(),
        namespace=NAMESPACE,
        timeout=None,  # aiocache's own 5 s bound is replaced by ours (`ResponseCache._ask`)
    )
    cache.client = redis.client
    return cache


def system(key: str) -> str:
    """The back-end a key belongs to: keys start with its name (`crm GET /crm/api/…`)."""
    return key.split(" ", 1)[0]


class ResponseCache:
    def __init__(
        self,
        store: Any,
        *,
        enabled: bool = True,
        shared: bool | None = None,
        timeout_s: float = 0.05,
        stale_s: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.enabled = enabled
        # any store but our own memory one (Redis) is guarded: it can be slow, hung or gone
        self.shared = not isinstance(store, MemoryStore) if shared is None else shared
        self.timeout_s = timeout_s
        self.stale_s = stale_s
        self.clock = clock
        self.breaker = StoreBreaker()
        self.inflight: dict[str, asyncio.Future[Any]] = {}
        self.hits = 0
        self.misses = 0
        self.errors = 0  # store calls that failed, timed out or were skipped (breaker open)
        self.stale_served = 0
        self.background: set[asyncio.Future[Any]] = set()

    @classmethod
    def build(
        cls,
        redis: SharedRedis | str | None,
        *,
        max_bytes: int = 64_000_000,
        timeout_s: float = 0.05,
        stale_s: float = 600.0,
    ) -> ResponseCache:
        """In Redis when `redis` is given (the process's shared client, or a URL), else in
        memory."""
        if isinstance(redis, str):
            redis = SharedRedis.from_url(redis)
        if redis:  # Redis bounds itself (its maxmemory policy)
            store = redis_store(redis)
            return cls(store, shared=True, timeout_s=timeout_s, stale_s=stale_s)
        return cls(MemoryStore(max_bytes), timeout_s=timeout_s, stale_s=stale_s)

    @classmethod
    def disabled(cls) -> ResponseCache:
        """Stores nothing (benchmarks of the uncached path; `GATEWAY_CACHE=false`)."""
        return cls(MemoryStore(1), enabled=False)

    # ---- the store, guarded ------------------------------------------------------------------
    async def _ask(self, call: Callable[[], Awaitable[Any]], default: Any, what: str) -> Any:
        """One store call: bounded in time, through the cache's breaker; a failure is `default`."""
        if not self.shared:
            return await call()
        if self.breaker.is_open:
            self.errors += 1
            metrics.cache_error()
            return default
        # its own task, not awaited past the bound: a client cleaning up after a cancellation
        # (closing a socket to a stopped server) can take far longer than the bound itself
        task = asyncio.ensure_future(call())
        done, _ = await asyncio.wait({task}, timeout=self.timeout_s)
        if not done:
            task.cancel()
            task.add_done_callback(_forget)
            error: BaseException | None = TimeoutError()
        else:
            error = task.exception()
        if error is not None:  # a cache outage is a miss, whatever it is
            self.errors += 1
            metrics.cache_error()
            self.breaker.failed()
            log.warning("cache_failed", operation=what, error=type(error).__name__)
            return default
        self.breaker.succeeded()
        return task.result()

    async def _store(self, pairs: list[tuple[str, Any]], ttl: float) -> None:
        """Store fresh answers (in the background for a shared store: never on a page's path)."""
        entries = [(k, {"v": v, "t": self.clock()}) for k, v in pairs if may_add_to_cache()]
        if not entries:
            return
        keep = ttl + self.stale_s  # kept past freshness for stale-if-error
        work = self._ask(partial(self.store.multi_set, entries, ttl=keep), None, "set")
        if self.shared:
            self._later(work)
        else:
            await work

    def _later(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def _fresh(self, entry: Any, ttl: float) -> bool:
        return isinstance(entry, dict) and self.clock() - entry.get("t", 0) < ttl

    def _usable_when_failing(self, entry: Any, ttl: float) -> bool:
        return isinstance(entry, dict) and self.clock() - entry.get("t", 0) < ttl + self.stale_s

    # ---- reads ---------------------------------------------------------------------------------
    async def fetch(self, key: str, ttl: float, load: Callable[[], Awaitable[Any]]) -> Any:
        """The cached answer for `key`, or `load()`'s, stored for `ttl` seconds; the last value
        seen when `load()` fails the way a down back-end does (stale-if-error)."""
        if not self.enabled:
            return await load()
        entry = await self._ask(partial(self.store.get, key), None, "get")
        if self._fresh(entry, ttl):
            self.hits += 1
            metrics.cache_lookup(system(key), 1, 0)
            return entry["v"]
        self.misses += 1
        metrics.cache_lookup(system(key), 0, 1)
        future = self.inflight.get(key)
        joined = future is not None
        if future is None:
            future = asyncio.ensure_future(self._load(key, ttl, load))
            self.inflight[key] = future
            future.add_done_callback(lambda _: self.inflight.pop(key, None))
        try:
            return await asyncio.shield(future)
        except TooManyBackendCalls:
            if joined:  # another request's budget ran out, not this one's: load it ourselves
                return await self._load(key, ttl, load)
            raise
        except Exception as error:
            if stale_allowed(error) and self._usable_when_failing(entry, ttl):
                self._served_stale(key, entry)
                return entry["v"]
            raise

    async def _load(self, key: str, ttl: float, load: Callable[[], Awaitable[Any]]) -> Any:
        value = await load()
        await self._store([(key, value)], ttl)
        return value

    async def fetch_many(
        self, keys: list[str], ttl: float, load: Callable[[list[str]], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        """Cached answers for `keys`; the missing ones loaded together by `load(missing)`."""
        if not self.enabled:
            return await load(keys)
        found = await self._ask(partial(self.store.multi_get, keys), [None] * len(keys), "get")
        entries = dict(zip(keys, found, strict=True))
        values = {k: e["v"] for k, e in entries.items() if self._fresh(e, ttl)}
        missing = [k for k in keys if k not in values]
        self.hits += len(values)
        self.misses += len(missing)
        if keys:
            metrics.cache_lookup(system(keys[0]), len(values), len(missing))
        if not missing:
            return values
        try:
            loaded = await load(missing)
        except Exception as error:
            if stale_allowed(error) and all(
                self._usable_when_failing(entries[k], ttl) for k in missing
            ):
                for key in missing:
                    self._served_stale(key, entries[key])
                    values[key] = entries[key]["v"]
                return values
            raise
        await self._store([(k, loaded.get(k)) for k in missing], ttl)
        values.update({k: loaded.get(k) for k in missing})
        return values

    def _served_stale(self, key: str, entry: dict[str, Any]) -> None:
        self.stale_served += 1
        metrics.stale_served()
        note_stale(key.split(" ", 1)[0], float(entry["t"]))

    # ---- changes -------------------------------------------------------------------------------
    async def invalidate(self, *keys: str) -> None:
        for key in keys:
            await self._ask(partial(self.store.delete, key), None, "delete")

    async def clear(self) -> None:
        await self.store.clear(namespace=NAMESPACE)

    @property
    def hit_ratio(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    async def close(self) -> None:
        for task in list(self.background):
            task.cancel()
        await self.store.close()
