"""Helpers of the account tests: the frontends' documents with their variables, the mock CRM's
outbox and accounts, and tokens read back."""

from __future__ import annotations

from typing import Any

import jwt

from tests.support.gateway import Gateway

PASSWORDS = {
    "chris.martin@example.fr": "Lilas-Lyon-2023!",
    "geralt.riviere@example.fr": "Atoll-Sante-2024!",
    "paul.bertrand@example.fr": "Brico-Prevoyance-18!",
    "contact@sarl-brico.example.fr": "Brico-Entreprise-73!",
    "mfg.delatour@example.fr": "Chateau-Tour-1949!",
}
NEW_PASSWORD = "Nouveau-Mot2Passe!"


def errors_of(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def login(
    gateway: Gateway, who: str, password: str | None = None, device: str | None = None
) -> dict[str, Any]:
    given = {"login": who, "password": PASSWORDS.get(who, "") if password is None else password}
    if device is not None:
        given["deviceId"] = device
    body = await gateway.run("accounts/Login", {"input": given})
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["login"]
    return payload


async def session(
    gateway: Gateway, who: str, password: str | None = None, device: str | None = None
) -> dict[str, Any]:
    payload = await login(gateway, who, password, device)
    assert payload["userErrors"] == [], payload
    found: dict[str, Any] = payload["session"]
    return found


async def refresh(gateway: Gateway, refresh_token: str) -> dict[str, Any]:
    body = await gateway.run("accounts/RefreshSession", {"refreshToken": refresh_token})
    payload: dict[str, Any] = body["data"]["refreshSession"]
    return payload


async def settings_of(gateway: Gateway, access_token: str) -> dict[str, Any]:
    return await gateway.run("accounts/AccountSettings", token=access_token)


def claims(access_token: str) -> dict[str, Any]:
    found: dict[str, Any] = jwt.decode(access_token, options={"verify_signature": False})
    return found


def outbox(gateway: Gateway, kind: str, to: str) -> list[str]:
    """Tokens the mock CRM e-mailed to `to`, oldest first."""
    return [
        mail["jeton"]
        for mail in gateway.mocks["crm"].outbox  # type: ignore[attr-defined]
        if mail["type"] == kind and mail["destinataire"] == to
    ]


def account(gateway: Gateway, client_id: str) -> dict[str, Any]:
    found: dict[str, Any] = gateway.mocks["crm"].accounts[client_id]  # type: ignore[attr-defined]
    return found


def crm_calls(gateway: Gateway, route: str) -> int:
    return gateway.mocks["crm"].log.counts[route]
