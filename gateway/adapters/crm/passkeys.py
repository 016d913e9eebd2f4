"""CRM adapter, passkeys part (`crm.openapi.yaml`, tag `securite`: `/comptes/{clientId}/cles-acces`,
`/cles-acces/{credentialId}`). The `SECURITE_COMPTE` alert a passkey change posts goes through
`security.py`'s `notify`, as every alert of « Connexion et sécurité ».

How each call meets a lost answer (a timeout, a 5xx):

    list, look-up          reads: retried, never cached (counters and last use move)
    register (POST)        not idempotent: after a lost answer the credential is looked up; found
                           on this account, it was registered; absent, it is posted once more
    rename (PATCH)         idempotent: retried
    delete (DELETE)        a repeat would answer 404: after a lost answer the account's list
                           says whether it is gone
    assertion (POST)       one attempt: after a lost answer no session is opened (the customer
                           unlocks again; the counter only ever moves forward)

The CRM's own refusals come back as `Refusal` values (`CONFLIT`, `COMPTE_VERROUILLE`…).
"""

from __future__ import annotations

from typing import Any

import orjson

from gateway.adapters.crm.accounts import Refusal, refusal
from gateway.adapters.crm.client import instant
from gateway.adapters.transport.transport import Transport, json_answer
from gateway.domain.accounts import Authenticated
from gateway.domain.passkeys import NewPasskey, PasskeyOwner, StoredPasskey
from gateway.errors import BackendError, BackendUnavailable

BACKEND = "crm"
BASE = "/crm/api"


def stored(raw: dict[str, Any]) -> StoredPasskey:
    last = raw["derniereUtilisation"]
    return StoredPasskey(
        credential_id=raw["credentialId"],
        name=raw["nom"],
        transports=tuple(raw["transports"]),
        sign_count=int(raw["signCount"]),
        created_at=instant(raw["creeLe"]),
        last_used_at=instant(last) if last else None,
    )


def loaded(content: bytes) -> dict[str, Any]:
    try:
        found = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise BackendUnavailable(BACKEND) from None
    if not isinstance(found, dict):
        raise BackendUnavailable(BACKEND)
    return found


class CrmPasskeys:
    """Built over the CRM's transport (shared pool, breaker)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def list(self, client_id: str) -> tuple[StoredPasskey, ...]:
        """The account's passkeys, oldest first (`()`: no account)."""

        async def attempt(budget: float) -> tuple[StoredPasskey, ...]:
            response = await self.transport.send(
                "GET", f"{BASE}/comptes/{client_id}/cles-acces", budget
            )
            found = json_answer(response, BACKEND)
            return tuple(stored(k) for k in found["clesAcces"]) if found else ()

        return await self.transport.read(None, 0, attempt)

    async def owner(self, credential_id: str) -> PasskeyOwner | None:
        """Whose credential this is, with its public key and counter (None: nobody's)."""

        async def attempt(budget: float) -> PasskeyOwner | None:
            response = await self.transport.send(
                "GET", f"{BASE}/cles-acces/{credential_id}", budget
            )
            found = json_answer(response, BACKEND)
            if found is None:
                return None
            return PasskeyOwner(
                credential_id=found["credentialId"],
                client_id=found["clientId"],
                is_company=found["typeCompte"] == "PM",
                locked=found["statutCompte"] == "VERROUILLE",
                public_key=found["clePublique"],
                sign_count=int(found["signCount"]),
            )

        return await self.transport.read(None, 0, attempt)

    async def register(self, client_id: str, new: NewPasskey, name: str) -> StoredPasskey | Refusal:
        body = {
            "credentialId": new.credential_id,
            "clePublique": new.public_key,
            "signCount": new.sign_count,
            "transports": list(new.transports),
            "aaguid": new.aaguid,
            "nom": name,
        }

        async def attempt(budget: float) -> StoredPasskey | Refusal:
            response = await self.transport.send(
                "POST", f"{BASE}/comptes/{client_id}/cles-acces", budget, json=body
            )
            if response.status_code == 201:
                return stored(loaded(response.content))
            if response.status_code >= 500:
                raise BackendUnavailable(BACKEND)
            return refusal(response)

        for last_try in (False, True):
            try:
                return await self.transport.write(attempt)
            except BackendError:
                owner = await self.owner(new.credential_id)  # committed before the answer was lost?
                if owner is not None and owner.client_id == client_id:
                    return await self._one(client_id, new.credential_id)
                if owner is not None or last_try:
                    raise
        raise AssertionError("unreachable")

    async def _one(self, client_id: str, credential_id: str) -> StoredPasskey:
        found = [k for k in await self.list(client_id) if k.credential_id == credential_id]
        if not found:  # the look-up and the list disagree: the CRM contradicts itself
            raise BackendUnavailable(BACKEND)
        return found[0]

    async def rename(
        self, client_id: str, credential_id: str, name: str
    ) -> StoredPasskey | Refusal:
        async def attempt(budget: float) -> StoredPasskey | Refusal:
            response = await self.transport.send(
                "PATCH",
                f"{BASE}/comptes/{client_id}/cles-acces/{credential_id}",
                budget,
                json={"nom": name},
            )
            if response.status_code == 200:
                return stored(loaded(response.content))
            if response.status_code >= 500:
                raise BackendUnavailable(BACKEND)
            return refusal(response)

        return await self.transport.read(None, 0, attempt)

    async def delete(self, client_id: str, credential_id: str) -> Refusal | None:
        async def attempt(budget: float) -> Refusal | None:
            response = await self.transport.send(
                "DELETE", f"{BASE}/comptes/{client_id}/cles-acces/{credential_id}", budget
            )
            if response.status_code == 204:
                return None
            if response.status_code >= 500:
                raise BackendUnavailable(BACKEND)
            return refusal(response)

        try:
            return await self.transport.write(attempt)
        except BackendError:
            if any(k.credential_id == credential_id for k in await self.list(client_id)):
                raise
            return None  # the lost answer was a success: the passkey is gone

    async def record_assertion(
        self, credential_id: str, sign_count: int
    ) -> Authenticated | Refusal:
        """A verified assertion's counter: the CRM's yes opens the session (`409`: not increasing)."""

        async def attempt(budget: float) -> Authenticated | Refusal:
            response = await self.transport.send(
                "POST",
                f"{BASE}/cles-acces/{credential_id}/assertion",
                budget,
                json={"signCount": sign_count},
            )
            if response.status_code == 200:
                found = loaded(response.content)
                return Authenticated(
                    found["clientId"], found["typeCompte"] == "PM", tuple(found["rattaches"])
                )
            if response.status_code >= 500:
                raise BackendUnavailable(BACKEND)
            return refusal(response)

        return await self.transport.write(attempt)
