"""Policy admin adapter: contracts, memberships, affiliates, services
(`contracts/legacy/policy-admin.openapi.yaml`).

Quirks handled here and nowhere else: `CODE_RETOUR` checked on every 2xx (E999 in a 200 is a
transient failure), `YYYYMMDD` with `"00000000"`/`""` as no date, cents, right-padded text, full
IBANs masked at once, batch reads chunked by 50, affiliates walked 20 per page, a service with a
code, audience or first day it does not know left out, a phone or URL of the wrong shape dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from gateway.adapters.identifiers import segment, valid
from gateway.adapters.transport.transport import Answer, Transport, json_answer
from gateway.domain.records import (
    Affiliate,
    BankAccount,
    ContractDetail,
    ContractSummary,
    Dependent,
    GuaranteeLine,
    Premium,
    Savings,
)
from gateway.domain.services import ContractService, ServiceAudience, ServiceCode
from gateway.domain.values import (
    AffiliateStatus,
    ContractRole,
    ContractStatus,
    DocumentType,
    Money,
    NumberKind,
    PremiumFrequency,
    ProductFamily,
    Relationship,
)
from gateway.errors import BackendUnavailable

BACKEND = "policy-admin"
BATCH = 50
FAMILIES = {
    "SAN": ProductFamily.HEALTH,
    "PRV": ProductFamily.PROTECTION,
    "EPA": ProductFamily.SAVINGS,
    "RET": ProductFamily.RETIREMENT,
    "IAR": ProductFamily.PROPERTY_CASUALTY,
}
STATUSES = {
    "A": ContractStatus.ACTIVE,
    "R": ContractStatus.TERMINATED,
    "S": ContractStatus.SUSPENDED,
    "E": ContractStatus.PENDING,
}
AFFILIATE_STATUSES = {
    "A": AffiliateStatus.ACTIVE,
    "R": AffiliateStatus.LEFT,
    "S": AffiliateStatus.SUSPENDED,
    "E": AffiliateStatus.PENDING,
}
ROLES = {
    "SOUS": ContractRole.SUBSCRIBER,
    "AFF": ContractRole.MEMBER,
    "ASS": ContractRole.INSURED,
    "BEN": ContractRole.DEPENDENT,
}
FREQUENCIES = {
    "M": PremiumFrequency.MONTHLY,
    "T": PremiumFrequency.QUARTERLY,
    "S": PremiumFrequency.HALF_YEARLY,
    "A": PremiumFrequency.YEARLY,
}
RELATIONSHIPS = {
    "CONJ": Relationship.SPOUSE,
    "ENF": Relationship.CHILD,
    "AUTRE": Relationship.OTHER,
}


def day(value: str) -> date | None:
    """`YYYYMMDD`; `"00000000"` and `""` mean no date."""
    if not value or value == "00000000":
        return None
    if len(value) != 8 or not value.isdigit() or not value.isascii():
        raise ValueError(f"not a YYYYMMDD date: {value!r}")
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))


def text(value: str) -> str | None:
    """Right-trimmed text; `""` means no text."""
    trimmed = value.rstrip()
    return trimmed or None


def cents(value: int) -> Money:
    """Integer cents → exact Decimal euros (`8950` → 89,50 €)."""
    return Money.of(Decimal(f"{int(value)}e-2"))  # exact: no context rounding, whatever the size


def mask_iban(iban: str) -> str:
    """`FR76 **** **** **** **** **** 189`: country code and check digits, last 3 characters."""
    compact = iban.replace(" ", "")
    masked = compact[:4] + "*" * (len(compact) - 7) + compact[-3:]
    return " ".join(masked[i : i + 4] for i in range(0, len(masked), 4))


def summary(raw: dict[str, Any], role: str | None = None) -> ContractSummary:
    return ContractSummary(
        number=raw["NUM_CTR"],
        number_kind=NumberKind.MEMBERSHIP if raw["TYPE_NUM"] == "ADH" else NumberKind.CONTRACT,
        family=FAMILIES[raw["CD_FAM"]],
        product_name=text(raw["LIB_PRODUIT"]) or raw["NUM_CTR"],
        status=STATUSES[raw["CD_STATUT"]],
        effective_date=day(raw["DT_EFFET"]),
        term_date=day(raw["DT_ECHEANCE"]),
        termination_date=day(raw["DT_RESIL"]),
        collective=raw["COLL"] == "O",
        company_contract=text(raw["NUM_CTR_ENT"]),
        company_name=text(raw["RAISON_SOC_ENT"]),
        subscriber=raw["NUM_PERS_SOUS"],
        role=ROLES[role] if role else None,
    )


def account(raw: dict[str, Any] | None) -> BankAccount | None:
    if raw is None:
        return None
    return BankAccount(
        holder=text(raw["TITULAIRE"]) or "", masked_iban=mask_iban(raw["IBAN"]), bic=raw["BIC"]
    )


def detail(raw: dict[str, Any]) -> ContractDetail:
    premium = raw["COTISATION"]
    savings = raw["ENCOURS"]
    clause = raw["BENEFICIAIRES"]
    return ContractDetail(
        summary=summary(raw),
        guarantees=tuple(
            GuaranteeLine(
                code=g["CD_GAR"],
                label=text(g["LIB_GAR"]) or g["CD_GAR"],
                level=text(g["NIVEAU"]),
                ceiling=cents(g["MT_PLAFOND"]) if g["MT_PLAFOND"] is not None else None,
                rate_percent=int(g["TAUX"]) if g["TAUX"] is not None else None,
            )
            for g in raw["GARANTIES"]
        ),
        premium=Premium(
            cents(premium["MT_COTIS"]), FREQUENCIES[premium["PERIODICITE"]], premium["JOUR_PRLV"]
        )
        if premium
        else None,
        debit_account=account(raw["IBAN_PRLV"]),
        refund_account=account(raw["IBAN_RMBT"]),
        beneficiary_clause=text(clause["CLAUSE"]) if clause else None,
        dependents=tuple(
            Dependent(
                text(d["PRENOM"]) or "",
                text(d["NOM"]) or "",
                day(d["DT_NAIS"]),
                RELATIONSHIPS[d["LIEN"]],
            )
            for d in raw["AYANTS_DROIT"]
        ),
        intermediary_id=text(raw["ID_INTERLOCUTEUR"]),
        savings=Savings(cents(savings["MT_ENCOURS"]), day(savings["DT_VALO"])) if savings else None,
        actions=tuple(raw["ACTES"]),
    )


def affiliate(raw: dict[str, Any]) -> Affiliate:
    return Affiliate(
        person_number=raw["NUM_PERS"],
        membership=raw["NUM_ADH"],
        first_name=text(raw["PRENOM"]) or "",
        last_name=text(raw["NOM"]) or "",
        birth_date=day(raw["DT_NAIS"]),
        affiliated_on=day(raw["DT_AFFIL"]),
        left_on=day(raw["DT_RADIATION"]),
        status=AFFILIATE_STATUSES[raw["CD_STATUT"]],
    )


TTL_PERSON_S = 120  # a person's roles change rarely; short enough for a new contract to show soon
TTL_CONTRACT_S = 300
TTL_AFFILIATES_S = 300
TTL_SERVICES_S = 300  # services change with the product's catalogue, not with the customer
SERVICE_CODES = {
    "TELECONSULTATION": ServiceCode.TELECONSULTATION,
    "TIERS_PAYANT": ServiceCode.THIRD_PARTY_PAYMENT,
    "RESEAU_SOINS": ServiceCode.CARE_NETWORK,
    "ANALYSE_DEVIS": ServiceCode.QUOTE_ANALYSIS,
    "PRISE_RDV": ServiceCode.MEDICAL_APPOINTMENT,
    "ASSISTANCE": ServiceCode.ASSISTANCE,
    "BIBLIOTHEQUE_LETTRES": ServiceCode.LETTER_LIBRARY,
    "PREVENTION": ServiceCode.PREVENTION,
}
AUDIENCES = {
    "A": ServiceAudience.INSURED,
    "T": ServiceAudience.ALL_BENEFICIARIES,
    "E": ServiceAudience.COMPANY,
}
SERVICE_DOCUMENTS = {"CTPY": DocumentType.THIRD_PARTY_PAYMENT_CARD}


def service(raw: dict[str, Any]) -> ContractService | None:
    """A service as policy admin lists it (None: a code or audience this gateway does not know,
    or no first day: not shown)."""
    code = SERVICE_CODES.get(raw["CD_SERVICE"])
    audience = AUDIENCES.get(raw["CD_BENEF"])
    start = day(raw["DT_DEBUT"])
    if code is None or audience is None or start is None:
        return None
    phone = (raw.get("TEL_ACCES") or "").strip()
    url = (raw.get("URL_ACCES") or "").strip()
    return ContractService(
        code=code,
        name=text(raw["LIB_SERVICE"]) or code.label,
        description=text(raw.get("DESCRIPTIF") or ""),
        provider=text(raw.get("PRESTATAIRE") or ""),
        url=url if url.startswith("https://") else None,
        phone=phone if len(phone) == 10 and phone.isdigit() else None,
        hours=text(raw.get("HORAIRES") or ""),
        available_from=start,
        available_until=day(raw.get("DT_FIN") or ""),
        audience=audience,
        document_type=SERVICE_DOCUMENTS.get((raw.get("TYPE_DOC") or "").strip()),
    )


class PolicyAdmin:
    backend = BACKEND

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    @staticmethod
    def body(response: Answer) -> dict[str, Any] | None:
        """The body of a success; None for a 404; a BackendError for everything else."""
        found: dict[str, Any] | None = json_answer(response, BACKEND)
        if (
            found is not None and found.get("CODE_RETOUR") != "0000"
        ):  # E999: an error hidden in a 200
            raise BackendUnavailable(BACKEND)
        return found

    async def _get(
        self, path: str, ttl: float, params: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        found: dict[str, Any] | None = await self.transport.get(
            f"/api/v1{path}", ttl, params, self.body
        )
        return found

    async def person_contracts(self, person: str) -> tuple[ContractSummary, ...]:
        """Every contract on which the person holds a role (an unknown person holds none)."""
        if not valid("policy-admin.person", person):
            return ()
        found = await self._get(f"/personnes/{segment(person)}/contrats", TTL_PERSON_S)
        if found is None:
            return ()
        return tuple(summary(c, c["ROLE"]) for c in found["CONTRATS"])

    async def contracts(self, numbers: Iterable[str]) -> dict[str, ContractDetail]:
        """Details of many contracts: cached one by one, the missing ones through the batch read
        (50 numbers per call, concurrently)."""
        keys = {
            f"GET /api/v1/contrats/{n}": n
            for n in dict.fromkeys(numbers)
            if valid("policy-admin.contract", n)
        }
        if not keys:
            return {}

        def attempt(missing: list[str]) -> Callable[[float], Awaitable[dict[str, Any]]]:
            wanted = [keys[k] for k in missing]
            chunks = [wanted[i : i + BATCH] for i in range(0, len(wanted), BATCH)]

            async def batch(budget: float) -> dict[str, Any]:
                responses = await asyncio.gather(
                    *(
                        self.transport.send(
                            "POST", "/api/v1/contrats/recherche", budget, json={"NUM_CTRS": chunk}
                        )
                        for chunk in chunks
                    )
                )
                details = {
                    c["NUM_CTR"]: c
                    for r in responses
                    for c in (self.body(r) or {}).get("CONTRATS", [])
                }
                return {f"GET /api/v1/contrats/{n}": details.get(n) for n in wanted}

            return batch

        found = await self.transport.read_many(list(keys), TTL_CONTRACT_S, attempt)
        return {keys[k]: detail(raw) for k, raw in found.items() if raw is not None}

    async def services(self, number: str) -> tuple[ContractService, ...]:
        """The services of a contract or adhésion, in display order (an unknown one has none)."""
        if not valid("policy-admin.contract", number):
            return ()
        found = await self._get(f"/contrats/{segment(number)}/services", TTL_SERVICES_S)
        if found is None:
            return ()
        listed = (service(s) for s in found["SERVICES"])
        return tuple(s for s in listed if s is not None)

    async def affiliates(self, number: str) -> tuple[Affiliate, ...]:
        """All affiliates of a collective contract (pages of 20 walked, the rest concurrently)."""
        if not valid("policy-admin.contract", number):
            return ()
        path = f"/contrats/{segment(number)}/affilies"
        first = await self._get(path, TTL_AFFILIATES_S, {"PAGE": 1})
        if first is None:
            return ()
        rest = await asyncio.gather(
            *(
                self._get(path, TTL_AFFILIATES_S, {"PAGE": page})
                for page in range(2, first["NB_PAGES"] + 1)
            )
        )
        return tuple(
            affiliate(a) for body in (first, *rest) for a in (body or {}).get("AFFILIES", [])
        )
