"""Démarches: the catalogue a customer is offered, attachments, and sending a demande exactly once.

Checked before the CRM is called (it checks none of it, quirk 9): the type is known and offered
for the contract (its families; a contract act must be one of the contract's `ACTES`), each
required field is present, the contract is the viewer's and not terminated, beneficiaries are
insured on it, attachments were uploaded by this viewer, are unused and under 24 h, lengths fit
the CRM's limits. Every CRM refusal becomes a userError; nothing is written when one is found.
"""

from __future__ import annotations

import asyncio
import time
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gateway.adapters.crm import demandes as crm_demandes
from gateway.adapters.crm.client import Refusal
from gateway.context import Context
from gateway.domain.records import ContractSummary, Customer, Demande, DemandeType
from gateway.domain.termination import Termination, termination
from gateway.domain.values import ContractStatus, DemandeCategory, months_before
from gateway.errors import Forbidden, NotFound, Unauthenticated
from gateway.resolvers import access
from gateway.resolvers.access import DEMANDE_WINDOW_MONTHS, Scope
from gateway.resolvers.idempotency import Idempotency, exactly_once, external_reference
from gateway.resolvers.problems import Problem, Refused, refuse_if_any

# CRM body field → the input field a customer fixes
FIELDS = {
    "numContrat": "contractId",
    "beneficiaires": "beneficiaries",
    "sujet": "subject",
    "detail": "detail",
    "description": "description",
    "piecesJointes": "attachmentIds",
    "type": "type",
}
LIMITS = {"subject": 100, "detail": 100, "description": 4000}
MAX_BENEFICIARIES, MAX_ATTACHMENTS, MAX_NAME = 10, 5, 80
ATTACHMENT_LIFE_S = 24 * 3600.0


def attachment_key(attachment_id: str) -> str:
    return f"attachment:{attachment_id}"


async def own_scope(ctx: Context) -> Scope:
    """The customer acting; staff cannot act for a customer."""
    principal = ctx.require_principal()
    if principal.is_staff:
        raise Forbidden("Un conseiller ne peut pas effectuer de démarche à la place d'un client.")
    customer = await ctx.loaders.customer(principal.subject)
    if customer is None:
        raise Unauthenticated("Compte client inconnu.")
    return Scope(customer)


def customer_of(scope: Scope) -> Customer:
    assert scope.customer is not None
    return scope.customer


# ---- catalogue -----------------------------------------------------------------------------
async def catalogue(ctx: Context) -> tuple[DemandeType, ...]:
    return await ctx.loaders.catalogue()


async def contract_acts(ctx: Context, number: str) -> tuple[str, ...]:
    detail = await ctx.loaders.contract(number)
    return detail.actions if detail else ()


def is_act(kind: DemandeType) -> bool:
    """Types of the « Gérer mon contrat » category are acts: only where policy admin lists them."""
    return kind.category == DemandeCategory.CONTRACT


async def offered_for_contract(
    ctx: Context, contract: ContractSummary, types: tuple[DemandeType, ...]
) -> list[DemandeType]:
    if contract.status == ContractStatus.TERMINATED:
        return []
    acts = await contract_acts(ctx, contract.number)
    return [
        t
        for t in types
        if t.families and contract.family in t.families and (not is_act(t) or t.code in acts)
    ]


async def offered(
    ctx: Context, scope: Scope, contract: ContractSummary | None
) -> list[DemandeType]:
    """Types the viewer may start: general ones, and those matching the contract (or any of the
    viewer's contracts), in the catalogue's order."""
    types = await catalogue(ctx)
    held = [contract] if contract else list(await access.contracts(ctx, scope))
    await asyncio.gather(*(ctx.loaders.contract(c.number) for c in held))  # one batch read
    codes: set[str] = set()
    for item in held:
        codes |= {t.code for t in await offered_for_contract(ctx, item, types)}
    return [t for t in types if (not t.families and contract is None) or t.code in codes]


async def available_actions(ctx: Context, scope: Scope, contract: ContractSummary) -> list[str]:
    """The contract's acts as the catalogue offers them (RESIL only where the preview allows)."""
    kinds = {t.code for t in await offered_for_contract(ctx, contract, await catalogue(ctx))}
    codes = [c for c in await contract_acts(ctx, contract.number) if c in kinds]  # ACTES order
    if "RESIL" in codes and not (await termination_of(ctx, scope, contract)).allowed:
        codes.remove("RESIL")
    return codes


