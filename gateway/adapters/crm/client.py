"""CRM adapter: clients, intermediaries, demandes (`contracts/legacy/crm.openapi.yaml`).

The CRM is the only system that knows every identifier of a person (`identifiants`). Its demande
lists are not paginated and hold every age: the caller passes `depuis`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from gateway.adapters.identifiers import segment, valid
from gateway.adapters.transport.resilience import CircuitOpen
from gateway.adapters.transport.transport import Transport, json_answer
from gateway.domain.accounts import AccountStatus
from gateway.domain.iban import mask_ibans
from gateway.domain.records import (
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
from gateway.domain.statistics import DemandeStatistics, StatusCount, TypeCount
from gateway.domain.values import Civility, DemandeCategory, DemandeStatus, HealthScheme
from gateway.errors import BackendTimeout, BackendUnavailable, NotFound, OutcomeUnknown

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
ACCOUNT_STATUSES = {
    "ACTIF": AccountStatus.ACTIVE,
    "EN_ATTENTE_ACTIVATION": AccountStatus.PENDING_ACTIVATION,
    "VERROUILLE": AccountStatus.LOCKED,
    "AUCUN": AccountStatus.NONE,
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
        account_status=ACCOUNT_STATUSES[raw["compte"]["statut"]],
        login=raw["compte"]["identifiant"],
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
        subject=mask_ibans(reminder["sujet"]),  # a RIB demande carries the full IBAN to the CRM
        detail=mask_ibans(reminder["detail"]),
        description=mask_ibans(reminder["description"]),
        attachments=tuple(
            Attachment(p["id"], p["nom"], p["type"], p["taille"]) for p in reminder["piecesJointes"]
        ),
    )


def intermediary_of(raw: dict[str, Any]) -> Intermediary:
    return Intermediary(raw["id"], raw["nom"], raw["agence"], raw["telephone"], raw["email"])


TTL_CUSTOMER_S = 30  # person data: short, and invalidated by the gateway's own changes
TTL_DEMANDES_S = 30
TTL_REFERENCE_S = 3600  # the catalogue and the intermediaries: reference data
TTL_STATISTICS_S = 60  # dashboard counts over all clients


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
        if not valid("crm.client", client_id):
            return None
        raw = await self._get(f"/clients/{segment(client_id)}", TTL_CUSTOMER_S)
        return customer(raw) if raw else None

    async def intermediary(self, intermediary_id: str) -> Intermediary | None:
        if not valid("crm.intermediary", intermediary_id):
            return None
        raw = await self._get(f"/interlocuteurs/{segment(intermediary_id)}", TTL_REFERENCE_S)
        return intermediary_of(raw) if raw else None

    async def demandes(self, client_id: str, since: date) -> tuple[Demande, ...]:
        if not valid("crm.client", client_id):
            return ()
        raw = await self._get(
            f"/clients/{segment(client_id)}/demandes",
            TTL_DEMANDES_S,
            {"depuis": since.isoformat()},
        )
        return tuple(demande(d) for d in (raw or {"demandes": []})["demandes"])

    async def demandes_now(self, client_id: str, since: date) -> tuple[Demande, ...]:
        """The same list as `demandes`, read from the CRM itself, never from the cache: a
        watcher looks for what changed since its last read."""
        if not valid("crm.client", client_id):
            return ()

        async def attempt(budget: float) -> Any:
            path = f"/crm/api/clients/{segment(client_id)}/demandes"
            params = {"depuis": since.isoformat()}
            return json_answer(
                await self.transport.send("GET", path, budget, params=params), BACKEND
            )

        raw = await self.transport.read(None, 0, attempt)
        return tuple(demande(d) for d in (raw or {"demandes": []})["demandes"])

    async def demande(self, demande_id: str) -> Demande | None:
        if not valid("crm.demande", demande_id):
            return None
        raw = await self._get(f"/demandes/{segment(demande_id)}", TTL_DEMANDES_S)
        return demande(raw) if raw else None

    async def demande_type_labels(self) -> dict[str, str]:
        """The catalogue's French labels by type code (also the policy-admin act codes)."""
        raw = await self._get("/types-demandes", TTL_REFERENCE_S)
        return {t["code"]: t["libelle"] for t in (raw or {"types": []})["types"]}

    async def demande_types(self) -> dict[str, DemandeType]:
        """The catalogue by type code, with each type's category."""
        raw = await self._get("/types-demandes", TTL_REFERENCE_S)
        return {
            t["code"]: DemandeType(t["code"], t["libelle"], CATEGORIES[t["categorie"]], (), ())
            for t in (raw or {"types": []})["types"]
        }

    async def demande_statistics(self, since: date, until: date) -> DemandeStatistics:
        """Counts of every client's demandes created between `since` and `until` (both included;
        at most 366 days apart: the caller checks, so a CRM 400 never happens)."""
        raw = await self._get(
            "/demandes/statistiques",
            TTL_STATISTICS_S,
            {"depuis": since.isoformat(), "jusqua": until.isoformat()},
        )
        types = await self.demande_types()
        by_type = []
        for code, per_status in sorted((raw or {}).get("parType", {}).items()):
            known = types.get(code) or DemandeType(code, code, DemandeCategory.CONTACT, (), ())
            counts = tuple(
                StatusCount(STATUSES[s], n) for s, n in per_status.items() if s in STATUSES
            )
            order = list(DemandeStatus)
            by_type.append(
                TypeCount(known, tuple(sorted(counts, key=lambda c: order.index(c.status))))
            )
        return DemandeStatistics(since, until, tuple(by_type))

    async def _change(
        self,
        method: str,
        client_id: str,
        path: str,
        body: dict[str, Any],
        applied: Callable[[Customer], bool],
    ) -> Customer | list[Refusal]:
        """One write (never retried blindly); the client's cached record is dropped after it.

        When the request may have reached the CRM but no answer says what it did (a timeout, a
        5xx: the CRM commits a change and may still answer 503), the record is read back:
        `applied(record)` says whether the change is in it. In it: the write succeeded. Not in
        it: nothing was changed (`BackendUnavailable`). The read fails too: `OutcomeUnknown`."""
        if not valid("crm.client", client_id):
            raise NotFound("Ce client")

        async def attempt(budget: float) -> Customer | list[Refusal]:
            response = await self.transport.send(
                method, f"/crm/api/clients/{segment(client_id)}{path}", budget, json=body
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
        except CircuitOpen:
            raise  # failing fast: nothing was sent
        except (BackendTimeout, BackendUnavailable):
            return await self._reconcile(client_id, applied)
        finally:  # whatever happened (an unknown outcome too), never serve the old record again
            await self.transport.forget(f"GET /crm/api/clients/{client_id}")

    async def _reconcile(self, client_id: str, applied: Callable[[Customer], bool]) -> Customer:
        """What really happened to a write that got no answer: the record, read back uncached."""
        path = f"/crm/api/clients/{segment(client_id)}"

        async def attempt(budget: float) -> Any:
            return json_answer(await self.transport.send("GET", path, budget), BACKEND)

        try:
            raw = await self.transport.read(None, 0, attempt)
        except (BackendTimeout, BackendUnavailable):
            raise OutcomeUnknown(BACKEND) from None
        if raw is None:
            raise NotFound("Ce client")
        record = customer(raw)
        if applied(record):
            return record
        raise BackendUnavailable(
            BACKEND, "Votre modification n'a pas été enregistrée, réessayez dans un instant."
        )

    async def update_contact(
        self, client_id: str, changes: dict[str, Any]
    ) -> Customer | list[Refusal]:
        """PATCH of the contact data: `email`, `mobile` (None removes them)."""

        def applied(record: Customer) -> bool:
            now = {"email": record.email, "mobile": record.mobile}
            return all(now.get(name) == wanted for name, wanted in changes.items())

        return await self._change("PATCH", client_id, "/contact", changes, applied)

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
            lambda record: record.preferences == preferences,
        )
