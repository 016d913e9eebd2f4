"""Alerts and notifications in process: « Paramètres > Notifications » read and replaced through
the frontends' documents, « Mes notifications » paged from the mock CRM's feed, read markers."""

from __future__ import annotations

from typing import Any

import httpx

from gateway.schema.ids import to_global
from tests.support.accounts import crm_calls, errors_of
from tests.support.gateway import Gateway

GERALT = "C0001002"
EVENTS = [
    "PAYMENT_MADE",
    "DOCUMENT_AVAILABLE",
    "DEMANDE_UPDATED",
    "NEW_DEVICE_SIGN_IN",
    "ACCOUNT_SECURITY",
]
PUT_ALERTS = "PUT /crm/api/clients/{clientId}/alertes"
SETTINGS = (
    "query { viewer { alertSettings { updatedAt alerts "
    "{ event eventLabel channels mandatoryChannels } } } }"
)


async def settings(gateway: Gateway) -> dict[str, Any]:
    body = await gateway.run(SETTINGS, as_=GERALT)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["viewer"]["alertSettings"]
    return found


async def update(gateway: Gateway, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    body = await gateway.run(
        "securite/UpdateAlertSettings", {"input": {"alerts": alerts}}, as_=GERALT
    )
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["updateAlertSettings"]
    return found


async def post_notifications(crm: httpx.AsyncClient, count: int) -> list[str]:
    ids = []
    for n in range(count):
        body = {
            "evenement": "REGLEMENT_EFFECTUE" if n % 2 else "DOCUMENT_DISPONIBLE",
            "titre": f"Notification {n}",
            "message": f"Message {n}",
            "lien": "/mes-remboursements" if n % 2 else None,
            "cleIdempotence": f"test-{n}",
        }
        answer = await crm.post(f"/crm/api/clients/{GERALT}/notifications", json=body)
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])
    return ids


async def feed(gateway: Gateway, first: int = 20, after: str | None = None) -> dict[str, Any]:
    body = await gateway.run("securite/Notifications", {"first": first, "after": after}, as_=GERALT)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["viewer"]["notifications"]
    return found


async def test_alert_settings_start_at_the_defaults_with_security_email_mandatory(
    gateway: Gateway,
) -> None:
    found = await settings(gateway)
    assert found["updatedAt"] is None
    assert [a["event"] for a in found["alerts"]] == EVENTS
    assert found["alerts"][3]["eventLabel"] == "Connexion depuis un nouvel appareil"
    assert [a["mandatoryChannels"] for a in found["alerts"]] == [[], [], [], [], ["EMAIL"]]
    assert found["alerts"][0]["channels"] == ["EMAIL", "PUSH"]


async def test_alert_settings_are_replaced_whole_and_read_back(gateway: Gateway) -> None:
    wanted = [{"event": e, "channels": ["PUSH", "SMS"]} for e in EVENTS]
    wanted[0]["channels"] = []
    wanted[4]["channels"] = ["SMS", "EMAIL"]
    done = await update(gateway, wanted[::-1])
    assert done["userErrors"] == [] and done["alertSettings"]["updatedAt"]
    channels = [a["channels"] for a in done["alertSettings"]["alerts"]]
    assert channels == [[], ["SMS", "PUSH"], ["SMS", "PUSH"], ["SMS", "PUSH"], ["EMAIL", "SMS"]]
    assert (await settings(gateway)) == done["alertSettings"]


async def test_security_alerts_cannot_be_turned_off_and_nothing_is_written(
    gateway: Gateway,
) -> None:
    wanted = [{"event": e, "channels": ["EMAIL"]} for e in EVENTS]
    wanted[4]["channels"] = ["PUSH"]
    refused = await update(gateway, wanted)
    assert refused["alertSettings"] is None
    assert errors_of(refused) == [("alerts.4.channels", "ALWAYS_ON")]
    missing = await update(gateway, [*wanted[:3], wanted[3], wanted[3]])
    assert errors_of(missing) == [("alerts", "INVALID")]  # ACCOUNT_SECURITY missing
    assert crm_calls(gateway, PUT_ALERTS) == 0
    assert (await settings(gateway))["updatedAt"] is None


async def test_notifications_are_paged_newest_first_with_the_unread_badge(
    gateway: Gateway, crm: httpx.AsyncClient
) -> None:
    ids = await post_notifications(crm, 5)
    first = await feed(gateway, first=3)
    assert first["totalCount"] == 5 and first["unreadCount"] == 5
    assert first["pageInfo"]["hasNextPage"] is True
    nodes = [e["node"] for e in first["edges"]]
    assert [n["title"] for n in nodes] == ["Notification 4", "Notification 3", "Notification 2"]
    assert nodes[1]["eventLabel"] == "Règlement ou remboursement effectué"
    assert nodes[1]["link"] == "/mes-remboursements" and nodes[0]["link"] is None
    assert not any(n["read"] for n in nodes)
    rest = await feed(gateway, first=3, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["title"] for e in rest["edges"]] == ["Notification 1", "Notification 0"]
    assert nodes[0]["id"] == to_global("Notification", ids[4])


async def test_notifications_marked_read_lower_the_badge(
    gateway: Gateway, crm: httpx.AsyncClient
) -> None:
    ids = [to_global("Notification", i) for i in await post_notifications(crm, 3)]
    marked = await gateway.run(
        "securite/MarkNotificationsRead", {"input": {"ids": ids[:2]}}, as_=GERALT
    )
    assert marked["data"]["markNotificationsRead"] == {"unreadCount": 1, "userErrors": []}
    listed = {e["node"]["id"]: e["node"] for e in (await feed(gateway))["edges"]}
    assert listed[ids[0]]["read"] and listed[ids[0]]["readAt"] and not listed[ids[2]]["read"]
    everything = await gateway.run(
        "securite/MarkNotificationsRead", {"input": {"all": True}}, as_=GERALT
    )
    assert everything["data"]["markNotificationsRead"]["unreadCount"] == 0
    assert (await feed(gateway))["unreadCount"] == 0


async def test_another_customers_notification_cannot_be_marked(
    gateway: Gateway, crm: httpx.AsyncClient
) -> None:
    ids = [to_global("Notification", i) for i in await post_notifications(crm, 1)]
    foreign = await gateway.run(
        "securite/MarkNotificationsRead", {"input": {"ids": ids}}, as_="C0001001"
    )
    payload = foreign["data"]["markNotificationsRead"]
    assert payload["unreadCount"] is None and errors_of(payload) == [("ids.0", "UNKNOWN")]
    both = await gateway.run(
        "securite/MarkNotificationsRead", {"input": {"ids": ids, "all": True}}, as_=GERALT
    )
    assert errors_of(both["data"]["markNotificationsRead"]) == [("ids", "INVALID")]
    assert (await feed(gateway))["unreadCount"] == 1