async def termination_of(ctx: Context, scope: Scope, contract: ContractSummary) -> Termination:
    """Whether and from when the viewer may terminate `contract`: the preview's answer and the
    rule `requestTermination` applies (`domain/termination.py`), with the contract's acts."""
    kinds = await offered_for_contract(ctx, contract, await catalogue(ctx))
    offered = any(kind.code == "RESIL" for kind in kinds)
    return termination(contract, scope.is_company, ctx.today, offered=offered)


# ---- the draft of a demande ------------------------------------------------------------------
@dataclass(frozen=True)
class Draft:
    type: str
    contract: str | None = None  # contract number (already resolved from the global id)
    contract_given: bool = False
    beneficiaries: tuple[str, ...] = ()
    subject: str | None = None
    detail: str | None = None
    description: str | None = None
    attachments: tuple[str, ...] = ()
    complaint: bool = False
    check_insured: bool = True
    single_attachment: bool = False  # one attachment field, not a list: no index in the path
    field_names: Mapping[str, str] = field(default_factory=dict)  # CRM field → input path

    def input_field(self, crm_field: str) -> str:
        return self.field_names.get(crm_field, FIELDS.get(crm_field, crm_field))


def folded(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(plain.casefold().split())


async def held_contract(ctx: Context, scope: Scope, number: str, path: str) -> ContractSummary:
    try:
        return await access.contract(ctx, scope, number)
    except NotFound:
        raise Refused([Problem(path, "UNKNOWN", "Ce contrat est introuvable.")]) from None


async def insured_names(ctx: Context, scope: Scope, contract: ContractSummary) -> set[str]:
    detail = await ctx.loaders.contract(contract.number)
    names = {folded(customer_of(scope).display_name)}
    if detail is not None:
        names |= {folded(d.display_name) for d in detail.dependents}
    return names


def text_problems(draft: Draft, kind: DemandeType) -> list[Problem]:
    problems = []
    texts = {"sujet": draft.subject, "detail": draft.detail, "description": draft.description}
    for name, value in texts.items():
        limit = LIMITS[FIELDS[name]]
        if value is not None and len(value) > limit:
            problems.append(
                Problem(
                    draft.input_field(name),
                    "TOO_LONG",
                    f"{limit} caractères au plus ({len(value)} saisis).",
                )
            )
    present = {
        "numContrat": draft.contract is not None,
        "beneficiaires": bool(draft.beneficiaries),
        "sujet": bool((draft.subject or "").strip()),
        "detail": bool((draft.detail or "").strip()),
        "description": bool((draft.description or "").strip()),
        "piecesJointes": bool(draft.attachments),
    }
    for name in kind.required_fields:
        if not present.get(name, True):
            problems.append(
                Problem(
                    draft.input_field(name),
                    "REQUIRED",
                    "Ce champ est obligatoire pour cette demande.",
                )
            )
    return problems


async def attachment_problems(ctx: Context, viewer: str, draft: Draft) -> list[Problem]:
    path = draft.input_field("piecesJointes")
    if len(draft.attachments) > MAX_ATTACHMENTS:
        return [Problem(path, "TOO_MANY", f"{MAX_ATTACHMENTS} pièces jointes au plus.")]
    problems = []
    now = time.time()
    for i, attachment_id in enumerate(draft.attachments):
        at = path if draft.single_attachment else f"{path}.{i}"
        if draft.attachments.index(attachment_id) != i:
            problems.append(Problem(at, "INVALID", "Cette pièce jointe est déjà dans la liste."))
            continue
        record = await ctx.services.store.get(attachment_key(attachment_id))
        if record is None or record.get("owner") != viewer:  # another's reads as unknown
            problems.append(Problem(at, "UNKNOWN", "Cette pièce jointe est introuvable."))
        elif record.get("used"):
            problems.append(
                Problem(
                    at, "ALREADY_USED", "Cette pièce jointe a déjà été envoyée avec une demande."
                )
            )
        elif now - float(record["uploaded_at"]) > ATTACHMENT_LIFE_S:
            problems.append(
                Problem(
                    at, "EXPIRED", "Cette pièce jointe a plus de 24 heures : déposez-la à nouveau."
                )
            )
    return problems


async def checked_body(ctx: Context, scope: Scope, draft: Draft) -> dict[str, Any]:
    """The CRM body of a draft, or `Refused` with every problem found."""
    kind = next((t for t in await catalogue(ctx) if t.code == draft.type), None)
    if kind is None:
        raise Refused([Problem("type", "UNKNOWN", "Ce type de demande n'existe pas.")])
    problems: list[Problem] = []
    contract = None
    if draft.contract is not None:
        contract = await held_contract(ctx, scope, draft.contract, draft.input_field("numContrat"))
        if contract.status == ContractStatus.TERMINATED:
            raise Refused(
                [Problem(draft.input_field("numContrat"), "TERMINATED", "Ce contrat est résilié.")]
            )
    elif draft.contract_given:
        raise Refused(
            [Problem(draft.input_field("numContrat"), "UNKNOWN", "Ce contrat est introuvable.")]
        )
    general = contract is None and not kind.families  # a message, a complaint: always offered
    if not general and kind.code not in {t.code for t in await offered(ctx, scope, contract)}:
        where = "pour ce contrat" if contract else "pour vos contrats"
        raise Refused(
            [Problem("type", "NOT_OFFERED", f"Cette demande n'est pas proposée {where}.")]
        )
    problems += text_problems(draft, kind)
    path = draft.input_field("beneficiaires")
    if len(draft.beneficiaries) > MAX_BENEFICIARIES:
        problems.append(Problem(path, "TOO_MANY", f"{MAX_BENEFICIARIES} bénéficiaires au plus."))
    else:
        insured = (
            await insured_names(ctx, scope, contract) if contract and draft.check_insured else None
        )
        for i, name in enumerate(draft.beneficiaries):
            if not name.strip() or len(name) > MAX_NAME:
                problems.append(
                    Problem(f"{path}.{i}", "INVALID", f"Nom de 1 à {MAX_NAME} caractères.")
                )
            elif insured is not None and folded(name) not in insured:
                problems.append(
                    Problem(f"{path}.{i}", "UNKNOWN", f"{name} n'est pas assuré(e) sur ce contrat.")
                )
    problems += await attachment_problems(ctx, customer_of(scope).client_id, draft)
    refuse_if_any(problems)
    return {
        "type": kind.code,
        "numContrat": draft.contract,
        "beneficiaires": [b.strip() for b in draft.beneficiaries],
        "sujet": draft.subject,
        "detail": draft.detail,
        "description": draft.description,
        "piecesJointes": list(draft.attachments),
        "reclamation": draft.complaint or kind.category == DemandeCategory.COMPLAINT,
    }


def crm_refusals(draft: Draft, refusals: list[Refusal]) -> list[Problem]:
    problems = []
    for r in refusals:
        name, _, index = r.field.partition("[")
        path = draft.input_field(name) if name else None
        if name == "piecesJointes" and index:
            problems.append(
                Problem(
                    path if draft.single_attachment else f"{path}.{index.rstrip(']')}",
                    "ALREADY_USED",
                    "Cette pièce jointe est expirée ou a déjà été envoyée avec une demande.",
                )
            )
        else:
            problems.append(Problem(path, "REFUSED", "Le service client a refusé cette valeur."))
    return problems


# ---- sending -------------------------------------------------------------------------------
async def send(
    ctx: Context,
    mutation: str,
    key: str,
    values: Mapping[str, Any],
    draft: Callable[[Scope], Awaitable[Draft]],
) -> Demande:
    """Send the draft as ONE demande per (mutation, viewer, key), whatever is retried or lost."""
    scope = await own_scope(ctx)
    viewer = customer_of(scope).client_id
    crm = ctx.services.backends.crm
    claim = await Idempotency(ctx.services.store).claim(mutation, viewer, key, values)
    reference = external_reference(mutation, viewer, key)
    made: dict[str, Demande] = {}

    async def perform() -> str:
        built = await draft(scope)
        body = {**await checked_body(ctx, scope, built), "referenceExterne": reference}
        result = await crm_demandes.create(crm, viewer, body, listed_since(ctx))
        if isinstance(result, list):
            raise Refused(crm_refusals(built, result))
        made[result.id] = result
        for attachment_id in built.attachments:
            await mark_used(ctx, attachment_id)
        return result.id

    async def reconcile(first_at: float) -> str | None:
        found = await crm_demandes.find_by_reference(crm, reference)
        if found is None:
            return None
        made[found.id] = found
        return found.id

    demande_id = await exactly_once(claim, perform=perform, reconcile=reconcile)
    found = made.get(demande_id) or await ctx.loaders.demande(demande_id)
    if found is None:
        raise NotFound("Cette demande")
    return found


def listed_since(ctx: Context) -> date:
    """Start of the demande list the gateway reads (and caches)."""
    return months_before(ctx.today, DEMANDE_WINDOW_MONTHS)


async def mark_used(ctx: Context, attachment_id: str) -> None:
    record = await ctx.services.store.get(attachment_key(attachment_id))
    if record is not None:
        await ctx.services.store.put(
            attachment_key(attachment_id), {**record, "used": True}, ATTACHMENT_LIFE_S
        )
