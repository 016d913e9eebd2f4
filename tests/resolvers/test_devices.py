"""Devices and sessions in process (« Appareils connectés »): the list of the account's sessions,
ending one or all the others, and the « nouvel appareil » alert, against the mock CRM's
notifications and outbox."""

from __future__ import annotations

from typing import Any

from tests.conftest import faults
from tests.support.accounts import PASSWORDS, crm_calls
from tests.support.gateway import Gateway

GERALT = "geralt.riviere@example.fr"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
SESSIONS = (
    "query { viewer { account { sessions "
    "{ id deviceLabel signInMethod signInMethodLabel firstSeenAt lastSeenAt current } } } }"
)
NOTIFICATIONS = "POST /crm/api/clients/{clientId}/notifications"


async def post(
    gateway: Gateway,
    document: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    from tests.support.gateway import operation

    query = operation(document) if "{" not in document else document
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    response = await gateway.http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
    )
    body: dict[str, Any] = response.json()
    return body


async def sign_in(
    gateway: Gateway, agent: str = IPHONE, device: str | None = None, who: str = GERALT
) -> dict[str, Any]:
    variables = {"input": {"login": who, "password": PASSWORDS[who], "deviceId": device}}
    body = await post(gateway, "accounts/Login", variables, headers={"User-Agent": agent})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["login"]
    assert payload["userErrors"] == [], payload
    found: dict[str, Any] = payload["session"]
    return found


async def sessions(gateway: Gateway, token: str) -> list[dict[str, Any]]:
    body = await post(gateway, SESSIONS, token=token)
    assert "errors" not in body, body
    found: list[dict[str, Any]] = body["data"]["viewer"]["account"]["sessions"]
    return found


def new_device_alerts(gateway: Gateway, client_id: str = "C0001002") -> list[dict[str, Any]]:
    return [
        n
        for n in gateway.mocks["crm"].notifications.values()  # type: ignore[attr-defined]
        if n["clientId"] == client_id and n["evenement"] == "CONNEXION_NOUVEL_APPAREIL"
    ]


def alert_messages(gateway: Gateway, client_id: str = "C0001002") -> list[dict[str, Any]]:
    return [
        m
        for m in gateway.mocks["crm"].outbox  # type: ignore[attr-defined]
        if m["type"] == "NOTIFICATION"
        and m["clientId"] == client_id
        and m.get("evenement") == "CONNEXION_NOUVEL_APPAREIL"
    ]


# ---- « Appareils connectés » ---------------------------------------------------------------------
async def test_the_devices_signed_in_are_listed_with_the_current_one_marked(
    gateway: Gateway,
) -> None:
    phone = await sign_in(gateway, IPHONE)
    desk = await sign_in(gateway, WINDOWS)
    listed = await sessions(gateway, phone["accessToken"])
    assert [(s["deviceLabel"], s["current"]) for s in listed] == [
        ("Safari sur iPhone", True),  # last seen first: this very request
        ("Chrome sur Windows", False),
    ]
    assert {s["signInMethod"] for s in listed} == {"PASSWORD"}
    assert listed[0]["signInMethodLabel"] == "Mot de passe"
    assert all(s["firstSeenAt"] <= s["lastSeenAt"] for s in listed)
    from_desk = await sessions(gateway, desk["accessToken"])
    assert [s["current"] for s in from_desk] == [True, False]
    assert {s["id"] for s in from_desk} == {s["id"] for s in listed}


async def test_a_signed_out_session_leaves_the_list(gateway: Gateway) -> None:
    phone, desk = await sign_in(gateway, IPHONE), await sign_in(gateway, WINDOWS)
    out = await post(gateway, "accounts/Logout", {"refreshToken": desk["refreshToken"]})
    assert out["data"]["logout"]["accepted"] is True
    assert [s["deviceLabel"] for s in await sessions(gateway, phone["accessToken"])] == [
        "Safari sur iPhone"
    ]


async def test_ending_another_session_stops_its_tokens(gateway: Gateway) -> None:
    phone, desk = await sign_in(gateway, IPHONE), await sign_in(gateway, WINDOWS)
    other = next(s for s in await sessions(gateway, phone["accessToken"]) if not s["current"])
    ended = await post(
        gateway, "securite/EndSession", {"id": other["id"]}, token=phone["accessToken"]
    )
    assert ended["data"]["endSession"] == {"accepted": True, "userErrors": []}
    refused = await post(gateway, SESSIONS, token=desk["accessToken"])
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    renewed = await post(gateway, "accounts/RefreshSession", {"refreshToken": desk["refreshToken"]})
    assert renewed["data"]["refreshSession"]["session"] is None
    assert len(await sessions(gateway, phone["accessToken"])) == 1


