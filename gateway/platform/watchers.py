"""Per-key watchers: while at least one subscriber of a key is open, a snapshot of that key is
read at a set interval and handed to all of them; the watcher stops when the last one leaves.
Bounded: subscribers per key and in all, a typed refusal past either.

With Redis (`GATEWAY_REDIS_URL`), one process of the whole deployment reads each key:

    process A (holds live:lease:K)          Redis                process B
    read → hand to A's subscribers
         → SET live:last:K, PUBLISH live:K  ───────────→  hand to B's subscribers

* each interval, every process watching K asks for the lease `live:lease:K` (`platform/lease.py`:
  taken with SET NX PX, kept by its holder, for `LEASE_INTERVALS` intervals); the holder reads,
  hands the snapshot to its own subscribers and publishes it on `live:K`; the others only listen
  (`platform/broadcast.py`, one pub/sub connection per process);
* the holder also keeps the last snapshot in `live:last:K` for the lease's time: a process that
  starts following K hands it to its first subscriber at once instead of an interval later;
* a holder that stops (its last subscriber left, the process shuts down) releases the lease, and
  another process takes it at its next tick; one that dies keeps it until it runs out, and a
  follower, which asks again when the lease it was refused runs out (unless renewed by then),
  takes it at once: at most `LEASE_INTERVALS` intervals without a read;
* without Redis, with its circuit open, with this process's pub/sub connection lost or with a
  holder's snapshot this process cannot decode (another version mid-deployment), a process reads
  by itself: more reads, the same answers.

Roles, in the metrics (`gateway_live_watchers{role}`): `holder` (holds the lease, reads),
`follower` (hears the holder), `alone` (reads by itself). The snapshot, how it is read and how it
is written in bytes (`Codec`) are the caller's (`resolvers/live.py`): this module knows keys,
subscribers, time and bytes only. A read that fails keeps the watcher going; the next one may
succeed.

At most `max_reads` reads run at once in a process (`GATEWAY_LIVE_MAX_READS`): past it, a read
waits for a place before its back-end calls start, so a process with more watchers than it can
read in an interval reads each of them less often instead of timing its calls out on a loop
too busy to answer them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import ClassVar, Generic, Literal, TypeVar

import structlog

from gateway.errors import GatewayError
from gateway.observability import metrics
from gateway.platform.broadcast import Broadcast
from gateway.platform.lease import Leases, holder_token
from gateway.platform.redis import RedisUnreachable, SharedRedis

S = TypeVar("S")
Role = Literal["starting", "holder", "follower", "alone"]

log = structlog.get_logger("gateway.live")
LEASE_INTERVALS = 1.5  # a lease outlives one renewal by half an interval
LEASE_MARGIN_S = 0.01  # a follower asks again this long after the holder's lease runs out


class TooManySubscriptions(GatewayError):
    """A subscription past the per-customer or the per-process bound."""

    code: ClassVar[str] = "TOO_MANY_SUBSCRIPTIONS"


@dataclass(frozen=True)
class Codec(Generic[S]):
    """How a snapshot travels between processes."""

    encode: Callable[[S], bytes]
    decode: Callable[[bytes], S]


@dataclass(eq=False)
class Watch(Generic[S]):
    """One key's watcher: its subscribers' queues, the last snapshot, the polling task, its role."""

    key: str
    read: Callable[[], Awaitable[S]]
    queues: set[asyncio.Queue[S]] = field(default_factory=set)
    latest: S | None = None
    task: asyncio.Task[None] | None = None
    reads: int = 0
    role: Role = "starting"
    token: bytes = field(default_factory=holder_token)  # its lease's, and its messages' origin
    listening: bool = False  # subscribed to the key's channel
    garbled: bool = False  # the holder's last message could not be decoded here
    heard: Callable[[bytes], None] = field(default=lambda message: None)  # its channel's messages

    def hand(self, snapshot: S) -> None:
        self.latest = snapshot
        for queue in self.queues:
            if queue.full():  # a slow subscriber gets the newest snapshot, not a backlog
                queue.get_nowait()
            queue.put_nowait(snapshot)


@dataclass(eq=False)
class Watchers(Generic[S]):
    """The process's watchers, by key (a customer's id); shared through `redis` when given."""

    interval_s: float = 15.0
    per_key: int = 5
    total: int = 2000
    redis: SharedRedis | None = None
    codec: Codec[S] | None = None
    prefix: str = "live"
    max_reads: int = 16
    watches: dict[str, Watch[S]] = field(default_factory=dict)
    reading: asyncio.Semaphore = field(init=False)
    leases: Leases | None = field(init=False, default=None)
    broadcast: Broadcast | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.reading = asyncio.Semaphore(self.max_reads)
        if self.redis is not None:
            if self.codec is None:
                raise ValueError("watchers shared through Redis need a codec for their snapshots")
            self.leases = Leases(self.redis)
            self.broadcast = Broadcast(self.redis)

    @property
    def open(self) -> int:
        return sum(len(w.queues) for w in self.watches.values())

    @property
    def lease_ttl_s(self) -> float:
        return LEASE_INTERVALS * self.interval_s

    def lease_key(self, key: str) -> str:
        return f"{self.prefix}:lease:{key}"

    def channel(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def last_key(self, key: str) -> str:
        return f"{self.prefix}:last:{key}"

    @contextlib.asynccontextmanager
    async def subscribe(
        self, key: str, read: Callable[[], Awaitable[S]]
    ) -> AsyncIterator[asyncio.Queue[S]]:
        """A queue of `key`'s snapshots (the last one known first, when there is one), open
        until the block ends; `read` starts the watcher when `key` has none."""
        watch = self.watches.get(key)
        if watch is not None and len(watch.queues) >= self.per_key:
            raise TooManySubscriptions(
                f"Trop de suivis en direct ouverts pour ce compte ({self.per_key} au plus)."
            )
        if self.open >= self.total:
            raise TooManySubscriptions("Trop de suivis en direct ouverts, réessayez plus tard.")
        queue: asyncio.Queue[S] = asyncio.Queue(maxsize=1)
        if watch is None:
            watch = self.watches[key] = Watch(key, read)
            watch.heard = functools.partial(self._heard, watch)
            watch.task = asyncio.create_task(self._run(watch), name=f"watch {key}")
        elif watch.latest is not None:
            queue.put_nowait(watch.latest)
        watch.queues.add(queue)
        try:
            yield queue
        finally:
            watch.queues.discard(queue)
            if not watch.queues and self.watches.get(key) is watch:
                del self.watches[key]
                if watch.task is not None:
                    watch.task.cancel()

    async def _run(self, watch: Watch[S]) -> None:
        """One tick an interval (a slow tick delays the next, never doubles it), until cancelled;
        then the lease released and the channel left."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                started = loop.time()
                free_in_s = await self._tick(watch)
                wait_s = self.interval_s - (loop.time() - started)
                if free_in_s is not None:  # a follower tries again as soon as the lease may be free
                    wait_s = min(wait_s, free_in_s + LEASE_MARGIN_S)
                await asyncio.sleep(max(LEASE_MARGIN_S, wait_s))
        finally:
            await self._leave(watch)

    async def _tick(self, watch: Watch[S]) -> float | None:
        """Read, or hear the holder; for a follower, when the holder's lease runs out."""
        if self.leases is None or self.broadcast is None:
            self._become(watch, "alone")
            await self._read(watch)
            return None
        try:
            if not watch.listening:
                await self.broadcast.listen(self.channel(watch.key), watch.heard)
                watch.listening = True
                if watch.latest is None:
                    await self._last(watch)
            lease = await self.leases.hold(
                self.lease_key(watch.key), watch.token, self.lease_ttl_s, watch.role == "holder"
            )
        except RedisUnreachable:
            lease = None
        if lease is not None and lease.held:
            self._become(watch, "holder")
            snapshot = await self._read(watch)
            if snapshot is not None:
                await self._publish(watch, snapshot)
        elif lease is None or not self.broadcast.healthy or watch.garbled:
            self._become(watch, "alone")  # no one to hear: read, as without Redis
            await self._read(watch)
        else:
            self._become(watch, "follower")
            return lease.free_in_s
        return None

    async def _read(self, watch: Watch[S]) -> S | None:
        try:
            async with self.reading:  # past `max_reads`, reads queue: the interval stretches
                snapshot = await watch.read()
        except Exception as exc:  # a back-end down: the next read may succeed
            log.warning("watch_read_failed", key=watch.key, error=type(exc).__name__)
            metrics.live_snapshot("failed")
            return None
        watch.reads += 1
        metrics.live_snapshot("read")
        watch.hand(snapshot)
        return snapshot

    async def _publish(self, watch: Watch[S], snapshot: S) -> None:
        assert self.redis is not None and self.codec is not None
        client, payload = self.redis.client, self.codec.encode(snapshot)
        ttl_ms = round(self.lease_ttl_s * 1000)

        async def send() -> None:
            async with client.pipeline(transaction=False) as pipe:
                pipe.set(self.last_key(watch.key), payload, px=ttl_ms)
                pipe.publish(self.channel(watch.key), watch.token + b"\n" + payload)
                await pipe.execute()

        # unheard this time, the followers read by themselves once the lease runs out
        with contextlib.suppress(RedisUnreachable):
            await self.redis.call(send)

    async def _last(self, watch: Watch[S]) -> None:
        """The holder's last snapshot, for this process's first subscriber."""
        assert self.redis is not None
        client = self.redis.client
        found: bytes | str | None = await self.redis.call(
            lambda: client.get(self.last_key(watch.key))
        )
        if isinstance(found, bytes):
            self._heard(watch, b"\n" + found)

    def _heard(self, watch: Watch[S], message: bytes) -> None:
        origin, _, payload = message.partition(b"\n")
        if origin == watch.token:
            return  # this watcher's own, handed already
        assert self.codec is not None
        try:
            snapshot = self.codec.decode(payload)
        except Exception as exc:
            if not watch.garbled:
                log.warning("watch_message_unreadable", key=watch.key, error=type(exc).__name__)
            watch.garbled = True
            return
        watch.garbled = False
        metrics.live_snapshot("received")
        watch.hand(snapshot)

    def _become(self, watch: Watch[S], role: Role) -> None:
        if watch.role == role:
            return
        metrics.live_watcher(watch.role, role)
        if role == "holder":
            log.info("watch_lease_taken", key=watch.key, was=watch.role)
        watch.role = role

    async def _leave(self, watch: Watch[S]) -> None:
        held = watch.role == "holder"
        self._become(watch, "starting")  # counted no more
        if self.leases is None or self.broadcast is None:
            return
        with contextlib.suppress(RedisUnreachable):
            if held:  # the next process takes it at its next tick, not once it runs out
                await self.leases.release(self.lease_key(watch.key), watch.token)
            if watch.listening:
                await self.broadcast.stop(self.channel(watch.key), watch.heard)

    async def close(self) -> None:
        """Every watcher stopped, its lease released (the process shuts down)."""
        tasks = [w.task for w in self.watches.values() if w.task is not None]
        self.watches.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.broadcast is not None:
            await self.broadcast.close()
