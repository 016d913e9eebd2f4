"""CRM adapter, accounts part (`crm.openapi.yaml`, tag `comptes`): register, activate, check a
password, forgotten password, reset, change, and the joined accounts ("réunir vos comptes": read,
join, take one out).

Every call except the group read is one attempt (a password check counts towards the lock, a
registration sends an e-mail: never replayed). The CRM's own refusals come back as `Refusal`
values (its `erreur` code and the fields it names); a 5xx, a timeout or an unreadable answer is a
`BackendError`. Credentials only ever travel in request bodies, and nothing here logs a body.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from gateway.adapters.transport.transport import Answer, Transport
from gateway.domain.accounts import Authenticated, CompanyIdentity, IndividualIdentity
from gateway.domain.security import SecondFactorMethod
from gateway.errors import BackendRejected, BackendUnavailable

BACKEND = "crm"
BASE = "/crm/api"
TTL_GROUP_S = 30


@dataclass(frozen=True, slots=True)
class Refusal:
    """The CRM said no: `erreur` (`JETON_INVALIDE`, `COMPTE_VERROUILLE`…) and the fields it named."""

    code: str
    status: int
    fields: tuple[str, ...] = ()


def refusal(response: Answer) -> Refusal:
    try:
        body = orjson.loads(response.content)
        code = str(body["erreur"])
        fields = tuple(str(d.get("champ", "")) for d in body.get("details") or [])
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        raise BackendUnavailable(BACKEND) from None
    if code == "NON_AUTHENTIFIE":  # our service token, not the customer's password
        raise BackendRejected(BACKEND)
    return Refusal(code, response.status_code, fields)


class CrmAccounts:
    """Built over the CRM's transport (shared pool, breaker and cache)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None, ok: int
    ) -> dict[str, Any] | Refusal | None:
        async def attempt(budget: float) -> dict[str, Any] | Refusal | None:
            response = await self.transport.send(method, BASE + path, budget, json=body)
            if response.status_code == ok:
                return dict(orjson.loads(response.content)) if response.content else None
            if response.status_code >= 500:
                raise BackendUnavailable(BACKEND)
            return refusal(response)

        try:
            return await self.transport.write(attempt)
        except orjson.JSONDecodeError:
            raise BackendUnavailable(BACKEND) from None

    async def register(
        self, identity: IndividualIdentity | CompanyIdentity, email: str
    ) -> Refusal | None:
        body: dict[str, Any]
        if isinstance(identity, IndividualIdentity):
            body = {
                "type": "PP",
                "numeroAdherent": identity.customer_number,
                "nom": identity.last_name,
                "prenom": identity.first_name,
                "dateNaissance": identity.birth_date.isoformat(),
            }
        else:
            body = {
                "type": "PM",
                "numeroAdherent": identity.customer_number,
                "numeroSite": identity.site_number,
                "siret": identity.siret,
                "codeConfidentiel": identity.confidential_code,
            }
        found = await self._send("POST", "/comptes", {**body, "email": email}, 201)
        if isinstance(found, Refusal):
            return found
        if found is not None:
            await self.transport.forget(f"GET {BASE}/clients/{found['clientId']}")
        return None

    async def activate(self, token: str, password: str) -> Refusal | str:
        """The activated account's client id, or the refusal."""
        found = await self._send(
            "POST", "/comptes/activation", {"jeton": token, "motDePasse": password}, 200
        )
        return found if isinstance(found, Refusal) else await self._settled(found)

    async def reset(self, token: str, password: str) -> Refusal | str:
        found = await self._send(
            "POST", "/comptes/reinitialisation", {"jeton": token, "motDePasse": password}, 200
        )
        return found if isinstance(found, Refusal) else await self._settled(found)

    async def _settled(self, found: dict[str, Any] | None) -> str:
        if found is None:
            raise BackendUnavailable(BACKEND)
        client_id = str(found["clientId"])
        await self.transport.forget(f"GET {BASE}/clients/{client_id}")  # its account changed
        return client_id

    async def authenticate(self, login: str, password: str) -> Authenticated | Refusal:
        found = await self._send(
            "POST", "/authentification", {"identifiant": login, "motDePasse": password}, 200
        )
        if isinstance(found, Refusal):
            return found
        if found is None:
            raise BackendUnavailable(BACKEND)
        return Authenticated(
            found["clientId"],
            found["typeCompte"] == "PM",
            tuple(found["rattaches"]),
            SecondFactorMethod(found["secondFacteur"]),
        )

    async def forgot_password(self, email: str) -> None:
        """Always accepted by the CRM (`202`), whether the e-mail is a login or not."""
        found = await self._send("POST", "/comptes/mot-de-passe-oublie", {"email": email}, 202)
        if isinstance(found, Refusal):
            raise BackendRejected(BACKEND)

    async def change_password(self, client_id: str, current: str, new: str) -> Refusal | None:
        found = await self._send(
            "PUT", f"/comptes/{client_id}/mot-de-passe", {"ancien": current, "nouveau": new}, 204
        )
        await self.transport.forget(f"GET {BASE}/clients/{client_id}")  # a lock changes status
        return found if isinstance(found, Refusal) else None

    async def group(self, client_id: str) -> tuple[str, ...]:
        """Client ids of the accounts joined with this one, its own included (`()`: no account)."""
        path = f"{BASE}/comptes/{client_id}/rattachements"
        found = await self.transport.get(path, TTL_GROUP_S)
        return tuple(found["rattaches"]) if found else ()

    async def join(self, client_id: str, login: str, password: str) -> tuple[str, ...] | Refusal:
        found = await self._send(
            "POST",
            f"/comptes/{client_id}/rattachements",
            {"identifiant": login, "motDePasse": password},
            200,
        )
        if isinstance(found, Refusal):
            return found
        if found is None:
            raise BackendUnavailable(BACKEND)
        group = tuple(found["rattaches"])
        await self.transport.forget(
            *(f"GET {BASE}/comptes/{member}/rattachements" for member in group)
        )
        return group

    async def leave(self, client_id: str, other: str) -> tuple[str, ...] | Refusal:
        """Take `other` out of `client_id`'s group (`other` may be `client_id`: it leaves); the
        group of `client_id` afterwards, or the refusal (`404`: `other` is not in the group)."""
        before = await self.group(client_id)
        try:
            found = await self._send(
                "DELETE", f"/comptes/{client_id}/rattachements/{other}", None, 200
            )
        finally:  # whatever the outcome, every member reads its group afresh
            await self.transport.forget(
                *(f"GET {BASE}/comptes/{member}/rattachements" for member in {*before, other})
            )
        if isinstance(found, Refusal):
            return found
        if found is None:
            raise BackendUnavailable(BACKEND)
        return tuple(found["rattaches"])
