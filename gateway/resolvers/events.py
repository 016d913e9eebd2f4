"""Notification events, found and posted once: the CRM never raises `REGLEMENT_EFFECTUE`,
`DOCUMENT_DISPONIBLE` nor `DEMANDE_MISE_A_JOUR` itself, the gateway posts them when it sees them.

It looks at sign-in, once the session is open (`after_sign_in`: in the background, the answer
never waits; the app's shutdown awaits `looks_settled`), and at each read of a customer's live
watcher (`live.py`: `sight` runs beside the watcher's own reads, `tell` posts before the state is
handed to the subscriptions, so the unread count they get counts what was just posted). Customers
who are not connected are not watched: that is the back office's job.

A look reads, from the back-ends themselves (never the answer cache), what the customer can see
of the last `LOOKBACK_DAYS`: their règlements and health reimbursements (claims), their documents
(éditique) and their demandes (CRM). `domain/events.py` compares them with the markers kept in
the shared store, per customer,

    events:<clientId>   {since, seen: {REGLEMENT_EFFECTUE: [key…], …}}   400 days

and each event is posted to the CRM's feed under its derived `cleIdempotence`, oldest first: a
retry after a lost answer, another process or a sign-in racing a watcher posts the same key, and
the CRM records it once. The markers are written after the posts, without the events whose post
failed (posted again at the next look). When the markers are absent, the CRM's feed tells a first
sight (nothing posted) from lost markers (its keys say what was posted).

Failures never reach the customer: a back-end that cannot be read leaves its kind as it was, a
store that cannot be read skips the look, one that cannot be written is read as lost next time.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

import structlog

from gateway.adapters.transport import budget
from gateway.adapters.transport.resilience import start_deadline
from gateway.context import Context
from gateway.domain.alerts import NotificationFeed
from gateway.domain.events import (
    LOOKBACK_DAYS,
    EventKind,
    Fact,
    Markers,
    compare,
    demande_fact,
    document_fact,
    payment_fact,
)
from gateway.domain.records import PARIS, Demande
from gateway.domain.values import months_before
from gateway.errors import BackendRejected, GatewayError
from gateway.loading.loaders import Loaders
from gateway.resolvers import access
from gateway.resolvers.access import Scope
from gateway.resolvers.alerts import NOTIFICATION_PERIOD, crm

log = structlog.get_logger("gateway.events")

MARKERS_TTL_S = 400 * 86_400
MAX_LOOKS = 500  # background looks in flight per process; past it a sign-in starts none
T = TypeVar("T")


def marker_key(client_id: str) -> str:
    return f"events:{client_id}"


def own_scope(ctx: Context) -> None:
    """A deadline and a call budget of the look's own (as a request has)."""
    settings = ctx.services.settings
    start_deadline(settings.request_deadline_s)
    budget.begin(settings.max_backend_calls, settings.cache_max_adds_per_request)


async def read_or_none(what: str, read: Awaitable[T]) -> T | None:
    try:
        return await read
    except GatewayError as exc:  # that kind stays as it was; the next look reads it again
        log.warning("event_read_failed", what=what, error=type(exc).__name__)
        return None


# ---- what the customer can see -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Sight:
    """A look's reads but the demandes (a watcher reads them for itself)."""

    readable: bool  # False: the store could not be read, nothing is posted
    markers: Markers | None
    payments: tuple[Fact, ...] | None  # None: not read this time
    documents: tuple[Fact, ...] | None


async def sight(ctx: Context, scope: Scope) -> Sight:
    assert scope.customer is not None
    client_id = scope.customer.client_id
    since = ctx.today - timedelta(days=LOOKBACK_DAYS)
    (readable, markers), payments, documents = await asyncio.gather(
        markers_of(ctx, client_id),
        read_or_none("payments", payments_since(ctx, scope, since)),
        read_or_none("documents", documents_since(ctx, scope, since)),
    )
    return Sight(readable, markers, payments, documents)


async def markers_of(ctx: Context, client_id: str) -> tuple[bool, Markers | None]:
    """(whether the store answered, the customer's markers); a broken record reads as lost."""
    try:
        record = await ctx.services.store.get(marker_key(client_id))
    except GatewayError as exc:
        log.warning("event_markers_unreadable", error=type(exc).__name__)
        return False, None
    return True, Markers.of(record) if record is not None else None


async def payments_since(ctx: Context, scope: Scope, since: date) -> tuple[Fact, ...]:
    """Benefit règlements the scope may see (as `reglements` selects them) and, for a person,
    their health reimbursements."""
    assert scope.customer is not None
    claims = ctx.services.backends.claims
    queries = await access.claims_queries(ctx, scope, None)
    reads = [claims.paid_since(since, contract=q.contract, affiliate=q.affiliate) for q in queries]
    if not scope.is_company:
        reads += [claims.reimbursed_since(insured, since) for insured in scope.claims_ids]
    found = await asyncio.gather(*reads)
    customer = scope.customer.client_id
    return tuple(payment_fact(customer, item) for batch in found for item in batch)


async def documents_since(ctx: Context, scope: Scope, since: date) -> tuple[Fact, ...]:
    assert scope.customer is not None
    editique = ctx.services.backends.editique
    found = await asyncio.gather(*(editique.issued_since(p, since) for p in scope.editique_ids))
    customer = scope.customer.client_id
    return tuple(document_fact(customer, item) for batch in found for item in batch)


