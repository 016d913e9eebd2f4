"""Passkeys over real HTTP: the gateway and the four mocks as separate processes, the relying
party configured by the environment (`GATEWAY_WEBAUTHN_RP_ID`, `GATEWAY_WEBAUTHN_ORIGINS`), every
ceremony answered by the software authenticator as the app's web view would."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mocks.processes import mock_servers
from tests.resolvers.test_accounts_over_http import gateways, run
from tests.support.authenticator import SoftAuthenticator
from tests.support.gateway import operation
from tests.support.redis import needs_redis, redis_server

APP = "https://app.espace-client.test"
RELYING_PARTY = {
    "GATEWAY_WEBAUTHN_RP_ID": "espace-client.test",
    "GATEWAY_WEBAUTHN_ORIGINS": f"{APP}, android:apk-key-hash:Z3jL8kU2qW",
}
PASSKEYS = "query { viewer { account { security { passkeys { id name lastUsedAt } } } } }"


@pytest.fixture(scope="module")
def served_mocks() -> Iterator[dict[str, str]]:
    with mock_servers() as urls:
        yield urls


def graphql(http: httpx.Client, url: str, query: str, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body: dict[str, Any] = http.post(
        url + "/graphql", json={"query": query}, headers=headers
    ).json()
    return body


def test_passkeys_from_registration_to_a_refused_clone_over_http(
    served_mocks: dict[str, str],
) -> None:
    phone = SoftAuthenticator(origin=APP)
    with gateways(served_mocks, **RELYING_PARTY) as (gw,), httpx.Client(timeout=10) as http:

        def password_login(who: str, password: str) -> str:
            body = run(http, gw, "accounts/Login", {"input": {"login": who, "password": password}})
            token: str = body["data"]["login"]["session"]["accessToken"]
            return token

        def unlock(authenticator: SoftAuthenticator, origin: str | None = None) -> dict[str, Any]:
            ceremony = run(http, gw, "securite/PasskeyLoginOptions", {})
            ceremony = ceremony["data"]["generatePasskeyLoginOptions"]["ceremony"]
            assertion = authenticator.get(ceremony["optionsJSON"], origin=origin)
            return send(ceremony["token"], assertion)

        def send(token: str, assertion: str) -> dict[str, Any]:
            variables = {"input": {"ceremonyToken": token, "credentialJSON": assertion}}
            body = run(http, gw, "securite/LoginWithPasskey", variables)
            found: dict[str, Any] = body["data"]["loginWithPasskey"]
            return found

        geralt = password_login("geralt.riviere@example.fr", "Atoll-Sante-2024!")
        options = run(http, gw, "securite/PasskeyRegistrationOptions", {}, geralt)
        ceremony = options["data"]["generatePasskeyRegistrationOptions"]["ceremony"]
        assert '"id": "espace-client.test"' in ceremony["optionsJSON"]
        created = {
            "ceremonyToken": ceremony["token"],
            "credentialJSON": phone.create(ceremony["optionsJSON"]),
            "name": "iPhone de Geralt",
        }
        added = run(http, gw, "securite/RegisterPasskey", {"input": created}, geralt)
        passkey = added["data"]["registerPasskey"]["passkey"]
        assert passkey["name"] == "iPhone de Geralt"

        # the passwordless sign-in: a session that reads the customer's space
        clone = phone.clone()
        signed = unlock(phone)
        assert signed["userErrors"] == []
        home = run(http, gw, "HomePage", {}, signed["session"]["accessToken"])
        assert home["data"]["viewer"]["displayName"].startswith("Geralt")

        # a page of another origin, a replayed challenge, a cloned authenticator: no session
        phished = unlock(phone, origin="http://localhost")
        assert phished["session"] is None
        assert [e["code"] for e in phished["userErrors"]] == ["PASSKEY_INVALID"]
        ceremony = run(http, gw, "securite/PasskeyLoginOptions", {})
        ceremony = ceremony["data"]["generatePasskeyLoginOptions"]["ceremony"]
        assertion = phone.get(ceremony["optionsJSON"])
        assert send(ceremony["token"], assertion)["session"] is not None
        replayed = send(ceremony["token"], assertion)
        assert replayed["session"] is None
        assert [e["code"] for e in replayed["userErrors"]] == ["INVALID_TOKEN"]
        cloned = unlock(clone)
        assert cloned["session"] is None
        assert [e["code"] for e in cloned["userErrors"]] == ["PASSKEY_INVALID"]

        # another customer can neither rename nor delete it
        chris = password_login("chris.martin@example.fr", "Lilas-Lyon-2023!")
        rename = {"input": {"id": passkey["id"], "name": "À moi"}}
        refused = run(http, gw, "securite/RenamePasskey", rename, chris)["data"]["renamePasskey"]
        assert [e["code"] for e in refused["userErrors"]] == ["UNKNOWN"]
        refused = run(http, gw, "securite/DeletePasskey", {"id": passkey["id"]}, chris)
        assert refused["data"]["deletePasskey"]["deletedId"] is None
        listed = graphql(http, gw, PASSKEYS, geralt)["data"]["viewer"]["account"]["security"]
        assert [(k["id"], k["name"]) for k in listed["passkeys"]] == [
            (passkey["id"], "iPhone de Geralt")
        ]
        assert listed["passkeys"][0]["lastUsedAt"] is not None

        # deleted by its owner, it opens nothing
        deleted = run(http, gw, "securite/DeletePasskey", {"id": passkey["id"]}, geralt)
        assert deleted["data"]["deletePasskey"] == {"deletedId": passkey["id"], "userErrors": []}
        gone = unlock(phone)
        assert gone["session"] is None
        assert [e["code"] for e in gone["userErrors"]] == ["PASSKEY_INVALID"]

        # one SECURITE_COMPTE e-mail per change: added, then deleted
        outbox = http.get(served_mocks["crm"] + "/_admin/outbox").json()["emails"]
        alerts = [m["titre"] for m in outbox if m["type"] == "NOTIFICATION"]
        assert alerts == ["Nouvelle clé d'accès", "Clé d'accès supprimée"]


async def at_once(variables: dict[str, Any], *urls: str) -> list[dict[str, Any]]:
    """`LoginWithPasskey` with the same variables at each gateway, concurrently."""
    document = {"query": operation("securite/LoginWithPasskey"), "variables": variables}
    async with httpx.AsyncClient(timeout=10) as client:
        answers = await asyncio.gather(*(client.post(u + "/graphql", json=document) for u in urls))
    return [a.json()["data"]["loginWithPasskey"] for a in answers]


@needs_redis
def test_a_sign_in_challenge_is_spent_once_across_two_gateway_processes(
    served_mocks: dict[str, str], tmp_path: Path
) -> None:
    phone = SoftAuthenticator(origin=APP)
    with (
        redis_server(tmp_path) as (redis, _),
        gateways(served_mocks, 2, GATEWAY_REDIS_URL=redis, **RELYING_PARTY) as (one, two),
        httpx.Client(timeout=10) as http,
    ):
        login = {"input": {"login": "geralt.riviere@example.fr", "password": "Atoll-Sante-2024!"}}
        token = run(http, one, "accounts/Login", login)["data"]["login"]["session"]["accessToken"]
        options = run(http, one, "securite/PasskeyRegistrationOptions", {}, token)
        ceremony = options["data"]["generatePasskeyRegistrationOptions"]["ceremony"]
        created = {
            "ceremonyToken": ceremony["token"],
            "credentialJSON": phone.create(ceremony["optionsJSON"]),
            "name": "iPhone de Geralt",
        }
        added = run(http, two, "securite/RegisterPasskey", {"input": created}, token)
        assert added["data"]["registerPasskey"]["userErrors"] == []  # asked at one, answered at two

        for _ in range(3):
            found = run(http, one, "securite/PasskeyLoginOptions", {})
            ceremony = found["data"]["generatePasskeyLoginOptions"]["ceremony"]
            variables = {
                "input": {
                    "ceremonyToken": ceremony["token"],
                    "credentialJSON": phone.get(ceremony["optionsJSON"]),
                }
            }

            answers = asyncio.run(at_once(variables, one, two))  # the same assertion, twice
            opened = [a for a in answers if a["session"] is not None]
            assert len(opened) == 1, answers
            refused = [e["code"] for a in answers for e in a["userErrors"]]
            assert refused == ["INVALID_TOKEN"], answers
