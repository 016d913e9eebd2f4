"""CRM adapter: clients, intermediaries, demandes (`contracts/legacy/crm.openapi.yaml`).

The CRM is the only system that knows every identifier of a person (`identifiants`). Its demande
lists are not paginated and hold every age: the caller passes `depuis`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..domain.records import (
    Address,
    Attachment,
    Customer,
    Demande,
    DemandeType,
    Intermediary,
    Preferences,
    StatusChange,
    SystemIds,
)
from ..domain.values import Civility, DemandeCategory, DemandeStatus, HealthScheme
from ..errors import NotFound
from .transport import Transport, json_answer

BACKEND = "crm"
CIVILITIES = {"M": Civility.MR, "MME": Civility.MRS}
SCHEMES = {
    "REGIME_GENERAL": HealthScheme.GENERAL,
    "REGIME_AGRICOLE": HealthScheme.AGRICULTURAL,
    "ALSACE_MOSELLE": HealthScheme.ALSACE_MOSELLE,
    "INDEPENDANTS": HealthScheme.SELF_EMPLOYED,
    "AUTRE": HealthScheme.OTHER,
}
STATUSES = {
    "RECU": DemandeStatus.RECEIVED,
    "EN_COURS": DemandeStatus.IN_PROGRESS,
    "TRAITE": DemandeStatus.DONE,
    "REJETE": DemandeStatus.REJECTED,
    "CLOTURE": DemandeStatus.CLOSED,
}
CATEGORIES = {
    "SANTE": DemandeCategory.HEALTH,
    "VIE_PERSONNELLE": DemandeCategory.PERSONAL_LIFE,
    "CONTRAT": DemandeCategory.CONTRACT,
    "CONTACT": DemandeCategory.CONTACT,
    "RECLAMATION": DemandeCategory.COMPLAINT,
}


def instant(value: str) -> datetime:
    """An RFC 3339 `date-time` (`format: date-time`): `t` and `z` may be written in lower case."""
    return datetime.fromisoformat(value.upper())


def address(raw: dict[str, Any] | None) -> Address | None:
    if raw is None:
        return None
    return Address(tuple(raw["lignes"]), raw["codePostal"], raw["ville"], raw["pays"])


def customer(raw: dict[str, Any]) -> Customer:
    ids, prefs = raw["identifiants"], raw["preferences"]
    consents = prefs["consentements"]
    return Customer(
        client_id=raw["clientId"],
        is_company=raw["type"] == "PM",
        customer_number=raw["numeroAdherent"],
        civility=CIVILITIES.get(raw["civilite"] or ""),
        first_name=raw["prenom"],
        last_name=raw["nom"],
        birth_date=date.fromisoformat(raw["dateNaissance"]) if raw["dateNaissance"] else None,
        company_name=raw["raisonSociale"],
        siret=raw["siret"],
        email=raw["email"],
        mobile=raw["mobile"],
        landline=raw["telephoneFixe"],
        address=address(raw["adresse"]),
        ids=SystemIds(ids["policyAdmin"], ids["prestations"], ids["editique"]),
        intermediary_id=raw["interlocuteurId"],
        preferences=Preferences(
            prefs["dematerialisation"],
            consents["offresGroupe"],
            consents["communicationCiblee"],
            consents["questionnaireSatisfaction"],
        ),
        health_scheme=SCHEMES.get(raw["regimeObligatoire"] or ""),
    )


def demande(raw: dict[str, Any]) -> Demande:
    reminder = raw["rappel"]
    return Demande(
        id=raw["id"],
        reference=raw["reference"],
        type=DemandeType(raw["type"], raw["libelleType"], CATEGORIES[raw["categorie"]], (), ()),
        created_at=instant(raw["dateCreation"]),
        status=STATUSES[raw["statut"]],
        tracked=raw["suivi"],
        beneficiaries=tuple(raw["beneficiaires"]),
        contract=raw["numContrat"],
        is_complaint=raw["reclamation"],
        history=tuple(
            StatusChange(STATUSES[h["statut"]], instant(h["date"])) for h in raw["historique"]
        ),
        subject=reminder["sujet"],
        detail=reminder["detail"],
        description=reminder["description"],
        attachments=tuple(
            Attachment(p["id"], p["nom"], p["type"], p["taille"]) for p in reminder["piecesJointes"]
        ),
    )


def intermediary_of(raw: dict[str, Any]) -> Intermediary:
    return Intermediary(raw["id"], raw["nom"], raw["agence"], raw["telephone"], raw["email"])


TTL_CUSTOMER_S = 30  # person data: short, and invalidated by the gateway's own changes
TTL_DEMANDES_S = 30
TTL_REFERENCE_S = 3600  # the catalogue and the intermediaries: reference data


@dataclass(frozen=True, slots=True)
class Refusal:
    """A field the CRM refused, as `details[].champ` / `message`."""

    field: str
    message: str


class Crm:
    backend = BACKEND

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def _get(self, path: str, ttl: float, params: dict[str, Any] | None = None) -> Any:
        return await self.transport.get(f"/crm/api{path}", ttl, params)

    async def customer(self, client_id: str) -> Customer | None:
        raw = await self._get(f"/clients/{client_id}", TTL_CUSTOMER_S)
        return customer(raw) if raw else None

    async def intermediary(self, intermediary_id: str) -> Intermediary | None:
        raw = await self._get(f"/interlocuteurs/{intermediary_id}", TTL_REFERENCE_S)
        return intermediary_of(raw) if raw else None

    async def demandes(self, client_id: str, since: date) -> tuple[Demande, ...]:
        raw = await self._get(
            f"/clients/{client_id}/demandes", TTL_DEMANDES_S, {"depuis": since.isoformat()}
        )
        return tuple(demande(d) for d in (raw or {"demandes": []})["demandes"])

    async def demande(self, demande_id: str) -> Demande | None:
        raw = await self._get(f"/demandes/{demande_id}", TTL_DEMANDES_S)
        return demande(raw) if raw else None

    async def demande_type_labels(self) -> dict[str, str]:
        """The catalogue's French labels by type code (also the policy-admin act codes)."""
        raw = await self._get("/types-demandes", TTL_REFERENCE_S)
        return {t["code"]: t["libelle"] for t in (raw or {"types": []})["types"]}

    async def _change(
        self, method: str, client_id: str, path: str, body: dict[str, Any]
    ) -> Customer | list[Refusal]:
        """One write (never retried blindly); the client's cached record is dropped after it."""

        async def attempt(budget: float) -> Customer | list[Refusal]:
            response = await self.transport.send(
                method, f"/crm/api/clients/{client_id}{path}", budget, json=body
            )
            if response.status_code == 400:
                details = response.json().get("details", [])
                return [Refusal(d["champ"], d["message"]) for d in details] or [
                    Refusal("", "Valeur refusée")
                ]
            found = json_answer(response, BACKEND)
            if found is None:
                raise NotFound("Ce client")
            return customer(found)

        try:
            return await self.transport.write(attempt)
        finally:  # whatever happened (an unknown outcome too), never serve the old record again
            await self.transport.forget(f"GET /crm/api/clients/{client_id}")

    async def update_contact(
        self, client_id: str, changes: dict[str, Any]
    ) -> Customer | list[Refusal]:
        """PATCH of the contact data: `email`, `mobile` (None removes them)."""
        return await self._change("PATCH", client_id, "/contact", changes)

    async def replace_preferences(
        self, client_id: str, preferences: Preferences
    ) -> Customer | list[Refusal]:
        return await self._change(
            "PUT",
            client_id,
            "/preferences",
            {
                "dematerialisation": preferences.paperless,
                "consentements": {
                    "offresGroupe": preferences.group_offers,
                    "communicationCiblee": preferences.targeted_communication,
                    "questionnaireSatisfaction": preferences.satisfaction_surveys,
                },
            },
        )