async def demandes_now(ctx: Context, scope: Scope) -> tuple[Demande, ...]:
    crm = ctx.services.backends.crm
    since = months_before(ctx.today, access.DEMANDE_WINDOW_MONTHS)
    found = await asyncio.gather(*(crm.demandes_now(m.client_id, since) for m in scope.members))
    return tuple(d for batch in found for d in batch)


# ---- telling the CRM -----------------------------------------------------------------------------
async def tell(
    ctx: Context,
    scope: Scope,
    seen: Sight,
    demandes: Sequence[Demande] | None,
    feed: NotificationFeed | None = None,
) -> int:
    """Post the events of `seen` and `demandes` (the customer's demandes now; None: not read);
    `feed`, when the caller read it, spares a read of the CRM's feed. The number posted. Never
    raises: the watcher's state is handed whatever happens here."""
    try:
        return await told(ctx, scope, seen, demandes, feed)
    except Exception as exc:
        log.error("event_look_failed", error=type(exc).__name__, exc_info=True)
        return 0


async def told(
    ctx: Context,
    scope: Scope,
    seen: Sight,
    demandes: Sequence[Demande] | None,
    feed: NotificationFeed | None,
) -> int:
    assert scope.customer is not None
    client_id = scope.customer.client_id
    if not seen.readable:
        return 0
    customer_demandes = (
        None if demandes is None else tuple(demande_fact(client_id, d) for d in demandes)
    )
    posted: dict[str, date] = {}
    if seen.markers is None:  # a first sight, or lost markers: the CRM's feed tells which
        if feed is None:
            period = ctx.today - NOTIFICATION_PERIOD
            feed = await read_or_none("feed", crm(ctx).feed(client_id, period))
        if feed is None:
            return 0
        posted = {n.key: n.created_at.astimezone(PARIS).date() for n in feed.notifications if n.key}
    facts = {
        EventKind.PAYMENT: seen.payments,
        EventKind.DOCUMENT: seen.documents,
        EventKind.DEMANDE: customer_demandes,
    }
    found = compare(seen.markers, facts, ctx.today, posted)
    unposted = await post(ctx, client_id, found.events)
    kept = found.kept(unposted)
    if kept is not None:
        try:
            await ctx.services.store.put(marker_key(client_id), kept.record(), MARKERS_TTL_S)
        except GatewayError as exc:  # read as lost next time: the CRM's keys stop repeats
            log.warning("event_markers_not_kept", error=type(exc).__name__)
    if found.first_sight and kept is not None:
        log.info("event_markers_started", client_id=client_id)
    return len(found.events) - len(unposted)


async def post(ctx: Context, client_id: str, events: Sequence[Fact]) -> set[str]:
    """Post each event, oldest first, until one fails: the keys left unposted (the next look
    posts them, in the same order). Never one after an unposted one: lost markers are made up
    from the oldest event told (`compare`)."""
    if not events:
        return set()
    own_scope(ctx)  # the posts do not share the reads' deadline
    alerts = crm(ctx)
    counts = ctx.services.event_counts
    for event in events:
        counts.found(event.kind.value)
    for done, event in enumerate(events):
        try:
            created = await alerts.post(client_id, event.kind.value, event.notice, event.key)
        except BackendRejected:  # the CRM refuses it: posting again would not change that
            log.error("event_refused", kind=event.kind.value, client_id=client_id)
            continue
        except GatewayError as exc:
            log.warning("event_not_posted", kind=event.kind.value, error=type(exc).__name__)
            return {e.key for e in events[done:]}
        counts.sent(event.kind.value)
        log.info("event_posted", kind=event.kind.value, client_id=client_id, repeat=not created)
    return set()


async def look(ctx: Context, scope: Scope) -> int:
    """One whole look (a sign-in's): the reads, then the posts. The number posted."""
    seen, demandes = await asyncio.gather(
        sight(ctx, scope), read_or_none("demandes", demandes_now(ctx, scope))
    )
    return await tell(ctx, scope, seen, demandes)


# ---- at sign-in ----------------------------------------------------------------------------------
_looks: dict[tuple[int, str], asyncio.Task[None]] = {}  # by (app's services, customer)


def after_sign_in(ctx: Context, client_id: str) -> None:
    """Look for the customer's events after the answer (one look per customer at a time)."""
    running = (id(ctx.services), client_id)
    if running in _looks or len(_looks) >= MAX_LOOKS:
        return
    own = dataclasses.replace(ctx, loaders=Loaders(ctx.services.backends, None))
    task = asyncio.create_task(signed_in(own, client_id), name=f"events {client_id}")
    _looks[running] = task
    task.add_done_callback(lambda _: _looks.pop(running, None))


async def signed_in(ctx: Context, client_id: str) -> None:
    try:
        own_scope(ctx)
        customer = await ctx.loaders.customer(client_id)
        if customer is not None:
            await look(ctx, Scope(customer))
    except Exception as exc:  # the customer is signed in already; the next look finds it
        log.warning("sign_in_look_failed", error=type(exc).__name__)


async def looks_settled() -> None:
    """Wait for the sign-in looks still running (tests, shutdown)."""
    if _looks:
        await asyncio.gather(*_looks.values(), return_exceptions=True)
