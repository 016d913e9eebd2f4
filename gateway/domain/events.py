"""Notification events the gateway tells the CRM of (`crm.openapi.yaml`, "Alerts and
notifications"): a règlement paid, a document available, a demande that moved. Pure rules, no I/O.

A *fact* is one thing the customer can see, at one version: a règlement, a document, a demande at
one status. Its *key* (`event_key`) is derived from the customer, the kind, the object's id and
its version; it is the CRM's `cleIdempotence`, the same in every process and after any retry, so
the CRM records one notification per event whoever posts it and however often.

The *markers* are the keys of what the customer was last shown, per kind, for the facts of the
last `LOOKBACK_DAYS` (older facts are never news; a marker names none). `compare`:

    markers                                   posted
    present                                   each newsworthy fact not among them
    absent, the CRM lists no event key of     nothing: the customer's first sight, every fact
      the gateway                             becomes a marker
    absent, the CRM lists some (the markers   each newsworthy fact of the window whose key the
      were lost)                              CRM does not list, dated from the oldest thing
                                              the gateway is known to have told, less
                                              `LATE_DAYS`

A demande just created (one status so far) is no news: the customer made it. Once a kind could
not be read, the markers keep what they held for it; a first or lost sight keeps no markers until
every kind was read.

Lost markers: every fact the gateway told came after the customer's first sight, and a look posts
its events oldest first and stops at the first that fails. So a fact left untold is dated no
earlier than the oldest fact told, or showed after the oldest post, give or take a back-end
showing it late (claims and éditique run nightly: `LATE_DAYS`); anything older was there at the
first sight. A lost marker therefore repeats a post (the CRM answers it without sending anything
again), or tells of a fact of the few days before the first sight, and misses none the markers
had not seen but one shown more than `LATE_DAYS` after its date. A customer never told anything
leaves no trace in the CRM: their lost markers read as a first sight, and what showed since the
last look is marked, not told.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from typing import Any

from gateway.domain.records import PARIS, Demande, Document, Reglement

LOOKBACK_DAYS = 31  # facts older than this are never news, and no marker names them
LATE_DAYS = 3  # how long after its date a back-end may show a fact (nightly batches)
KEY_PREFIX = "gw-evt-"  # every event key the gateway posts (the CRM's pattern: 64 characters)


class EventKind(Enum):
    """The events the gateway finds; the value is the CRM's `evenement`."""

    PAYMENT = "REGLEMENT_EFFECTUE"
    DOCUMENT = "DOCUMENT_DISPONIBLE"
    DEMANDE = "DEMANDE_MISE_A_JOUR"


@dataclass(frozen=True, slots=True)
class Notice:
    """What the customer reads (e-mail subject, push title; plain text; a customer-space path)."""

    title: str
    message: str
    link: str


@dataclass(frozen=True, slots=True)
class Fact:
    kind: EventKind
    key: str  # `event_key`: the CRM's idempotence key of the event this fact is
    on: date  # the day it happened (paid, issued, moved)
    news: bool  # worth a notification when unseen
    notice: Notice


def event_key(customer: str, kind: EventKind, object_id: str, version: str) -> str:
    digest = hashlib.sha256(f"{customer}\x00{kind.value}\x00{object_id}\x00{version}".encode())
    return KEY_PREFIX + digest.hexdigest()[:40]


def day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def payment_fact(customer: str, item: Reglement) -> Fact:
    net = item.net.formatted
    if item.is_health:
        object_id = f"{item.reference}@{item.affiliate_id}"
        about = f" : {item.act} pour {item.beneficiary_name}" if item.act else ""
        notice = Notice(
            "Nouveau remboursement",
            f"Un remboursement de {net} a été effectué le {day(item.paid_on)}{about}.",
            "/mes-remboursements",
        )
    else:
        object_id = item.reference
        about = f" : {item.guarantee.label}" if item.guarantee else ""
        notice = Notice(
            "Nouveau règlement",
            f"Un règlement de {net} a été effectué le {day(item.paid_on)}{about}.",
            "/mes-reglements",
        )
    key = event_key(customer, EventKind.PAYMENT, object_id, "")
    return Fact(EventKind.PAYMENT, key, item.paid_on, True, notice)


