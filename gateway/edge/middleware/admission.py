"""Admission control per process: overload is answered fast, never turned into a back-end outage.

At most `limit` requests are worked on at once; up to `queue` more wait (first come, first
served) at most `wait_s` for a place; anything beyond, or waiting longer, gets at once

    503 Service Unavailable, Retry-After: 1
    {"data": null, "errors": [{"message": "…", "extensions": {"code": "OVERLOADED"}}]}

so that latency stays bounded and the event loop never runs so late that healthy back-ends look
dead (their breakers never see an overload: a refused request calls nothing). Pure ASGI; probes
(`/healthz`, `/metrics`, `/livez`, `/readyz`) are always admitted. A request answered with
Server-Sent Events (a graphql-sse subscription) gives its place back when its answer starts: it
stays open for minutes, holding no worker, bounded by its own limits (`GATEWAY_LIVE_*`). Asking
for them is not enough (urql's `Accept` names `text/event-stream` for every query).
"""

from __future__ import annotations

import asyncio
from collections import deque

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.edge.probes import PROBE_PATHS
from gateway.edge.refusals import refuse
from gateway.observability import metrics

MESSAGE = "Le service est très sollicité, réessayez dans un instant."


class Admission:
    def __init__(
        self, app: ASGIApp, *, limit: int, queue: int, wait_s: float, retry_after_s: int = 1
    ) -> None:
        self.app = app
        self.limit = limit
        self.queue = queue
        self.wait_s = wait_s
        self.in_flight = 0
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.refused = 0
        self.retry_after = ((b"retry-after", str(retry_after_s).encode()),)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_flight < self.limit and not self.waiting:
            self.in_flight += 1
        elif not await self._wait_for_a_place():
            self.refused += 1
            metrics.admission_refused()
            await refuse(send, 503, "OVERLOADED", MESSAGE, headers=self.retry_after, close=False)
            return
        if not accepts_events(scope):
            try:
                await self.app(scope, receive, send)
            finally:
                self._leave()
            return
        held = True

        async def send_and_free(message: Message) -> None:
            nonlocal held
            if held and message["type"] == "http.response.start" and events(message):
                held = False  # a subscription's stream: its place goes back now
                self._leave()
            await send(message)

        try:
            await self.app(scope, receive, send_and_free)
        finally:
            if held:
                self._leave()

    async def _wait_for_a_place(self) -> bool:
        """Queue for a place (handed over by a leaving request); False when the queue is full or
        the wait too long."""
        if self.in_flight < self.limit:  # freed meanwhile (only expired waits were queued)
            self.in_flight += 1
            return True
        if len(self.waiting) >= self.queue or self.wait_s <= 0:
            return False
        place: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append(place)
        try:
            async with asyncio.timeout(self.wait_s):
                await place
        except TimeoutError:
            pass
        except asyncio.CancelledError:
            if place.done() and not place.cancelled():
                self._leave()  # handed a place, then cancelled: pass it on
            self._forget(place)
            raise
        if place.done() and not place.cancelled():
            return True  # the place was handed over (maybe just as the wait expired)
        self._forget(place)
        return False

    def _forget(self, place: asyncio.Future[None]) -> None:
        """Drop an expired wait (a leaving request may already have skipped it)."""
        place.cancel()
        if place in self.waiting:
            self.waiting.remove(place)

    def _leave(self) -> None:
        """Hand this place to the longest waiter, or free it."""
        while self.waiting:
            place = self.waiting.popleft()
            if not place.done():
                place.set_result(None)
                return
        self.in_flight -= 1


def accepts_events(scope: Scope) -> bool:
    """A request that may be answered with Server-Sent Events (graphql-sse)."""
    return any(
        name == b"accept" and b"text/event-stream" in value for name, value in scope["headers"]
    )


def events(start: Message) -> bool:
    """An answer of Server-Sent Events."""
    return any(
        name == b"content-type" and value.startswith(b"text/event-stream")
        for name, value in start.get("headers", ())
    )
