"""Claims adapter, "prestations" (`contracts/legacy/claims.openapi.yaml`).

Quirks handled here: `dd/mm/yyyy` dates, `"459,50"` amounts parsed to Decimal, every list paged
(`taille` ≤ 50: an offset/limit slice is mapped onto as few pages as possible), 429 with
`Retry-After`, persons' names `NOM Prénom` turned into `Prénom NOM` (company
names never).

Pages are cached `TTL_LIST_S`; `paid_since` and `reimbursed_since` read claims itself, never the
cache: the gateway looks for what was paid since it last looked (`resolvers/events.py`).
"""

from __future__ import annotations

import asyncio
import re
from datetime import date
from decimal import Decimal
from typing import Any

from gateway.adapters.identifiers import segment, valid
from gateway.adapters.transport.transport import Answer, Transport, json_answer
from gateway.domain.records import BaseBenefit, DeductionLine, Dossier, Page, Reglement
from gateway.domain.values import (
    CareRecipient,
    DossierStatus,
    Guarantee,
    Money,
    PaidTo,
    PaymentMethod,
    Period,
    RecipientKind,
)
from gateway.errors import RateLimited

BACKEND = "claims"
MAX_PAGE = 50
FR_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4})", re.ASCII)
GUARANTEES = {
    "INC": Guarantee.INCAPACITY,
    "INV": Guarantee.INVALIDITY,
    "DC": Guarantee.DEATH,
    "RENTE_EDUC": Guarantee.EDUCATION_ANNUITY,
}
GUARANTEE_CODES = {v: k for k, v in GUARANTEES.items()}
STATUSES = {"EC": DossierStatus.OPEN, "CL": DossierStatus.CLOSED}
METHODS = {"VIR": PaymentMethod.TRANSFER, "CHQ": PaymentMethod.CHEQUE}
RECIPIENTS = {"ENT": RecipientKind.COMPANY, "AFF": RecipientKind.AFFILIATE}
CARE = {"ASSURE": CareRecipient.INSURED, "CONJ": CareRecipient.SPOUSE, "ENF": CareRecipient.CHILD}
PAID_TO = {"ASSURE": PaidTo.INSURED, "PS": PaidTo.PROVIDER}


def day(value: str) -> date:
    """`DD/MM/YYYY` (ValueError otherwise); strptime costs 10 times more."""
    found = FR_DATE.fullmatch(value)
    if found is None:
        raise ValueError(f"not a DD/MM/YYYY date: {value!r}")
    return date(int(found[3]), int(found[2]), int(found[1]))


def maybe_day(value: str | None) -> date | None:
    return day(value) if value else None


