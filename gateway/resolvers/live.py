"""What a customer follows live: their demandes and their unread notifications.

A subscription joins its customer's watcher (`platform/watchers.py`, one per customer in the
process, shared by all their subscriptions): the watcher reads the demandes (from the CRM, never
the cache) and the notification feed every `GATEWAY_LIVE_INTERVAL_S`; each subscription compares
each state with the one before and sends what changed. Each read is also a look for notification
events (`events.py`): what it posts is in the same state's feed and unread count. The session of
the token is checked at each interval: an ended session ends the subscription with
`UNAUTHENTICATED` and marks the context (`session_ended`), whose WebSocket the edge then closes.
Staff and anonymous callers are refused. Each state is answered with a deadline, a call budget
and loaders of its own (`fresh_scope`), as a request is.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import orjson
from pydantic import TypeAdapter

from gateway.adapters.transport import budget
from gateway.adapters.transport.resilience import start_deadline
from gateway.context import Context
from gateway.domain.alerts import Notification
from gateway.domain.records import Demande
from gateway.domain.values import DemandeStatus, months_before
from gateway.errors import Forbidden, Unauthenticated
from gateway.identity.sessions import SessionEnded
from gateway.loading.loaders import Loaders
from gateway.resolvers import access, events
from gateway.resolvers.access import Scope
from gateway.resolvers.alerts import NOTIFICATION_PERIOD, crm


@dataclass(frozen=True, slots=True)
class LiveState:
    """What the watcher read of one customer."""

    demandes: tuple[Demande, ...]
    unread: int
    latest: Notification | None

    def to_json(self) -> bytes:
        """The state as the customer's watcher publishes it to the other processes."""
        return orjson.dumps(self)

    @classmethod
    def from_json(cls, data: bytes) -> LiveState:
        """A state published by another process; `ValueError` when it is not one."""
        return _as_json().validate_json(data)


@cache
def _as_json() -> TypeAdapter[LiveState]:
    return TypeAdapter(LiveState)


@dataclass(frozen=True, slots=True)
class DemandeEvent:
    created: bool  # else: its status changed
    previous: DemandeStatus | None
    at: datetime
    demande: Demande


def fresh_scope(ctx: Context) -> None:
    """A deadline, a call budget and loaders of their own for what one state's answer reads."""
    settings = ctx.services.settings
    start_deadline(settings.request_deadline_s)
    budget.begin(settings.max_backend_calls, settings.cache_max_adds_per_request)
    ctx.loaders = Loaders(ctx.services.backends, None)


async def subscriber_scope(ctx: Context) -> Scope:
    principal = ctx.require_principal()
    if principal.is_staff:
        raise Forbidden("Le suivi en direct est réservé au client.")
    customer = await ctx.loaders.customer(principal.subject)
    if customer is None:
        raise Unauthenticated("Compte client inconnu.")
    return Scope(customer)


def reader(ctx: Context, scope: Scope) -> Callable[[], Awaitable[LiveState]]:
    """How the customer's watcher reads: with a context of its own (the first subscriber's,
    copied), since each read replaces the loaders of the context it runs in, and that subscriber
    may be answering a state with its own at that moment."""
    ctx = dataclasses.replace(ctx)
    services = ctx.services
    crm_client = services.backends.crm
    alerts = crm(ctx)
    client_id = ctx.require_principal().subject

    async def read() -> LiveState:
        fresh_scope(ctx)
        today = services.clock.today()
        since = months_before(today, access.DEMANDE_WINDOW_MONTHS)
        (found, feed), seen = await asyncio.gather(
            asyncio.gather(
                asyncio.gather(
                    *(crm_client.demandes_now(m.client_id, since) for m in scope.members)
                ),
                alerts.feed(client_id, today - NOTIFICATION_PERIOD),
            ),
            events.sight(ctx, scope),
        )
        demandes = tuple(d for batch in found for d in batch)
        if await events.tell(ctx, scope, seen, demandes, feed):  # the count with what was posted
            feed = await alerts.feed(client_id, today - NOTIFICATION_PERIOD)
        if feed is None:
            return LiveState(demandes, 0, None)
        return LiveState(demandes, feed.unread, next(iter(feed.notifications), None))

    return read


async def states(ctx: Context) -> AsyncGenerator[tuple[Scope, LiveState | None, LiveState], None]:
    """(the subscriber's scope, the state before, the state now) at each read of the customer's
    watcher, the first with no state before; ends with `SessionEnded` when the token's session
    ends."""
    scope = await subscriber_scope(ctx)
    principal = ctx.require_principal()
    services = ctx.services
    watchers = services.live
    before: LiveState | None = None
    async with watchers.subscribe(principal.subject, reader(ctx, scope)) as queue:
        while True:
            try:
                now = await asyncio.wait_for(queue.get(), watchers.interval_s)
            except TimeoutError:
                now = None
            if principal.session is not None:
                try:
                    await services.sessions.check(principal.session, principal.subject)
                except SessionEnded:
                    ctx.session_ended = True  # its WebSocket closes (edge/subscriptions.py)
                    raise
            if now is None or now is before:
                continue
            fresh_scope(ctx)
            yield scope, before, now
            before = now


def demande_events(
    before: LiveState | None, now: LiveState, only: str | None, at: datetime | None = None
) -> list[DemandeEvent]:
    """The demandes created or moved between two states (none against the first one)."""
    if before is None:
        return []
    at = at or datetime.now(UTC)
    known = {d.id: d for d in before.demandes}
    events = []
    for demande in now.demandes:
        if only is not None and demande.id != only:
            continue
        previous = known.get(demande.id)
        if previous is None:
            events.append(DemandeEvent(True, None, at, demande))
        elif previous.status != demande.status:
            events.append(DemandeEvent(False, previous.status, at, demande))
    return events


def notifications_changed(before: LiveState | None, now: LiveState) -> bool:
    """The first state is always sent (the badge's count); later ones when count or newest moved."""
    if before is None:
        return True
    newest = before.latest.id if before.latest else None
    return before.unread != now.unread or newest != (now.latest.id if now.latest else None)
