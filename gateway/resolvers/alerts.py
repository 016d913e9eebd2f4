"""Alerts and notifications (« Paramètres > Notifications », « Mes notifications »): the settings
read and replaced as a whole, the notifications of the last 12 months paged newest first with the
unread count of them all, and their read markers.

A replacement is checked whole before the CRM is asked (each of the five events once; security
alerts keep their e-mail: `ALWAYS_ON`); a channel without contact data is kept, the CRM skips it
when sending. Only the customer changes their own settings and read markers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from gateway.adapters.crm.accounts import Refusal
from gateway.adapters.crm.alerts import CrmAlerts
from gateway.context import Context
from gateway.domain.alerts import (
    CHANNEL_ORDER,
    AlertEvent,
    AlertSetting,
    AlertSettings,
    NotificationFeed,
    mandatory_channels,
)
from gateway.errors import Forbidden, NotFound
from gateway.resolvers.problems import Problem, Refused

NOTIFICATION_PERIOD = timedelta(days=365)  # « Mes notifications » shows the last 12 months
MAX_MARKED = 100


def crm(ctx: Context) -> CrmAlerts:
    return CrmAlerts(ctx.services.backends.crm.transport)


def own_client_id(ctx: Context) -> str:
    principal = ctx.require_principal()
    if principal.is_staff:
        raise Forbidden("Seul le client peut changer ses alertes.")
    return principal.subject


# ---- settings ------------------------------------------------------------------------------------
async def settings_of(ctx: Context, client_id: str) -> AlertSettings | None:
    return await crm(ctx).settings(client_id)


def settings_problems(alerts: Sequence[AlertSetting]) -> list[Problem]:
    problems: list[Problem] = []
    events = [a.event for a in alerts]
    missing = [e for e in AlertEvent if e not in events]
    twice = sorted({e.value for e in events if events.count(e) > 1})
    if missing or twice:
        named = ", ".join([e.value for e in missing] + twice)
        problems.append(
            Problem("alerts", "INVALID", f"Chaque événement doit figurer une fois ({named}).")
        )
    for i, alert in enumerate(alerts):
        if not set(mandatory_channels(alert.event)) <= set(alert.channels):
            problems.append(
                Problem(
                    f"alerts.{i}.channels",
                    "ALWAYS_ON",
                    "Les alertes de sécurité sont toujours envoyées par e-mail.",
                )
            )
    return problems


async def replace_settings(ctx: Context, alerts: Sequence[AlertSetting]) -> AlertSettings:
    client_id = own_client_id(ctx)
    problems = settings_problems(alerts)
    if problems:
        raise Refused(problems)
    ordered = [  # each channel once, in the CRM's order
        AlertSetting(a.event, tuple(c for c in CHANNEL_ORDER if c in a.channels)) for a in alerts
    ]
    found = await crm(ctx).replace(client_id, ordered)
    if isinstance(found, Refusal):
        if found.status == 404:
            raise NotFound("Ce client")
        raise Refused(
            [Problem("alerts", "REFUSED", "Le système de gestion a refusé ces réglages.")]
        )
    return found


# ---- notifications -------------------------------------------------------------------------------
async def feed(ctx: Context, client_id: str) -> NotificationFeed | None:
    since = ctx.today - NOTIFICATION_PERIOD
    return await crm(ctx).feed(client_id, since)


@dataclass(frozen=True, slots=True)
class Marking:
    ids: list[str] | None  # None: all


def marking(ids: Sequence[str] | None, everything: bool | None) -> Marking:
    if everything and ids is not None:
        raise Refused(
            [Problem("ids", "INVALID", "Indiquez des notifications ou « toutes », pas les deux.")]
        )
    if everything:
        return Marking(None)
    if not ids:
        raise Refused([Problem("ids", "REQUIRED", "Indiquez les notifications lues.")])
    if len(ids) > MAX_MARKED:
        raise Refused([Problem("ids", "TOO_MANY", f"{MAX_MARKED} notifications au plus.")])
    return Marking(list(dict.fromkeys(ids)))


async def mark_read(ctx: Context, ids: Sequence[str | None] | None, everything: bool | None) -> int:
    """The unread count left; `ids` are the CRM's ids (None inside: an id of something else)."""
    client_id = own_client_id(ctx)
    unknown = [i for i, found in enumerate(ids or []) if found is None]
    if unknown:
        raise Refused(
            [Problem(f"ids.{unknown[0]}", "UNKNOWN", "Cette notification est introuvable.")]
        )
    asked = marking(None if ids is None else [i for i in ids if i], everything)
    left = await crm(ctx).mark_read(client_id, asked.ids)
    if isinstance(left, Refusal):
        if left.status == 404:
            raise NotFound("Ce client")
        field = next((f for f in left.fields if f.startswith("ids[")), None)
        where = f"ids.{field[4:-1]}" if field else "ids"
        raise Refused([Problem(where, "UNKNOWN", "Cette notification est introuvable.")])
    return left
