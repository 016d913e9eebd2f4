"""Alerts and notifications in the graph: `Person.alertSettings`, `Person.notifications` and the
mutations `updateAlertSettings` / `markNotificationsRead`. The rules live in
`resolvers/alerts.py`."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.domain import alerts as al
from gateway.errors import NotFound
from gateway.resolvers import alerts
from gateway.resolvers.problems import Refused
from gateway.schema.common import Connection, Info, sliced
from gateway.schema.enums import expose
from gateway.schema.ids import from_global, to_global
from gateway.schema.node import Node
from gateway.schema.permissions import Customer
from gateway.schema.user_errors import UserError, user_errors

expose(al.AlertEvent, "An event the customer is alerted of.")
expose(al.AlertChannel, "A channel of alerts.")


@strawberry.type(description="The channels on for one event.")
class AlertSetting:
    event: al.AlertEvent = strawberry.field(description="Event.")
    channels: list[al.AlertChannel] = strawberry.field(
        description="Channels on; empty: the event is off."
    )

    @strawberry.field(description="French label of `event`.")
    def event_label(self) -> str:
        return self.event.label

    @strawberry.field(description="Channels that cannot be turned off (ACCOUNT_SECURITY: EMAIL).")
    def mandatory_channels(self) -> list[al.AlertChannel]:
        return list(al.mandatory_channels(self.event))


@strawberry.type(description="The channels on for each event.")
class AlertSettings:
    updated_at: datetime | None = strawberry.field(description="Last change; null: the defaults.")
    alerts: list[AlertSetting] = strawberry.field(description="The five events, in display order.")

    @classmethod
    def of(cls, found: al.AlertSettings) -> AlertSettings:
        return cls(
            updated_at=found.updated_at,
            alerts=[AlertSetting(event=a.event, channels=list(a.channels)) for a in found.alerts],
        )


@strawberry.type(
    description="A notification posted to the customer (also sent by e-mail, SMS or push as the "
    "settings say)."
)
class Notification(Node):
    found: strawberry.Private[al.Notification]

    @strawberry.field(description="Opaque global id.")
    def id(self) -> strawberry.ID:
        return to_global("Notification", self.found.id)

    @strawberry.field(description="Event.")
    def event(self) -> al.AlertEvent:
        return self.found.event

    @strawberry.field(description="French label of `event`.")
    def event_label(self) -> str:
        return self.found.event.label

    @strawberry.field(description="Title.")
    def title(self) -> str:
        return self.found.title

    @strawberry.field(description="Text.")
    def message(self) -> str:
        return self.found.message

    @strawberry.field(
        description="Path of the customer space it leads to (`/mes-remboursements`); null when "
        "none."
    )
    def link(self) -> str | None:
        return self.found.link

    @strawberry.field(description="When it was posted.")
    def created_at(self) -> datetime:
        return self.found.created_at

    @strawberry.field(description="Read by the customer.")
    def read(self) -> bool:
        return self.found.read

    @strawberry.field(description="When it was marked read.")
    def read_at(self) -> datetime | None:
        return self.found.read_at


@strawberry.type(description="One page of a list that can grow (Relay connection).")
class NotificationConnection(Connection[Notification]):
    unread_count: int = strawberry.field(description="Unread notifications, all of them.")


async def alert_settings_of(info: Info, client_id: str) -> AlertSettings | None:
    found = await alerts.settings_of(info.context, client_id)
    return AlertSettings.of(found) if found else None


async def notifications_of(
    info: Info, client_id: str, first: int, after: str | None
) -> NotificationConnection | None:
    feed = await alerts.feed(info.context, client_id)
    if feed is None:
        return None
    page = sliced(feed.notifications, first, after, lambda n: Notification(found=n))
    return NotificationConnection(
        edges=page.edges,
        page_info=page.page_info,
        total_count=page.total_count,
        unread_count=feed.unread,
    )


# ---- mutations ------------------------------------------------------------------------------------
@strawberry.input(description="The channels on for one event.")
class AlertSettingInput:
    event: al.AlertEvent = strawberry.field(description="Event.")
    channels: list[al.AlertChannel] = strawberry.field(
        description="Channels on; empty: off (not allowed for ACCOUNT_SECURITY, which keeps EMAIL)."
    )


@strawberry.input(description="The alert settings, replaced as a whole.")
class AlertSettingsInput:
    alerts: list[AlertSettingInput] = strawberry.field(description="Each of the five events once.")


@strawberry.type(description="Result of replacing the alert settings.")
class AlertSettingsPayload:
    alert_settings: AlertSettings | None = strawberry.field(
        description="The settings now in force; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


@strawberry.input(description="Notifications to mark read: some, or all.")
class MarkNotificationsReadInput:
    ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="1 to 100 notifications (or `all`)."
    )
    all: bool | None = strawberry.field(
        default=None, description="Every notification (then no `ids`)."
    )


@strawberry.type(description="Result of marking notifications read.")
class MarkNotificationsReadPayload:
    unread_count: int | None = strawberry.field(
        description="Unread notifications left; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


def notification_id(global_id: str) -> str | None:
    try:
        return from_global(global_id, "Notification")[1]
    except NotFound:
        return None


@strawberry.type(description="Alerts and notifications.")
class AlertsMutation:
    @strawberry.mutation(description="Replace the alert settings.", permission_classes=[Customer])
    async def update_alert_settings(
        self, info: Info, input: AlertSettingsInput
    ) -> AlertSettingsPayload:
        wanted = [al.AlertSetting(a.event, tuple(a.channels)) for a in input.alerts]
        try:
            found = await alerts.replace_settings(info.context, wanted)
        except Refused as refused:
            return AlertSettingsPayload(
                alert_settings=None, user_errors=user_errors(refused.problems)
            )
        return AlertSettingsPayload(alert_settings=AlertSettings.of(found), user_errors=[])

    @strawberry.mutation(description="Mark notifications read.", permission_classes=[Customer])
    async def mark_notifications_read(
        self, info: Info, input: MarkNotificationsReadInput
    ) -> MarkNotificationsReadPayload:
        ids = None if input.ids is None else [notification_id(i) for i in input.ids]
        try:
            left = await alerts.mark_read(info.context, ids, input.all)
        except Refused as refused:
            return MarkNotificationsReadPayload(
                unread_count=None, user_errors=user_errors(refused.problems)
            )
        return MarkNotificationsReadPayload(unread_count=left, user_errors=[])