def document_fact(customer: str, item: Document) -> Fact:
    notice = Notice(
        "Nouveau document disponible",
        f"Votre document « {item.title} » est disponible dans votre espace client.",
        "/mes-documents",
    )
    key = event_key(customer, EventKind.DOCUMENT, item.id, "")
    return Fact(EventKind.DOCUMENT, key, item.issued_on, True, notice)


def demande_fact(customer: str, item: Demande) -> Fact:
    moved = item.history[-1].at if item.history else item.created_at
    notice = Notice(
        "Demande mise à jour",
        f"Votre demande {item.reference} ({item.type.label}) est maintenant : {item.status.label}.",
        "/mes-demarches",
    )
    version = f"{item.status.value}@{moved.isoformat()}"
    key = event_key(customer, EventKind.DEMANDE, item.id, version)
    return Fact(
        EventKind.DEMANDE, key, moved.astimezone(PARIS).date(), len(item.history) > 1, notice
    )


# ---- markers -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Markers:
    since: date  # the customer's first sight (or the day the markers were found lost)
    seen: Mapping[EventKind, frozenset[str]]  # keys of the window's facts, per kind

    def record(self) -> dict[str, Any]:
        """The store's JSON record."""
        return {
            "since": self.since.isoformat(),
            "seen": {kind.value: sorted(keys) for kind, keys in self.seen.items()},
        }

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Markers | None:
        """From the store's record; None when it is not one (read as lost)."""
        try:
            seen = record["seen"]
            return cls(
                date.fromisoformat(record["since"]),
                {kind: frozenset(seen[kind.value]) for kind in EventKind},
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class Comparison:
    events: tuple[Fact, ...]  # to post, oldest first
    markers: Markers | None  # to keep once the events are posted; None: keep none
    first_sight: bool = False

    def kept(self, unposted: Collection[str]) -> Markers | None:
        """The markers to keep when the events of `unposted` keys could not be posted: without
        them, so that the next look posts them again."""
        if self.markers is None or not unposted:
            return self.markers
        return Markers(
            self.markers.since,
            {kind: keys - frozenset(unposted) for kind, keys in self.markers.seen.items()},
        )


def compare(
    markers: Markers | None,
    facts: Mapping[EventKind, Sequence[Fact] | None],
    today: date,
    posted: Mapping[str, date] | None = None,
) -> Comparison:
    """The events to post: `facts` are what each kind shows now (None: not read this time);
    `posted` the keys the CRM's feed lists with the day each was posted, read only when the
    markers are absent."""
    start = today - timedelta(days=LOOKBACK_DAYS)
    now = {
        kind: {f.key: f for f in found if f.on >= start}
        for kind, found in facts.items()
        if found is not None
    }
    complete = all(kind in now for kind in EventKind)
    since = start
    if markers is None:
        listed = {k: d for k, d in (posted or {}).items() if k.startswith(KEY_PREFIX)}
        kept = (
            Markers(today, {kind: frozenset(now[kind]) for kind in EventKind}) if complete else None
        )
        if not listed:
            return Comparison((), kept, first_sight=True)
        told = frozenset(listed)
        oldest = min(
            [
                *listed.values(),
                *(f.on for found in now.values() for f in found.values() if f.key in told),
            ]
        )
        since = max(start, oldest - timedelta(days=LATE_DAYS))
    else:
        told = frozenset().union(*markers.seen.values())
        kept = Markers(
            markers.since,
            {
                kind: frozenset(now[kind]) if kind in now else markers.seen[kind]
                for kind in EventKind
            },
        )
    order = list(EventKind)
    events = sorted(
        (
            f
            for found in now.values()
            for f in found.values()
            if f.news and f.key not in told and f.on >= since
        ),
        key=lambda f: (f.on, order.index(f.kind), f.key),
    )
    return Comparison(tuple(events), kept)


# ---- counting ------------------------------------------------------------------------------------
def uncounted(kind: str) -> None:
    """Counts nothing."""


@dataclass(frozen=True, slots=True)
class EventCounts:
    """Where events are counted, by kind (the CRM's `evenement`): `found` when one is to be
    posted, `sent` when the CRM has it (recorded now, or already under its key). The app wires
    them to its metrics; uncounted by default."""

    found: Callable[[str], None] = uncounted
    sent: Callable[[str], None] = uncounted
