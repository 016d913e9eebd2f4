"""Per-key watchers: one task per key reads a snapshot at a set interval while at least one
subscriber of that key is open, hands each snapshot to all of them, and stops when the last one
leaves. Bounded: subscribers per key and in all, a typed refusal past either.

The snapshot and how it is read are the caller's (`resolvers/live.py`): this module knows keys,
subscribers and time only. A read that fails keeps the watcher going; the next one may succeed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

import structlog

from gateway.errors import GatewayError

S = TypeVar("S")

log = structlog.get_logger("gateway.live")


class TooManySubscriptions(GatewayError):
    """A subscription past the per-customer or the per-process bound."""

    code: ClassVar[str] = "TOO_MANY_SUBSCRIPTIONS"


@dataclass(eq=False)
class Watch(Generic[S]):
    """One key's watcher: its subscribers' queues, the last snapshot, the polling task."""

    read: Callable[[], Awaitable[S]]
    queues: set[asyncio.Queue[S]] = field(default_factory=set)
    latest: S | None = None
    task: asyncio.Task[None] | None = None
    reads: int = 0

    def hand(self, snapshot: S) -> None:
        self.latest = snapshot
        for queue in self.queues:
            if queue.full():  # a slow subscriber gets the newest snapshot, not a backlog
                queue.get_nowait()
            queue.put_nowait(snapshot)


@dataclass(eq=False)
class Watchers(Generic[S]):
    """The process's watchers, by key (a customer's id)."""

    interval_s: float = 15.0
    per_key: int = 5
    total: int = 2000
    watches: dict[str, Watch[S]] = field(default_factory=dict)

    @property
    def open(self) -> int:
        return sum(len(w.queues) for w in self.watches.values())

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
            watch = self.watches[key] = Watch(read)
            watch.task = asyncio.create_task(self._poll(key, watch), name=f"watch {key}")
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

    async def _poll(self, key: str, watch: Watch[S]) -> None:
        while True:
            try:
                snapshot = await watch.read()
            except Exception as exc:  # a back-end down: the next read may succeed
                log.warning("watch_read_failed", key=key, error=type(exc).__name__)
            else:
                watch.reads += 1
                watch.hand(snapshot)
            await asyncio.sleep(self.interval_s)

    async def close(self) -> None:
        """Every watcher stopped (the process shuts down)."""
        tasks = [w.task for w in self.watches.values() if w.task is not None]
        self.watches.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