def fr(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def amount(value: str) -> Decimal:
    """`"1234567,89"` → Decimal('1234567.89'); never through a float."""
    return Decimal(value.replace(",", "."))


def money(value: str) -> Money:
    return Money.of(amount(value))


def person_name(legacy: str) -> str:
    """A person's `NOM Prénom` → `Prénom NOM`: the family name is the leading words written in
    upper case (accents, apostrophes, hyphens and particles kept: `DE LA TOUR Marie`), the first
    name the rest as written. A name that cannot be split that way is shown as given."""
    words = legacy.split()
    split = next((i for i, w in enumerate(words) if w != w.upper()), len(words))
    family, first = " ".join(words[:split]), " ".join(words[split:])
    return f"{first} {family}" if first and family else " ".join(words) or legacy


def payee_name(raw: dict[str, Any]) -> str:
    """`destinataire.libelle`: a person's name for `AFF`; for `ENT` the company name as registered
    (never reordered: `Transports Dupont & Fils`, `sas 2M` stay as they are)."""
    name: str = raw["libelle"]
    return person_name(name) if raw["type"] == "AFF" else name


def dossier(raw: dict[str, Any]) -> Dossier:
    base = raw.get("prestationBase")
    return Dossier(
        number=raw["numDossier"],
        contract=raw["numContrat"],
        membership=raw["numAdhesion"],
        company_name=raw["raisonSociale"],
        affiliate_id=raw["numAffilie"],
        affiliate_name=person_name(raw["nomAffilie"]),
        guarantee=GUARANTEES[raw["codeGarantie"]],
        status=STATUSES[raw["statut"]],
        occurred_on=day(raw["dateSurvenance"]),
        closed_on=maybe_day(raw["dateCloture"]),
        last_payment_on=maybe_day(raw["dateDernierReglement"]),
        base_benefit=BaseBenefit(
            reference_gross_salary=money(base["salairesBrutsReference"]),
            reference_period=Period(
                day(base["periodeReference"]["debut"]), day(base["periodeReference"]["fin"])
            ),
            monthly_amount=money(base["prestationBaseMensuelle"]),
            realisation=money(base["realisation"]),
            monthly_amount_after_realisation=money(base["montantMensuel"]),
            other_monthly_income=money(base["autresRevenusMensuels"]),
        )
        if base
        else None,
    )


def reglement(raw: dict[str, Any]) -> Reglement:
    detailed = "lignesDecompte" in raw
    start, end = maybe_day(raw["periodeDebut"]), maybe_day(raw["periodeFin"])
    return Reglement(
        reference=raw["refReglement"],
        is_health=False,
        paid_on=day(raw["dateReglement"]),
        contract=raw["numContrat"],
        gross=money(raw["montantBrut"]),
        net=money(raw["montantNet"]),
        payment_method=METHODS[raw["modePaiement"]],
        dossier=raw["numDossier"],
        affiliate_id=raw["numAffilie"],
        beneficiary_name=person_name(raw["nomAffilie"]),
        guarantee=GUARANTEES[raw["codeGarantie"]],
        period=Period(start, end) if start and end else None,
        recipient_kind=RECIPIENTS[raw["destinataire"]["type"]],
        recipient_name=payee_name(raw["destinataire"]),
        detailed=detailed,
        breakdown=tuple(
            DeductionLine(line["code"], line["libelle"], money(line["montant"]))
            for line in raw.get("lignesDecompte", [])
        ),
        withholding_rate=amount(raw["tauxPAS"]) if raw.get("tauxPAS") else None,
        taxable_base=money(raw["baseImposable"]) if raw.get("baseImposable") else None,
        letter_id=raw.get("refCourrier"),
    )


def remboursement(raw: dict[str, Any], insured: str) -> Reglement:
    who = raw["beneficiaire"]
    return Reglement(
        reference=raw["refRemboursement"],
        is_health=True,
        paid_on=day(raw["dateReglement"]),
        contract=raw["numContrat"],
        gross=money(raw["montantDepense"]),
        net=money(raw["montantComplementaire"]),
        payment_method=METHODS[raw["modePaiement"]],
        affiliate_id=insured,
        beneficiary_name=f"{who['prenom']} {who['nom']}".strip(),
        detailed=True,
        care_date=day(raw["dateSoins"]),
        act=raw["acte"],
        care_recipient=CARE[who["lien"]],
        expense=money(raw["montantDepense"]),
        social_security=money(raw["montantSecu"]),
        out_of_pocket=money(raw["resteACharge"]),
        paid_to=PAID_TO[raw["payeA"]],
    )


def pages_for(offset: int, limit: int) -> tuple[int, list[int]]:
    """Page size and page numbers covering [offset, offset + limit) in as few calls as possible."""
    if limit <= MAX_PAGE and offset % limit == 0:
        return limit, [offset // limit + 1]
    first, last = offset // MAX_PAGE + 1, (offset + limit - 1) // MAX_PAGE + 1
    return MAX_PAGE, list(range(first, last + 1))


def criteria_valid(
    *, dossier: str | None = None, contract: str | None = None, affiliate: str | None = None
) -> bool:
    """Every criterion given has its documented format (else nothing matches: no call)."""
    return (
        (dossier is None or valid("claims.dossier", dossier))
        and (contract is None or valid("claims.contract", contract))
        and (affiliate is None or valid("claims.person", affiliate))
    )


TTL_LIST_S = 120  # payments are added by a nightly batch; two minutes keeps pages fresh enough
TTL_DETAIL_S = 600


class Claims:
    backend = BACKEND

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    @staticmethod
    def body(response: Answer) -> dict[str, Any] | None:
        if response.status_code == 429:  # under load: wait what the system says
            retry_after = response.headers.get("retry-after", "")
            raise RateLimited(BACKEND, float(retry_after) if retry_after.isdigit() else None)
        found: dict[str, Any] | None = json_answer(response, BACKEND)
        return found

    async def _get(
        self, path: str, params: dict[str, Any] | None = None, ttl: float = TTL_LIST_S
    ) -> dict[str, Any] | None:
        found: dict[str, Any] | None = await self.transport.get(
            f"/prestations/v2{path}", ttl, params, self.body
        )
        return found

    async def _slice(
        self, path: str, params: dict[str, Any], offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Elements [offset, offset + limit) of a paged list, and the total."""
        if limit <= 0:
            body = await self._get(path, {**params, "taille": 1})
            return [], (body or {}).get("total", 0)
        size, numbers = pages_for(offset, limit)
        bodies = await asyncio.gather(
            *(self._get(path, {**params, "taille": size, "page": n}) for n in numbers)
        )
        elements = [e for body in bodies for e in (body or {}).get("elements", [])]
        skip = offset - (numbers[0] - 1) * size
        return elements[skip : skip + limit], (bodies[0] or {}).get("total", 0)

    async def _all(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        first = await self._get(path, {**params, "taille": MAX_PAGE, "page": 1}) or {}
        rest = await asyncio.gather(
            *(
                self._get(path, {**params, "taille": MAX_PAGE, "page": n})
                for n in range(2, first.get("nbPages", 0) + 1)
            )
        )
        return [e for body in (first, *rest) for e in (body or {}).get("elements", [])]

    async def _all_now(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every element of a paged list, from claims itself (retried, never cached)."""

        async def page(number: int) -> dict[str, Any]:
            async def attempt(budget: float) -> dict[str, Any] | None:
                query = {**params, "taille": MAX_PAGE, "page": number}
                response = await self.transport.send(
                    "GET", f"/prestations/v2{path}", budget, params=query
                )
                return self.body(response)

            return await self.transport.read(None, 0, attempt) or {}

        first = await page(1)
        rest = await asyncio.gather(*(page(n) for n in range(2, first.get("nbPages", 0) + 1)))
        return [e for body in (first, *rest) for e in body.get("elements", [])]

    async def paid_since(
        self, since: date, *, contract: str | None = None, affiliate: str | None = None
    ) -> tuple[Reglement, ...]:
        """Benefit règlements paid on or after `since`, as claims has them now."""
        if not criteria_valid(contract=contract, affiliate=affiliate):
            return ()
        params = {"numContrat": contract, "numAffilie": affiliate, "dateMin": fr(since)}
        found = await self._all_now("/reglements", {k: v for k, v in params.items() if v})
        return tuple(reglement(raw) for raw in found)

    async def reimbursed_since(self, insured: str, since: date) -> tuple[Reglement, ...]:
        """Health reimbursements of `insured` paid on or after `since`, as claims has them now."""
        if not valid("claims.person", insured):
            return ()
        found = await self._all_now("/remboursements", {"numAssure": insured, "dateMin": fr(since)})
        return tuple(remboursement(raw, insured) for raw in found)

    async def dossiers(
        self, *, contract: str | None = None, affiliate: str | None = None
    ) -> tuple[Dossier, ...]:
        if not criteria_valid(contract=contract, affiliate=affiliate):
            return ()
        params = {k: v for k, v in {"numContrat": contract, "numAffilie": affiliate}.items() if v}
        return tuple(dossier(raw) for raw in await self._all("/dossiers", params))

    async def dossier(self, number: str) -> Dossier | None:
        if not valid("claims.dossier", number):
            return None
        raw = await self._get(f"/dossiers/{segment(number)}", ttl=TTL_DETAIL_S)
        return dossier(raw) if raw else None

    async def reglements(
        self,
        *,
        offset: int,
        limit: int,
        since: date | None = None,
        until: date | None = None,
        dossier: str | None = None,
        contract: str | None = None,
        affiliate: str | None = None,
        guarantee: Guarantee | None = None,
    ) -> Page[Reglement]:
        if not criteria_valid(dossier=dossier, contract=contract, affiliate=affiliate):
            return Page((), 0)
        params = {
            "numDossier": dossier,
            "numContrat": contract,
            "numAffilie": affiliate,
            "dateMin": fr(since) if since else None,
            "dateMax": fr(until) if until else None,
            "codeGarantie": GUARANTEE_CODES[guarantee] if guarantee else None,
        }
        elements, total = await self._slice(
            "/reglements", {k: v for k, v in params.items() if v}, offset, limit
        )
        return Page(tuple(reglement(raw) for raw in elements), total)

    async def reglement(self, reference: str) -> Reglement | None:
        if not valid("claims.reglement", reference):
            return None
        raw = await self._get(f"/reglements/{segment(reference)}", ttl=TTL_DETAIL_S)
        return reglement(raw) if raw else None

    async def remboursements(
        self,
        insured: str,
        *,
        offset: int,
        limit: int,
        since: date | None = None,
        until: date | None = None,
    ) -> Page[Reglement]:
        if not valid("claims.person", insured):
            return Page((), 0)
        params = {
            "numAssure": insured,
            "dateMin": fr(since) if since else None,
            "dateMax": fr(until) if until else None,
        }
        elements, total = await self._slice(
            "/remboursements", {k: v for k, v in params.items() if v}, offset, limit
        )
        return Page(tuple(remboursement(raw, insured) for raw in elements), total)