async def test_the_current_session_and_another_customers_cannot_be_ended_here(
    gateway: Gateway,
) -> None:
    phone = await sign_in(gateway, IPHONE)
    chris = await sign_in(gateway, WINDOWS, who="chris.martin@example.fr")
    own = (await sessions(gateway, phone["accessToken"]))[0]
    mine = await post(gateway, "securite/EndSession", {"id": own["id"]}, token=phone["accessToken"])
    assert [e["code"] for e in mine["data"]["endSession"]["userErrors"]] == ["CURRENT_SESSION"]
    foreign = await post(
        gateway, "securite/EndSession", {"id": own["id"]}, token=chris["accessToken"]
    )
    assert [e["code"] for e in foreign["data"]["endSession"]["userErrors"]] == ["UNKNOWN"]
    assert (await sessions(gateway, phone["accessToken"]))[0]["current"] is True


async def test_ending_the_other_sessions_keeps_only_this_one(gateway: Gateway) -> None:
    phone = await sign_in(gateway, IPHONE)
    others = [await sign_in(gateway, WINDOWS) for _ in range(2)]
    ended = await post(gateway, "securite/EndOtherSessions", token=phone["accessToken"])
    assert ended["data"]["endOtherSessions"] == {"endedCount": 2, "userErrors": []}
    for other in others:
        refused = await post(gateway, SESSIONS, token=other["accessToken"])
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert [s["current"] for s in await sessions(gateway, phone["accessToken"])] == [True]
    again = await post(gateway, "securite/EndOtherSessions", token=phone["accessToken"])
    assert again["data"]["endOtherSessions"]["endedCount"] == 0


# ---- the « nouvel appareil » alert ----------------------------------------------------------------
async def test_a_sign_in_from_a_new_device_alerts_the_customer_once(gateway: Gateway) -> None:
    await sign_in(gateway, IPHONE, device="phone-0001")  # the first device: recorded, no alert
    await sign_in(gateway, IPHONE, device="phone-0001")
    assert new_device_alerts(gateway) == []
    await sign_in(gateway, WINDOWS, device="desk-0001")
    alerts = new_device_alerts(gateway)
    assert len(alerts) == 1 and "Chrome sur Windows" in alerts[0]["message"]
    assert alerts[0]["lien"] == "/connexion-et-securite"
    await sign_in(gateway, WINDOWS, device="desk-0001")  # now known
    await sign_in(gateway, IPHONE, device="phone-0001")
    assert len(new_device_alerts(gateway)) == 1


async def test_the_device_id_header_is_read_when_the_input_has_none(gateway: Gateway) -> None:
    await sign_in(gateway, IPHONE, device="phone-0001")
    variables = {"input": {"login": GERALT, "password": PASSWORDS[GERALT]}}
    body = await post(gateway, "accounts/Login", variables, headers={"X-Device-Id": "tablet-01"})
    assert body["data"]["login"]["session"] is not None
    assert len(new_device_alerts(gateway)) == 1


async def test_a_new_device_alert_is_sent_once_when_crm_answers_are_lost(
    gateway: Gateway,
) -> None:
    await sign_in(gateway, IPHONE, device="phone-0001")
    await faults(gateway, "crm", timeout_rate=0.3, hang_ms=800, seed=21, routes=[NOTIFICATIONS])
    devices = [f"desk-{n:04d}" for n in range(6)]
    for device in devices:
        for _ in range(2):  # the second sign-in from it: known, or the same alert again
            await sign_in(gateway, WINDOWS, device=device)
    await faults(gateway, "crm")
    posts = crm_calls(gateway, NOTIFICATIONS)
    alerts = new_device_alerts(gateway)
    assert len(alerts) == len(devices)  # one per device, none twice
    assert len({a["cleIdempotence"] for a in alerts}) == len(devices)
    assert len(alert_messages(gateway)) == len(devices)  # e-mailed once each
    assert posts > len(devices)  # answers were lost: the same keys were posted again


async def test_a_two_step_sign_in_keeps_the_device_of_its_first_step(gateway: Gateway) -> None:
    from tests.resolvers.test_second_factor import verify, with_totp

    chris, login = "C0001001", "chris.martin@example.fr"
    _, recovery = await with_totp(gateway, chris)
    for n, device in enumerate(("phone-0001", "desk-0001")):
        variables = {"input": {"login": login, "password": PASSWORDS[login], "deviceId": device}}
        first = await post(
            gateway, "securite/LoginWithPassword", variables, headers={"User-Agent": WINDOWS}
        )
        challenge = first["data"]["login"]["secondFactorChallenge"]["token"]
        signed = await verify(gateway, challenge, recovery[n])  # no device id in this step
        assert signed["session"] is not None
    assert len(new_device_alerts(gateway, chris)) == 1  # the second device, known from step 1
    listed = await sessions(gateway, signed["session"]["accessToken"])
    assert {s["signInMethod"] for s in listed} == {"PASSWORD_AND_SECOND_FACTOR"}
    assert listed[0]["signInMethodLabel"] == "Mot de passe et double authentification"
