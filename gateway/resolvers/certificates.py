"""Attestations on demand (éditique `GenererAttestation`), exactly once per idempotency key.

The éditique makes a new document on every call and has no reconciliation key: an unanswered
call is reconciled by searching attestations of that type and contract emitted since the first
call. Generations and searches of one (viewer, contract, kind) run one at a time (a lock in the
shared store; a concurrent one gets IN_PROGRESS), and each document is claimed for one key only
(`certificate:<id>`), so two keys never share a document. The viewer's cached document searches
are dropped afterwards.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from gateway.adapters.editique import (
    AttestationImpossible,
    find_attestations,
    forget_searches,
    generate_attestation,
)
from gateway.context import Context
from gateway.domain.records import ContractSummary, Document
from gateway.domain.values import (
    ContractStatus,
    DocumentPeriod,
    DocumentType,
    ProductFamily,
    months_before,
)
from gateway.errors import NotFound
from gateway.platform.clock import PARIS
from gateway.resolvers.access import Scope
from gateway.resolvers.contract_acts import the_contract
from gateway.resolvers.demandes import customer_of, own_scope
from gateway.resolvers.idempotency import IN_PROGRESS, LEASE_S, TTL_S, Idempotency, exactly_once
from gateway.resolvers.problems import Problem, Refused

KINDS = {
    "AFFILIATION": (
        DocumentType.MEMBERSHIP_CERTIFICATE,
        (ProductFamily.HEALTH, ProductFamily.PROTECTION),
    ),
    "THIRD_PARTY_PAYMENT": (DocumentType.THIRD_PARTY_PAYMENT_CARD, (ProductFamily.HEALTH,)),
}
CLOCK_SKEW_S = 120  # the éditique's clock may run a little behind ours
SETTLE_S = 2.0  # after an unanswered call, let one still in flight land before another is made


def check(contract: ContractSummary, kind: str) -> None:
    _, families = KINDS[kind]
    if contract.status != ContractStatus.ACTIVE:
        raise Refused([Problem("contractId", "TERMINATED", "Ce contrat n'est pas en cours.")])
    if contract.family not in families:
        what = (
            "de carte de tiers payant"
            if kind == "THIRD_PARTY_PAYMENT"
            else "d'attestation d'affiliation"
        )
        raise Refused(
            [Problem("kind", "NOT_OFFERED", f"Ce contrat ne donne pas droit à une demande {what}.")]
        )


async def generate_certificate(ctx: Context, key: str, contract_number: str, kind: str) -> Document:
    scope = await own_scope(ctx)
    viewer = customer_of(scope).client_id
    person = scope.editique_id
    editique = ctx.services.backends.editique
    doc_type, _ = KINDS[kind]
    claim = await Idempotency(ctx.services.store).claim(
        "generateCertificate", viewer, key, {"contractId": contract_number, "kind": kind}
    )
    made: dict[str, Document] = {}
    number = contract_number

    async def owned(document: Document) -> bool:
        """Claim the document for this key (one key per document)."""
        taken = await ctx.services.store.put(
            f"certificate:{document.id}", {"key": claim.key}, TTL_S, only_if_absent=True
        )
        holder = None if taken else await ctx.services.store.get(f"certificate:{document.id}")
        return taken or (holder is not None and holder.get("key") == claim.key)

    async def perform() -> str:
        contract = await the_contract(ctx, scope, contract_number)
        check(contract, kind)
        if person is None:
            raise Refused(
                [
                    Problem(
                        "contractId",
                        "NOT_OFFERED",
                        "Aucun document ne peut être produit pour votre compte.",
                    )
                ]
            )
        try:
            document = await generate_attestation(editique, person, contract.number, doc_type)
        except AttestationImpossible:
            raise Refused(
                [
                    Problem(
                        "contractId",
                        "REFUSED",
                        "Le service documents ne peut pas produire cette attestation pour ce contrat.",
                    )
                ]
            ) from None
        finally:
            await forget(ctx, scope, contract.number)
        await owned(document)
        made[document.id] = document
        return document.id

    async def reconcile(first_at: float) -> str | None:
        if person is None or not number:
            return None
        since = datetime.fromtimestamp(first_at - CLOCK_SKEW_S, PARIS)
        found = await find_attestations(editique, person, number, doc_type, since.date())
        for document in sorted(found, key=lambda d: (d.issued_at, d.id)):
            if document.issued_at >= since and await owned(document):
                made[document.id] = document
                return document.id
        return None

    if claim.replay is None:  # one generation or search at a time per contract and kind
        lock = f"certificate-lock:{viewer}:{contract_number}:{kind}"
        if not await ctx.services.store.put(lock, {"key": claim.key}, LEASE_S, only_if_absent=True):
            await (claim.unknown() if claim.resumed else claim.release())
            raise Refused([IN_PROGRESS])
        try:
            document_id = await exactly_once(
                claim, perform=perform, reconcile=reconcile, settle_s=SETTLE_S
            )
        finally:
            await ctx.services.store.delete(lock)
    else:
        document_id = claim.replay
    if document_id in made:
        return made[document_id]
    return await find(ctx, scope, number, doc_type, document_id)


async def find(
    ctx: Context, scope: Scope, number: str, doc_type: DocumentType, document_id: str
) -> Document:
    """A document this key made, read again (a repeat may select other fields)."""
    issued = document_date(document_id)
    if scope.editique_id is None or issued is None:
        raise NotFound("Ce document")
    found = await find_attestations(
        ctx.services.backends.editique,
        scope.editique_id,
        number,
        doc_type,
        issued - timedelta(days=1),
    )
    match = next((d for d in found if d.id == document_id), None)
    if match is None:
        raise NotFound("Ce document")
    return match


def document_date(document_id: str) -> date | None:
    try:
        return datetime.strptime(document_id[3:11], "%Y%m%d").date()
    except ValueError:
        return None


async def forget(ctx: Context, scope: Scope, number: str) -> None:
    """The viewer's document lists change: drop the cached searches the gateway makes."""
    if scope.editique_id is None:
        return
    today = ctx.today
    starts = [months_before(today, p.months) for p in DocumentPeriod]
    await forget_searches(
        ctx.services.backends.editique, scope.editique_id, starts, today, [None, number]
    )
