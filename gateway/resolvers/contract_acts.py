"""Contract acts with their own inputs, each sent as the catalogue's demande with a generated,
readable description: RESIL (termination), RIB (bank details), BENEF (beneficiaries), DATE_PRLV
(debit day). Each goes through `demandes.send`: the same checks, exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from gateway.context import Context
from gateway.domain import iban
from gateway.domain.names import is_person_name
from gateway.domain.records import ContractSummary, Demande
from gateway.domain.termination import Termination
from gateway.resolvers.access import Scope
from gateway.resolvers.demandes import Draft, held_contract, own_scope, send, termination_of
from gateway.resolvers.problems import Problem, Refused, refuse_if_any
from gateway.resolvers.step_up import require_strong

DEBIT_DAYS = (5, 10, 15)
USAGES = {
    "DEBIT": "le prélèvement des cotisations",
    "REFUND": "le versement des remboursements et prestations",
    "BOTH": "le prélèvement des cotisations et le versement des remboursements et prestations",
}


def fr(day: date) -> str:
    return day.strftime("%d/%m/%Y")


async def the_contract(ctx: Context, scope: Scope, number: str) -> ContractSummary:
    """The viewer's contract `number` ("" when the given id was not a contract id)."""
    if not number:
        raise Refused([Problem("contractId", "UNKNOWN", "Ce contrat est introuvable.")])
    return await held_contract(ctx, scope, number, "contractId")


def label(contract: ContractSummary) -> str:
    return f"{contract.product_name} n° {contract.number}"


# ---- résiliation ---------------------------------------------------------------------------
async def allowed_termination(
    ctx: Context, scope: Scope, number: str
) -> tuple[ContractSummary, Termination]:
    """The contract and the preview's answer, as it gives it: refused exactly when the preview
    refuses, with its code and message."""
    contract = await the_contract(ctx, scope, number)
    rule = await termination_of(ctx, scope, contract)
    if not rule.allowed or rule.effective_date is None or rule.rule is None:
        code = rule.code or "NOT_ALLOWED"
        raise Refused([Problem("contractId", code, rule.refusal or "Résiliation impossible.")])
    return contract, rule


async def request_termination(
    ctx: Context, key: str, number: str, reason: str | None
) -> tuple[Demande, date]:
    effective: list[date] = []
    await allowed_termination(ctx, await own_scope(ctx), number)  # what the preview refuses
    await require_strong(ctx)  # a recent strong proof, before the key is claimed

    async def draft(scope: Scope) -> Draft:
        contract, rule = await allowed_termination(ctx, scope, number)
        assert rule.effective_date is not None and rule.rule is not None
        effective.append(rule.effective_date)
        text = (
            f"Je demande la résiliation de mon contrat {label(contract)}. "
            f"Règle appliquée : {rule.rule.label}. Date d'effet : {fr(rule.effective_date)}."
        )
        if reason and reason.strip():
            text += f" Motif : {reason.strip()}"
        return Draft(
            "RESIL", contract.number, description=text, field_names={"description": "reason"}
        )

    values = {"contractId": number, "reason": reason}
    found = await send(ctx, "requestTermination", key, values, draft)
    if not effective:  # a repeat: the date the preview gives for that contract
        scope = await own_scope(ctx)
        rule = await termination_of(ctx, scope, await the_contract(ctx, scope, number))
        effective.append(rule.effective_date or ctx.today)
    return found, effective[0]


# ---- coordonnées bancaires -----------------------------------------------------------------
async def change_bank_details(
    ctx: Context,
    key: str,
    number: str,
    value: str,
    holder: str,
    usage: str,
    attachment_id: str,
) -> tuple[Demande, str]:
    await own_scope(ctx)  # staff are refused before anything is checked
    compact, why = iban.check(value)
    problems = [] if compact else [Problem("iban", "INVALID", why or "IBAN invalide.")]
    if not holder.strip() or len(holder) > 70:
        problems.append(
            Problem(
                "holder", "REQUIRED", "Indiquez le titulaire du compte (70 caractères au plus)."
            )
        )
    refuse_if_any(problems)
    assert compact is not None
    await require_strong(ctx)  # a recent strong proof, before the key is claimed

    async def draft(scope: Scope) -> Draft:
        contract = await the_contract(ctx, scope, number)
        text = (
            f"Nouvelles coordonnées bancaires pour le contrat {label(contract)}, pour {USAGES[usage]}. "
            f"Titulaire : {holder.strip()}. IBAN : {compact}. RIB joint."
        )
        return Draft(
            "RIB",
            contract.number,
            description=text,
            attachments=(attachment_id,),
            field_names={"piecesJointes": "ribAttachmentId", "description": "iban"},
            single_attachment=True,
        )

    values = {
        "contractId": number,
        "iban": compact,
        "holder": holder,
        "usage": usage,
        "ribAttachmentId": attachment_id,
    }
    return await send(ctx, "changeBankDetails", key, values, draft), iban.mask(compact)


