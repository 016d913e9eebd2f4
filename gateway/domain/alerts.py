"""Alerts and notifications in domain terms (`crm.openapi.yaml`, "Alerts and notifications"): the
five events a customer is alerted of, the channels, the settings and the notifications posted.

Security alerts (`ACCOUNT_SECURITY`) cannot be turned off: their e-mail stays on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.domain.values import Labelled


class AlertEvent(Labelled):
    PAYMENT_MADE = "PAYMENT_MADE"
    DOCUMENT_AVAILABLE = "DOCUMENT_AVAILABLE"
    DEMANDE_UPDATED = "DEMANDE_UPDATED"
    NEW_DEVICE_SIGN_IN = "NEW_DEVICE_SIGN_IN"
    ACCOUNT_SECURITY = "ACCOUNT_SECURITY"


class AlertChannel(Labelled):
    EMAIL = "EMAIL"
    SMS = "SMS"
    PUSH = "PUSH"


EVENTS = {  # the CRM's EvenementAlerte, in the table's (display) order
    "REGLEMENT_EFFECTUE": AlertEvent.PAYMENT_MADE,
    "DOCUMENT_DISPONIBLE": AlertEvent.DOCUMENT_AVAILABLE,
    "DEMANDE_MISE_A_JOUR": AlertEvent.DEMANDE_UPDATED,
    "CONNEXION_NOUVEL_APPAREIL": AlertEvent.NEW_DEVICE_SIGN_IN,
    "SECURITE_COMPTE": AlertEvent.ACCOUNT_SECURITY,
}
CRM_EVENTS = {event: code for code, event in EVENTS.items()}
MANDATORY = {AlertEvent.ACCOUNT_SECURITY: (AlertChannel.EMAIL,)}
CHANNEL_ORDER = (AlertChannel.EMAIL, AlertChannel.SMS, AlertChannel.PUSH)


def mandatory_channels(event: AlertEvent) -> tuple[AlertChannel, ...]:
    return MANDATORY.get(event, ())


@dataclass(frozen=True, slots=True)
class AlertSetting:
    event: AlertEvent
    channels: tuple[AlertChannel, ...]  # on; empty: the event is off


@dataclass(frozen=True, slots=True)
class AlertSettings:
    updated_at: datetime | None  # None: the defaults
    alerts: tuple[AlertSetting, ...]  # the five events, in display order


@dataclass(frozen=True, slots=True)
class Notification:
    id: str  # the CRM's N-YYYY-NNNNNN
    event: AlertEvent
    title: str
    message: str
    link: str | None
    created_at: datetime
    read: bool
    read_at: datetime | None
    key: str | None = None  # the poster's `cleIdempotence` (the gateway's events: `events.py`)


@dataclass(frozen=True, slots=True)
class NotificationFeed:
    unread: int  # every unread notification, whatever the period
    notifications: tuple[Notification, ...]  # of the period, newest first
