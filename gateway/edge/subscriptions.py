"""The process's open subscriptions, over both transports: counted, kept alive, and ended so that
their clients reconnect elsewhere when the process stops.

graphql-transport-ws (`KeptTransportWs`, one per WebSocket):

* `connection_init` within `GATEWAY_LIVE_INIT_TIMEOUT_S` of the upgrade, else closed 4408
  (strawberry's `connection_init_wait_timeout`);
* a `ping` every `GATEWAY_LIVE_PING_INTERVAL_S` once acknowledged, answered by a `pong` within
  `GATEWAY_LIVE_PING_TIMEOUT_S`, else closed 4408 "Ping timeout" (a client gone without closing,
  a phone out of coverage): a proxy answers WebSocket control pings itself, a protocol `ping` only
  the client does;
* no operation for `GATEWAY_LIVE_IDLE_TIMEOUT_S` (checked at each ping): closed 1000 "Idle";
* more operations at once than `GATEWAY_LIVE_PER_CUSTOMER`: refused `TOO_MANY_SUBSCRIPTIONS`;
* the token's session ended (signed out, revoked): the subscription that found it sends its
  `UNAUTHENTICATED` error and `complete`, then the socket is closed 4403 "Forbidden" (graphql-ws's
  code for a connection refused; the view refuses `connection_init` with it too).

graphql-sse (distinct connections): strawberry sends a `: ping` comment every 15 s; the stream is
wrapped by `until_shutdown`.

Shutdown (`OpenStreams.drain`, on SIGTERM through `probes.Drain`, and at the end of the lifespan):
every WebSocket is closed 1012 "Service restart" (graphql-ws clients retry it; uvicorn does the
same to the sockets it still holds when it stops), and every event stream ends, cleanly (the last
chunk sent) but without its `complete` event: graphql-sse clients take a stream that ends without
`complete` for a lost connection and retry it, where `complete` would end the subscription for
good. Their retries reach another pod: `/readyz` says 503 from SIGTERM on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from graphql import GraphQLError
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    PongMessage,
    SubscribeMessage,
)

from gateway.context import Context
from gateway.observability import metrics
from gateway.platform.watchers import TooManySubscriptions

WS, SSE = "graphql-transport-ws", "graphql-sse"
RESTART = (1012, "Service restart: reconnect")
PING_TIMEOUT = (4408, "Ping timeout")
IDLE = (1000, "Idle")
SESSION_ENDED = (4403, "Forbidden")
RECONNECT_COMMENT = ": the gateway restarts, reconnect\r\n\r\n"


class OpenStreams:
    """The open WebSockets, and the signal that ends every stream (set once, never cleared)."""

    def __init__(self) -> None:
        self.sockets: set[KeptTransportWs] = set()
        self.draining = asyncio.Event()
        self.closing: set[asyncio.Task[None]] = set()

    def drain(self) -> None:
        """Every stream ends, every WebSocket is closed 1012 (in the event loop; synchronous)."""
        self.draining.set()
        for socket in list(self.sockets):
            task = asyncio.create_task(socket.close(*RESTART))
            self.closing.add(task)
            task.add_done_callback(self.closing.discard)

    async def close(self) -> None:
        """`drain`, then wait for the sockets' close frames to be sent."""
        self.drain()
        await asyncio.gather(*self.closing, return_exceptions=True)


def until_shutdown(
    stream: Callable[[], AsyncIterator[str]], streams: OpenStreams
) -> Callable[[], AsyncIterator[str]]:
    """An event stream that ends (without `complete`) when the process drains; counted open."""

    async def ended_on_drain() -> AsyncIterator[str]:
        metrics.live_subscription(SSE, True)
        source = stream()
        draining = asyncio.ensure_future(streams.draining.wait())
        chunk: asyncio.Future[str] | None = None
        try:
            while not draining.done():
                chunk = asyncio.ensure_future(anext(source))
                await asyncio.wait({chunk, draining}, return_when=asyncio.FIRST_COMPLETED)
                if not chunk.done():  # draining: the subscription is cancelled, not completed
                    chunk.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                        await chunk
                    break
                try:
                    value = chunk.result()
                except StopAsyncIteration:  # ended by itself: `complete` was its last chunk
                    return
                yield value
            yield RECONNECT_COMMENT
        finally:
            draining.cancel()
            metrics.live_subscription(SSE, False)
            if chunk is not None and not chunk.done():
                # the client went away while the source waited for its next event: cancelled in
                # its own task, it closes the subscription now (`aclose` cannot stop a source
                # that is running; left alone it ran on until a heartbeat and the garbage
                # collector, its customer's watcher still reading the back-ends)
                chunk.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await chunk
            closing = getattr(source, "aclose", None)
            if closing is not None:
                with contextlib.suppress(Exception):
                    await closing()

    return ended_on_drain