# ---- bénéficiaires -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Beneficiary:
    first_name: str
    last_name: str
    birth_date: date
    share: int

    @property
    def name(self) -> str:
        return f"{self.first_name.strip()} {self.last_name.strip().upper()}"


NAME_SIGNS = (
    "Un nom ne contient que des lettres, des espaces, des apostrophes, des tirets et des points."
)


def beneficiary_problems(items: Sequence[Beneficiary], today: date) -> list[Problem]:
    if not items:
        return [Problem("beneficiaries", "REQUIRED", "Désignez au moins un bénéficiaire.")]
    if len(items) > 10:
        return [Problem("beneficiaries", "TOO_MANY", "10 bénéficiaires au plus.")]
    problems = []
    for i, b in enumerate(items):
        at = f"beneficiaries.{i}"
        if not b.first_name.strip() or not b.last_name.strip() or len(b.name) > 80:
            problems.append(
                Problem(f"{at}.lastName", "REQUIRED", "Prénom et nom (80 caractères au plus).")
            )
        else:
            problems.extend(
                Problem(f"{at}.{field}", "INVALID", NAME_SIGNS)
                for field, value in (("firstName", b.first_name), ("lastName", b.last_name))
                if not is_person_name(value.strip())
            )
        if b.birth_date > today:
            problems.append(
                Problem(f"{at}.birthDate", "INVALID", "La date de naissance est dans le futur.")
            )
        if not 1 <= b.share <= 100:
            problems.append(
                Problem(f"{at}.share", "INVALID", "Une part est comprise entre 1 et 100 %.")
            )
    total = sum(b.share for b in items)
    if total != 100:
        problems.append(
            Problem(
                "beneficiaries", "SHARES", f"Les parts doivent totaliser 100 % (total : {total} %)."
            )
        )
    return problems


async def designate_beneficiaries(
    ctx: Context, key: str, number: str, items: Sequence[Beneficiary]
) -> Demande:
    await own_scope(ctx)
    refuse_if_any(beneficiary_problems(items, ctx.today))

    async def draft(scope: Scope) -> Draft:
        contract = await the_contract(ctx, scope, number)
        listed = " ; ".join(f"{b.name}, né(e) le {fr(b.birth_date)}, {b.share} %" for b in items)
        text = f"Désignation des bénéficiaires du contrat {label(contract)} : {listed}."
        return Draft(
            "BENEF",
            contract.number,
            beneficiaries=tuple(b.name for b in items),
            description=text,
            check_insured=False,
        )

    values = {
        "contractId": number,
        "beneficiaries": [
            [b.first_name, b.last_name, b.birth_date.isoformat(), b.share] for b in items
        ],
    }
    return await send(ctx, "designateBeneficiaries", key, values, draft)


# ---- date de prélèvement -------------------------------------------------------------------
async def change_debit_day(ctx: Context, key: str, number: str, day: int) -> Demande:
    await own_scope(ctx)
    if day not in DEBIT_DAYS:
        raise Refused(
            [Problem("day", "INVALID", "Le prélèvement a lieu le 5, le 10 ou le 15 du mois.")]
        )

    async def draft(scope: Scope) -> Draft:
        contract = await the_contract(ctx, scope, number)
        detail = await ctx.loaders.contract(contract.number)
        current = detail.premium.debit_day if detail and detail.premium else None
        if current == day:
            raise Refused(
                [Problem("day", "UNCHANGED", f"Le prélèvement a déjà lieu le {day} du mois.")]
            )
        was = f" au lieu du {current}" if current else ""
        text = f"Je souhaite que la cotisation du contrat {label(contract)} soit prélevée le {day} du mois{was}."
        return Draft("DATE_PRLV", contract.number, description=text)

    return await send(ctx, "changeDebitDay", key, {"contractId": number, "day": day}, draft)
