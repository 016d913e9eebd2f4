"""Redis pub/sub for the process: one connection listens to every channel it follows.

    broadcast = Broadcast(shared)
    await broadcast.listen("live:C-1", heard)     # heard(bytes) for each message on the channel
    await broadcast.publish("live:C-1", b"...")   # to every process listening, this one included
    await broadcast.stop("live:C-1", heard)

One reader task hands each message to its channel's handler (a plain function: it must not
block). A lost connection is opened again by redis-py at the next read, which subscribes again
to every channel; `healthy` is False from the failure until a read succeeds, and what was
published in between is lost (pub/sub keeps nothing). `listen`, `stop` and `publish` go through
`SharedRedis.call` and raise `RedisUnreachable`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import structlog
from redis.asyncio.client import PubSub

from gateway.platform.redis import SharedRedis

log = structlog.get_logger("gateway.broadcast")
READ_WAIT_S = 1.0  # one read waits this long for a message, then reads again


class Broadcast:
    """The process's channels, their handlers and the task that reads them."""

    def __init__(self, shared: SharedRedis) -> None:
        self.shared = shared
        self.pubsub: PubSub = shared.client.pubsub(ignore_subscribe_messages=True)
        self.handlers: dict[str, Callable[[bytes], None]] = {}
        self.reader: asyncio.Task[None] | None = None
        self.healthy = False  # the last read succeeded: messages are arriving

    async def listen(self, channel: str, handler: Callable[[bytes], None]) -> None:
        """`handler` gets every message published on `channel` from now on (it replaces the
        channel's handler, if any)."""
        self.handlers[channel] = handler
        await self.shared.call(lambda: self.pubsub.subscribe(channel))
        if self.reader is None or self.reader.done():
            self.healthy = True
            self.reader = asyncio.create_task(self._read(), name="broadcast reader")

    async def stop(self, channel: str, handler: Callable[[bytes], None]) -> None:
        """`handler` no longer called; the channel left when it was its handler."""
        if self.handlers.get(channel) is not handler:
            return  # another listener took the channel over: it stays
        del self.handlers[channel]
        await self.shared.call(lambda: self.pubsub.unsubscribe(channel))

    async def publish(self, channel: str, message: bytes) -> int:
        """The number of processes that were listening (this one counts when it listens)."""
        listeners: int = await self.shared.call(
            lambda: self.shared.client.publish(channel, message)
        )
        return listeners

    async def _read(self) -> None:
        while True:
            try:
                message = await self.pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=READ_WAIT_S
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # connection lost: the next read reconnects
                if self.healthy:
                    log.warning("broadcast_lost", error=f"{type(exc).__name__}: {exc}"[:300])
                self.healthy = False
                await asyncio.sleep(self.shared.options.circuit_s)
                continue
            if not self.healthy:
                log.info("broadcast_back")
            self.healthy = True
            if message is not None:
                self._hand(message)

    def _hand(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return
        channel = message["channel"]
        name = channel.decode() if isinstance(channel, bytes) else str(channel)
        handler = self.handlers.get(name)
        if handler is None:
            return
        try:
            handler(message["data"])
        except Exception as exc:  # a handler's bug must not stop the others' messages
            log.error("broadcast_handler_failed", channel=name, error=type(exc).__name__)

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
        self.handlers.clear()
        with contextlib.suppress(Exception):
            await self.pubsub.aclose()  # type: ignore[no-untyped-call]
