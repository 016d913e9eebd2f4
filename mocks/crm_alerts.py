"""The CRM's routes of tag `alertes`: alert settings per client, notifications and read markers.

A mixin of the CRM mock (`crm.Crm`). The CRM never detects an event: the caller posts each
notification, idempotently by `cleIdempotence`; it is delivered channel by channel (`EMAIL`,
`SMS`, `PUSH`) as the client's settings and contact data allow, written to the outbox, recorded
and listed whatever was sent.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from . import crm_rules as rules
from .base import PARIS, json_body
from .crm_errors import invalid

EVENTS = (
    "REGLEMENT_EFFECTUE",
    "DOCUMENT_DISPONIBLE",
    "DEMANDE_MISE_A_JOUR",
    "CONNEXION_NOUVEL_APPAREIL",
    "SECURITE_COMPTE",
)
CHANNELS = ("EMAIL", "SMS", "PUSH")
DEFAULT_CHANNELS = ["EMAIL", "PUSH"]
NOTIFICATION_ID = re.compile(r"^N-[0-9]{4}-[0-9]{6}$")
LINK = re.compile(r"^/([^/\s][^\s]{0,298})?$")
KEY = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def alert_details(body: dict[str, Any]) -> list[dict[str, str]]:
    """Every problem of a `RemplacementAlertes` body, `[]` when it is valid."""
    details = rules.unknown_fields(body, {"alertes"})
    alerts = body.get("alertes")
    if not isinstance(alerts, list) or len(alerts) != len(EVENTS):
        return [*details, rules.detail("alertes", "Les cinq événements sont attendus")]
    seen: list[str] = []
    for i, alert in enumerate(alerts):
        where = f"alertes[{i}]"
        if not isinstance(alert, dict):
            details.append(rules.detail(where, "Objet attendu"))
            continue
        details.extend(rules.unknown_fields(alert, {"evenement", "canaux"}, f"{where}."))
        event, channels = alert.get("evenement"), alert.get("canaux")
        if event not in EVENTS:
            details.append(rules.detail(f"{where}.evenement", "Événement inconnu"))
        elif event in seen:
            details.append(rules.detail(f"{where}.evenement", "Événement répété"))
        else:
            seen.append(event)
        if (
            not isinstance(channels, list)
            or not all(isinstance(c, str) and c in CHANNELS for c in channels)
            or len(set(channels)) != len(channels)
        ):
            details.append(rules.detail(f"{where}.canaux", "Canaux EMAIL, SMS, PUSH distincts"))
        elif event == "SECURITE_COMPTE" and "EMAIL" not in channels:
            details.append(
                rules.detail(
                    f"{where}.canaux",
                    "Les alertes de sécurité du compte sont toujours envoyées par e-mail",
                )
            )
    return details


def notification_details(body: dict[str, Any]) -> list[dict[str, str]]:
    details = rules.unknown_fields(
        body, {"evenement", "titre", "message", "lien", "cleIdempotence"}
    )
    if body.get("evenement") not in EVENTS:
        details.append(rules.detail("evenement", "Événement inconnu"))
    rules.string(body, "titre", details, required=True, min_length=1, max_length=100)
    rules.string(body, "message", details, required=True, min_length=1, max_length=1000)
    rules.string(
        body,
        "lien",
        details,
        nullable=True,
        max_length=300,
        pattern=LINK,
        message="Le lien doit être un chemin de l'espace client commençant par /",
    )
    rules.string(
        body,
        "cleIdempotence",
        details,
        required=True,
        pattern=KEY,
        message="Clé d'idempotence invalide",
    )
    return details


class AlertRoutes:
    """Handlers of tag `alertes`; mixed into the CRM mock."""

    accounts: dict[str, dict[str, Any]]
    alerts: dict[str, dict[str, Any]]
    notifications: dict[str, dict[str, Any]]

    # provided by the CRM mock
    def now(self) -> datetime:
        raise NotImplementedError

    async def body(self, request: Request) -> dict[str, Any]:
        raise NotImplementedError

    def client(self, client_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def day_param(self, request: Request, name: str, required: bool = False) -> date | None:
        raise NotImplementedError

    def send(self, channel: str, message: dict[str, Any]) -> None:
        raise NotImplementedError

    # ---- settings ----------------------------------------------------------------------------
    def settings_of(self, client_id: str) -> dict[str, Any]:
        return self.alerts.get(
            client_id, {"modifieLe": None, "canaux": {e: DEFAULT_CHANNELS for e in EVENTS}}
        )

    def settings_view(self, client_id: str) -> dict[str, Any]:
        settings = self.settings_of(client_id)
        return {
            "clientId": client_id,
            "modifieLe": settings["modifieLe"],
            "alertes": [{"evenement": e, "canaux": list(settings["canaux"][e])} for e in EVENTS],
        }

    async def get_alerts(self, request: Request, p: dict[str, str]) -> Response:
        self.client(p["clientId"])
        return json_body(self.settings_view(p["clientId"]))

    async def put_alerts(self, request: Request, p: dict[str, str]) -> Response:
        self.client(p["clientId"])
        body = await self.body(request)
        details = alert_details(body)
        if details:
            raise invalid("Les paramètres d'alerte sont invalides", details)
        self.alerts[p["clientId"]] = {
            "modifieLe": self.now().isoformat(),
            "canaux": {
                a["evenement"]: [c for c in CHANNELS if c in a["canaux"]] for a in body["alertes"]
            },
        }
        return json_body(self.settings_view(p["clientId"]))

    # ---- notifications -----------------------------------------------------------------------
    def unread(self, client_id: str) -> int:
        return sum(
            1 for n in self.notifications.values() if n["clientId"] == client_id and not n["lue"]
        )

    async def list_notifications(self, request: Request, p: dict[str, str]) -> Response:
        self.client(p["clientId"])
        since = self.day_param(request, "depuis")
        found = [
            n
            for n in self.notifications.values()
            if n["clientId"] == p["clientId"]
            and (
                since is None
                or datetime.fromisoformat(n["creeLe"]).astimezone(PARIS).date() >= since
            )
        ]
        found.sort(key=lambda n: (datetime.fromisoformat(n["creeLe"]), n["id"]), reverse=True)
        return json_body(
            {
                "clientId": p["clientId"],
                "nonLues": self.unread(p["clientId"]),
                "notifications": found,
            }
        )

    async def post_notification(self, request: Request, p: dict[str, str]) -> Response:
        client = self.client(p["clientId"])
        body = await self.body(request)
        details = notification_details(body)
        if details:
            raise invalid("La notification est invalide", details)
        for known in self.notifications.values():
            if (
                known["clientId"] == p["clientId"]
                and known["cleIdempotence"] == body["cleIdempotence"]
            ):
                return json_body(known, 200)
        now = self.now()
        seq = 1 + max(
            (int(n[-6:]) for n in self.notifications if n[2:6] == str(now.year)), default=0
        )
        notification = {
            "id": f"N-{now.year}-{seq:06d}",
            "clientId": p["clientId"],
            "evenement": body["evenement"],
            "titre": body["titre"],
            "message": body["message"],
            "lien": body.get("lien"),
            "cleIdempotence": body["cleIdempotence"],
            "creeLe": now.isoformat(),
            "lue": False,
            "lueLe": None,
            "envois": [],
        }
        channels_on = self.settings_of(p["clientId"])["canaux"][body["evenement"]]
        account = self.accounts.get(p["clientId"], {"statut": "AUCUN"})
        addresses = {
            "EMAIL": (client["email"], "AUCUN_EMAIL", "emails"),
            "SMS": (client["mobile"], "AUCUN_MOBILE", "sms"),
            "PUSH": (
                p["clientId"] if account["statut"] in ("ACTIF", "VERROUILLE") else None,
                "AUCUN_COMPTE",
                "push",
            ),
        }
        for channel in CHANNELS:
            to, missing, box = addresses[channel]
            why = "CANAL_DESACTIVE" if channel not in channels_on else None if to else missing
            notification["envois"].append(
                {
                    "canal": channel,
                    "statut": "NON_ENVOYE" if why else "ENVOYE",
                    "motif": why,
                    "destinataire": None if why else to,
                }
            )
            if why is None:
                self.send(
                    box,
                    {
                        "type": "NOTIFICATION",
                        "destinataire": to,
                        "clientId": p["clientId"],
                        "notificationId": notification["id"],
                        "evenement": notification["evenement"],
                        "titre": notification["titre"],
                        "message": notification["message"],
                        "lien": notification["lien"],
                        "envoyeLe": notification["creeLe"],
                    },
                )
        self.notifications[notification["id"]] = notification
        return json_body(notification, 202)

    async def mark_read(self, request: Request, p: dict[str, str]) -> Response:
        client_id = p["clientId"]
        self.client(client_id)
        body = await self.body(request)
        details = rules.unknown_fields(body, {"ids", "toutes"})
        ids = body.get("ids")
        if ("ids" in body) == ("toutes" in body):
            details.append(rules.detail("", "Exactement un de ids et toutes est attendu"))
        elif "toutes" in body and body["toutes"] is not True:
            details.append(rules.detail("toutes", "true attendu"))
        elif "ids" in body and (
            not isinstance(ids, list)
            or not 1 <= len(ids) <= 100
            or not all(isinstance(i, str) and NOTIFICATION_ID.match(i) for i in ids)
            or len(set(ids)) != len(ids)
        ):
            details.append(rules.detail("ids", "Liste de 1 à 100 identifiants distincts attendue"))
        if details:
            raise invalid("Requête invalide", details)
        if "ids" in body:
            unknown = [
                rules.detail(f"ids[{i}]", "Notification inconnue pour ce client")
                for i, n in enumerate(ids)
                if self.notifications.get(n, {}).get("clientId") != client_id
            ]
            if unknown:
                raise invalid("Notification inconnue", unknown)
            chosen = [self.notifications[n] for n in ids]
        else:
            chosen = [n for n in self.notifications.values() if n["clientId"] == client_id]
        now = self.now().isoformat()
        for notification in chosen:
            if not notification["lue"]:
                notification["lue"], notification["lueLe"] = True, now
        return json_body({"clientId": client_id, "nonLues": self.unread(client_id)})