class EventStreamResponse(StreamingResponse):
    """An event stream whose body and subscription are closed when the response ends, however
    it ends. Starlette leaves the body open when the client goes away while a chunk is being
    sent (a full socket, a busy process), and closing the body does not reach the subscription
    when strawberry's heartbeat merge is waiting to queue its next event (its reader is
    cancelled, not its source): the subscription then ran on, its customer's watcher reading
    the back-ends every interval, until the garbage collector came by."""

    def __init__(self, *args: Any, subscription: object = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subscription = subscription

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            for stream in (self.body_iterator, self.subscription):
                closing = getattr(stream, "aclose", None)
                if closing is not None:  # one already running is being cancelled: let it be
                    with contextlib.suppress(Exception):
                        await closing()


class KeptTransportWs(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with the gateway's timeouts, bound and shutdown (module docstring)."""

    watchdog: asyncio.Task[None] | None = None
    pong: asyncio.Event  # the last `ping`'s answer came (set by `handle`)
    busy_at: float  # when an operation last ran on the socket (loop time)

    @property
    def streams(self) -> OpenStreams:
        found: OpenStreams = getattr(self.view, "streams")  # noqa: B009 (GraphQLApp's)
        return found

    async def handle(self) -> None:
        streams = self.streams
        if streams.draining.is_set():
            await self.close(*RESTART)
            return
        streams.sockets.add(self)
        self.pong = asyncio.Event()
        self.busy_at = asyncio.get_running_loop().time()
        self.watchdog = asyncio.create_task(self.keep_alive(), name="graphql-transport-ws ping")
        try:
            await super().handle()
        finally:
            streams.sockets.discard(self)
            self.watchdog.cancel()

    async def keep_alive(self) -> None:
        """Ping, wait for the pong, close a connection idle for too long (module docstring)."""
        settings = self.context.services.settings
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(settings.live_ping_interval_s)
            if not self.connection_acknowledged:
                continue  # connection_init_wait_timeout applies
            if self.operations:
                self.busy_at = loop.time()
            elif loop.time() - self.busy_at >= settings.live_idle_timeout_s:
                await self.close(*IDLE)
                return
            self.pong.clear()
            try:
                await self.send_message({"type": "ping"})
                await asyncio.wait_for(self.pong.wait(), settings.live_ping_timeout_s)
            except TimeoutError:
                await self.close(*PING_TIMEOUT)
                return
            except Exception:  # the socket went away meanwhile: `handle` ends
                return

    async def handle_pong(self, message: PongMessage) -> None:
        self.pong.set()

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        self.busy_at = asyncio.get_running_loop().time()
        bound = self.context.services.settings.live_per_customer
        if self.connection_acknowledged and len(self.operations) >= bound:
            refused = TooManySubscriptions(
                f"Trop de suivis ouverts sur cette connexion ({bound} au plus)."
            )
            error = GraphQLError(refused.message, extensions=refused.extensions)
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        metrics.live_subscription(WS, True)
        try:
            await super().run_operation(operation)
        finally:
            metrics.live_subscription(WS, False)
        if self.context.session_ended:  # every operation of the socket runs with that token
            await self.close(*SESSION_ENDED)

    async def close(self, code: int, reason: str) -> None:
        """Close the socket; nothing when it is closed already."""
        with contextlib.suppress(Exception):
            await self.websocket.close(code=code, reason=reason)
