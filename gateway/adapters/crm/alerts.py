"""CRM adapter, alerts part (`crm.openapi.yaml`, tag `alertes`): the alert settings, the
notifications feed and its read markers.

How each call meets a lost answer (a timeout, a 5xx):

    settings, feed (GET)   reads: retried, never cached (the customer changes them)
    replace (PUT)          idempotent (a full replacement): retried
    mark read (POST)       idempotent (a read one keeps its `lueLe`): retried
    post (POST)            idempotent by its `cleIdempotence` (quirk 12: a repeat is answered
                           `200` and sends nothing): retried with the same key

The CRM's own refusals (`400 REQUETE_INVALIDE` with the fields it names) come back as `Refusal`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import orjson

from gateway.adapters.crm.accounts import Refusal, refusal
from gateway.adapters.crm.client import instant
from gateway.adapters.transport.transport import Transport, json_answer
from gateway.domain.alerts import (
    CRM_EVENTS,
    EVENTS,
    AlertChannel,
    AlertSetting,
    AlertSettings,
    Notification,
    NotificationFeed,
)
from gateway.domain.events import Notice
from gateway.errors import BackendRejected, BackendUnavailable

BACKEND = "crm"
BASE = "/crm/api"


def settings_of(raw: dict[str, Any]) -> AlertSettings:
    known = [a for a in raw["alertes"] if a["evenement"] in EVENTS]
    return AlertSettings(
        updated_at=instant(raw["modifieLe"]) if raw.get("modifieLe") else None,
        alerts=tuple(
            AlertSetting(
                EVENTS[a["evenement"]],
                tuple(AlertChannel(c) for c in a["canaux"] if c in AlertChannel.__members__),
            )
            for a in known
        ),
    )


def notification_of(raw: dict[str, Any]) -> Notification | None:
    event = EVENTS.get(raw["evenement"])
    if event is None:  # an event this gateway does not know yet: not shown
        return None
    return Notification(
        id=raw["id"],
        event=event,
        title=raw["titre"],
        message=raw["message"],
        link=raw.get("lien") or None,
        created_at=instant(raw["creeLe"]),
        read=bool(raw["lue"]),
        read_at=instant(raw["lueLe"]) if raw.get("lueLe") else None,
        key=raw.get("cleIdempotence"),
    )


class CrmAlerts:
    """Built over the CRM's transport (shared pool, breaker)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def settings(self, client_id: str) -> AlertSettings | None:
        """The client's alert settings (None: unknown client)."""

        async def attempt(budget: float) -> AlertSettings | None:
            response = await self.transport.send(
                "GET", f"{BASE}/clients/{client_id}/alertes", budget
            )
            found = json_answer(response, BACKEND)
            return settings_of(found) if found else None

        return await self.transport.read(None, 0, attempt)

    async def replace(
        self, client_id: str, alerts: Sequence[AlertSetting]
    ) -> AlertSettings | Refusal:
        body = {
            "alertes": [
                {"evenement": CRM_EVENTS[a.event], "canaux": [c.value for c in a.channels]}
                for a in alerts
            ]
        }

        async def attempt(budget: float) -> AlertSettings | Refusal:
            response = await self.transport.send(
                "PUT", f"{BASE}/clients/{client_id}/alertes", budget, json=body
            )
            if response.status_code == 200:
                return settings_of(loaded(response.content))
            if response.status_code >= 500:
                raise BackendUnavailable(BACKEND)
            return refusal(response)

        return await self.transport.read(None, 0, attempt)

    async def feed(self, client_id: str, since: date) -> NotificationFeed | None:
        """The notifications created on or after `since`, newest first (None: unknown client)."""

        async def attempt(budget: float) -> NotificationFeed | None:
            response = await self.transport.send(
                "GET",
                f"{BASE}/clients/{client_id}/notifications",
                budget,
                params={"depuis": since.isoformat()},
            )
            found = json_answer(response, BACKEND)
            if found is None:
                return None
            listed = (notification_of(n) for n in found["notifications"])
            return NotificationFeed(int(found["nonLues"]), tuple(n for n in listed if n))

        return await self.transport.read(None, 0, attempt)

    async def post(self, client_id: str, event: str, notice: Notice, key: str) -> bool:
        """Record and deliver a notification under `key`: True when recorded by this call, False
        when the CRM had it already (a repeat after a lost answer, or another poster's).
        `BackendRejected` when the CRM refuses it (unknown client, invalid body)."""
        body = {
            "evenement": event,
            "titre": notice.title,
            "message": notice.message,
            "lien": notice.link,
            "cleIdempotence": key,
        }

        async def attempt(budget: float) -> bool:
            response = await self.transport.send(
                "POST", f"{BASE}/clients/{client_id}/notifications", budget, json=body
            )
            if response.status_code in (200, 202):
                return response.status_code == 202
            if response.status_code >= 500:
                raise BackendUnavailable(BACKEND)
            raise BackendRejected(BACKEND)

        return await self.transport.read(None, 0, attempt)

    async def mark_read(self, client_id: str, ids: Sequence[str] | None) -> int | Refusal:
        """Mark `ids` (None: all) read: the unread count left."""
        body: dict[str, Any] = {"toutes": True} if ids is None else {"ids": list(ids)}

        async def attempt(budget: float) -> int | Refusal:
            response = await self.transport.send(
                "POST", f"{BASE}/clients/{client_id}/notifications/lues", budget, json=body
            )
            if response.status_code == 200:
                return int(loaded(response.content)["nonLues"])
            if response.status_code >= 500:
                raise BackendUnavailable(BACKEND)
            return refusal(response)

        return await self.transport.read(None, 0, attempt)


def loaded(content: bytes) -> dict[str, Any]:
    try:
        found = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise BackendUnavailable(BACKEND) from None
    if not isinstance(found, dict):
        raise BackendUnavailable(BACKEND)
    return found
