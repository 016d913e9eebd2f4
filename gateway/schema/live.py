"""The `Subscription` root: what the viewer follows live over graphql-transport-ws and
graphql-sse (`resolvers/live.py` holds the watching).

Each resolver closes the states it reads (`aclosing`) when it is closed itself: `async for` leaves
an inner generator suspended, and its `finally` (the customer's watcher stopped) would wait for
the garbage collector, which the fast paths run rarely: watchers read the back-ends long after
their last subscriber left."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from gateway.domain import values as v
from gateway.resolvers import live
from gateway.schema.common import Info
from gateway.schema.demandes.types import Demande
from gateway.schema.ids import from_global
from gateway.schema.person.alerts import Notification


@strawberry.enum(description="What happened to a demande.")
class DemandeChange(enum.Enum):
    CREATED = strawberry.enum_value("CREATED", description="Nouvelle demande")
    STATUS_CHANGED = strawberry.enum_value("STATUS_CHANGED", description="Changement de statut")


@strawberry.type(description="A change of one of the viewer's demandes.")
class DemandeUpdate:
    change: DemandeChange = strawberry.field(description="Created or status changed.")
    previous_status: v.DemandeStatus | None = strawberry.field(
        description="Status before the change; null for a new demande."
    )
    at: datetime = strawberry.field(description="When the gateway saw the change.")
    demande: Demande = strawberry.field(description="The demande as it is now.")


@strawberry.type(description="The unread count changed.")
class NotificationsChange:
    unread_count: int = strawberry.field(description="Unread notifications, all of them.")
    latest: Notification | None = strawberry.field(
        description="The newest notification; null when none."
    )


@strawberry.type(description="What the viewer can follow live (graphql-transport-ws, graphql-sse).")
class Subscription:
    @strawberry.subscription(
        description="The viewer's demandes created or changing status; `id`: only that one."
    )
    async def demande_updated(
        self, info: Info, id: strawberry.ID | None = None
    ) -> AsyncGenerator[DemandeUpdate, None]:
        only = from_global(id, "Demande")[1] if id is not None else None
        async with contextlib.aclosing(live.states(info.context)) as states:  # module docstring
            async for scope, before, now in states:
                for event in live.demande_events(before, now, only):
                    yield DemandeUpdate(
                        change=(
                            DemandeChange.CREATED if event.created else DemandeChange.STATUS_CHANGED
                        ),
                        previous_status=event.previous,
                        at=event.at,
                        demande=Demande.of(event.demande, scope),
                    )

    @strawberry.subscription(
        description="The viewer's unread notification count, each time it changes."
    )
    async def notifications_changed(self, info: Info) -> AsyncGenerator[NotificationsChange, None]:
        async with contextlib.aclosing(live.states(info.context)) as states:  # module docstring
            async for _, before, now in states:
                if live.notifications_changed(before, now):
                    latest = Notification(found=now.latest) if now.latest else None
                    yield NotificationsChange(unread_count=now.unread, latest=latest)
