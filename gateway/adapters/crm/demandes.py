"""CRM demandes, write side: the catalogue, `POST /clients/{id}/demandes`, the look-up by
`referenceExterne`, `POST /pieces-jointes` (`contracts/legacy/crm.openapi.yaml`, quirks 1, 6, 9).

The POST is not idempotent: it is sent once per attempt (never retried here) with the caller's
`referenceExterne`; a `409 CONFLIT` means the demande already exists and is read back with the
look-up. A `400` is a list of `Refusal`s (nothing created). A 5xx, a timeout or a lost answer is a
`BackendError`: the outcome is unknown and the caller reconciles with `find_by_reference`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson

from gateway.adapters.crm.client import BACKEND, CATEGORIES, TTL_REFERENCE_S, Crm, Refusal, demande
from gateway.adapters.policy_admin import FAMILIES
from gateway.adapters.transport.transport import Answer, json_answer, query_key
from gateway.domain.records import Attachment, Demande, DemandeType
from gateway.errors import BackendRejected, BackendUnavailable

UPLOAD_TIMEOUT_S = 2.5  # up to 10 MiB to send


def demande_type(raw: dict[str, Any]) -> DemandeType:
    return DemandeType(
        raw["code"],
        raw["libelle"],
        CATEGORIES[raw["categorie"]],
        tuple(raw["champsRequis"]),
        tuple(FAMILIES[f] for f in raw["familles"]),
    )


async def catalogue(crm: Crm) -> tuple[DemandeType, ...]:
    """The demande types, in the CRM's order (reference data, cached an hour)."""
    raw = await crm.transport.get("/crm/api/types-demandes", TTL_REFERENCE_S)
    return tuple(demande_type(t) for t in (raw or {"types": []})["types"])


def refusals(response: Answer) -> list[Refusal]:
    try:
        details = orjson.loads(response.content).get("details", [])
    except (orjson.JSONDecodeError, AttributeError):
        details = []
    return [Refusal(d.get("champ", ""), d.get("message", "")) for d in details] or [
        Refusal("", "Demande refusée")
    ]


async def find_by_reference(crm: Crm, reference: str) -> Demande | None:
    """The demande created with `reference`, if its creation was committed (retried, never cached)."""

    async def attempt(budget: float) -> Demande | None:
        response = await crm.transport.send(
            "GET", "/crm/api/demandes", budget, params={"referenceExterne": reference}
        )
        found = json_answer(response, BACKEND)
        items = (found or {"demandes": []})["demandes"]
        return demande(items[0]) if items else None

    return await crm.transport.read(None, 0, attempt)


async def create(
    crm: Crm, client_id: str, body: dict[str, Any], listed_since: date
) -> Demande | list[Refusal]:
    """One POST (body carries `referenceExterne`); 409 → the existing demande, read back.
    The client's cached list (`depuis=listed_since`) is dropped whatever the outcome."""

    async def attempt(budget: float) -> Demande | list[Refusal] | None:
        response = await crm.transport.send(
            "POST", f"/crm/api/clients/{client_id}/demandes", budget, json=body
        )
        if response.status_code == 201:
            return demande(orjson.loads(response.content))
        if response.status_code == 409:
            return None  # already created with this referenceExterne
        if response.status_code in (400, 404):
            return refusals(response)
        if response.status_code >= 500:
            raise BackendUnavailable(BACKEND)
        raise BackendRejected(BACKEND)

    try:
        result = await crm.transport.write(attempt)
    finally:  # whatever happened, the client's demande list must be read afresh
        await crm.transport.forget(
            query_key(
                f"/crm/api/clients/{client_id}/demandes", {"depuis": listed_since.isoformat()}
            )
        )
    if result is None:
        found = await find_by_reference(crm, body["referenceExterne"])
        if found is None:  # 409 yet not found: the CRM contradicts itself
            raise BackendUnavailable(BACKEND)
        return found
    return result


async def upload(crm: Crm, name: str, mime_type: str, content: bytes) -> Attachment | list[Refusal]:
    """`POST /pieces-jointes` (multipart, part `fichier`); harmless to repeat, sent once."""

    async def attempt(budget: float) -> Attachment | list[Refusal]:
        response = await crm.transport.send(
            "POST",
            "/crm/api/pieces-jointes",
            budget,
            files={"fichier": (name, content, mime_type)},
        )
        if response.status_code == 201:
            raw = orjson.loads(response.content)
            return Attachment(raw["id"], raw["nom"], raw["type"], raw["taille"])
        if response.status_code in (400, 413, 415):
            return refusals(response)
        if response.status_code >= 500:
            raise BackendUnavailable(BACKEND)
        raise BackendRejected(BACKEND)

    return await crm.transport.guard.once(attempt, UPLOAD_TIMEOUT_S)
