"""Read use cases of the graph, in domain terms: windows, filters, merges and look-ups by id.

Each function takes the request context and a `Scope` (whose data) and returns domain records;
the schema layer only wraps them. Lists return `(items, total)` for one slice `[offset, offset+limit)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date

from gateway.context import Context
from gateway.domain.records import (
    Affiliate,
    ContractSummary,
    Demande,
    Document,
    Dossier,
    Page,
    Reglement,
)
from gateway.domain.values import (
    ContractStatus,
    DemandeStatus,
    DocumentCategory,
    DocumentPeriod,
    DocumentType,
    DossierStatus,
    Guarantee,
    NumberKind,
    ProductFamily,
    months_before,
)
from gateway.errors import BadInput, NotFound
from gateway.resolvers import access
from gateway.resolvers.access import Scope


@dataclass(frozen=True, slots=True)
class ReglementCriteria:
    guarantee: Guarantee | None = None
    affiliate_membership: str | None = None  # the adhésion number of an Affiliate
    since: date | None = None
    until: date | None = None


# ---- contracts -------------------------------------------------------------------------------------
async def contracts(
    ctx: Context,
    scope: Scope,
    statuses: Sequence[ContractStatus] | None,
    families: Sequence[ProductFamily] | None,
) -> list[ContractSummary]:
    held = await access.contracts(ctx, scope)
    return [
        c
        for c in held
        if (not statuses or c.status in statuses) and (not families or c.family in families)
    ]


async def affiliates(ctx: Context, scope: Scope, number: str) -> tuple[Affiliate, ...]:
    summary = await access.contract(ctx, scope, number)
    if not (summary.collective and summary.number_kind == NumberKind.CONTRACT):
        raise BadInput("Ce contrat n'est pas un contrat collectif.", "contractId")
    if not (scope.unrestricted or scope.is_company):
        raise NotFound("Ce contrat")
    return await ctx.loaders.affiliates(number)


# ---- dossiers --------------------------------------------------------------------------------------
async def dossiers(
    ctx: Context,
    scope: Scope,
    contract: ContractSummary | None,
    statuses: Sequence[DossierStatus] | None,
) -> list[Dossier]:
    """Dossiers with a règlement under 3 years, newest event first."""
    queries = await access.claims_queries(ctx, scope, contract)
    found = await asyncio.gather(
        *(ctx.loaders.dossiers(contract=q.contract, affiliate=q.affiliate) for q in queries)
    )
    start = access.benefit_window_start(ctx)
    unique = {d.number: d for batch in found for d in batch}
    kept = [
        d
        for d in unique.values()
        if d.last_payment_on is not None
        and d.last_payment_on >= start
        and (not statuses or d.status in statuses)
    ]
    return sorted(kept, key=lambda d: (-d.occurred_on.toordinal(), d.number))


async def dossier(ctx: Context, scope: Scope, number: str) -> Dossier:
    return await access.visible_dossier(ctx, scope, await ctx.loaders.dossier(number))


# ---- règlements ------------------------------------------------------------------------------------
PageFetch = Callable[[int, int], Awaitable[Page[Reglement]]]


async def merged(sources: list[PageFetch], offset: int, limit: int) -> Page[Reglement]:
    """One slice of several lists each sorted newest first, merged in the same order."""
    if not sources:
        return Page((), 0)
    if len(sources) == 1:
        return await sources[0](offset, limit)
    pages = await asyncio.gather(*(fetch(0, offset + limit) for fetch in sources))
    items = sorted(
        (r for p in pages for r in p.items), key=lambda r: (-r.paid_on.toordinal(), r.reference)
    )
    return Page(tuple(items[offset : offset + limit]), sum(p.total for p in pages))


def window(ctx: Context, criteria: ReglementCriteria) -> tuple[date, date | None]:
    start = access.benefit_window_start(ctx)
    since = max(start, criteria.since) if criteria.since else start
    return since, criteria.until


async def reglements(
    ctx: Context,
    scope: Scope,
    contract: ContractSummary | None,
    criteria: ReglementCriteria,
    offset: int,
    limit: int,
) -> Page[Reglement]:
    """Benefit règlements and health reimbursements under 3 years, newest first."""
    since, until = window(ctx, criteria)
    if until is not None and until < since:
        return Page((), 0)
    queries = await access.claims_queries(ctx, scope, contract)
    if criteria.affiliate_membership is not None:
        queries = await restrict_to_member(ctx, queries, criteria.affiliate_membership)
    sources: list[PageFetch] = [
        benefit_source(ctx, q.contract, q.affiliate, since, until, criteria.guarantee)
        for q in queries
    ]
    insured = scope.claims_ids if not scope.is_company else ()
    health_contract = contract.number if contract is not None else None
    wants_health = contract is None or contract.family == ProductFamily.HEALTH
    if wants_health and criteria.guarantee is None and criteria.affiliate_membership is None:
        sources += [health_source(ctx, i, since, until, health_contract) for i in insured]
    return await merged(sources, offset, limit)


async def restrict_to_member(
    ctx: Context, queries: list[access.ClaimsQuery], membership: str
) -> list[access.ClaimsQuery]:
    restricted = []
    for query in queries:
        if query.contract is None:
            continue
        for member in await access.membership_claims_ids(ctx, query.contract, membership):
            if query.affiliate in (None, member):
                restricted.append(access.ClaimsQuery(query.contract, member))
    return restricted


def benefit_source(
    ctx: Context,
    contract: str | None,
    affiliate: str | None,
    since: date,
    until: date | None,
    guarantee: Guarantee | None,
) -> PageFetch:
    async def fetch(offset: int, limit: int) -> Page[Reglement]:
        return await ctx.loaders.reglements(
            offset=offset,
            limit=limit,
            since=since,
            until=until,
            contract=contract,
            affiliate=affiliate,
            guarantee=guarantee,
        )

    return fetch


def health_source(
    ctx: Context, insured: str, since: date, until: date | None, contract: str | None
) -> PageFetch:
    async def fetch(offset: int, limit: int) -> Page[Reglement]:
        if contract is None:
            return await ctx.loaders.remboursements(
                insured, offset=offset, limit=limit, since=since, until=until
            )
        everything = await all_remboursements(ctx, insured, since, until)
        mine = [r for r in everything if r.contract == contract]
        return Page(tuple(mine[offset : offset + limit]), len(mine))

    return fetch


async def all_remboursements(
    ctx: Context, insured: str, since: date, until: date | None
) -> list[Reglement]:
    first = await ctx.loaders.remboursements(insured, offset=0, limit=50, since=since, until=until)
    rest = await asyncio.gather(
        *(
            ctx.loaders.remboursements(insured, offset=o, limit=50, since=since, until=until)
            for o in range(50, first.total, 50)
        )
    )
    return [r for page in (first, *rest) for r in page.items]


async def dossier_reglements(
    ctx: Context, found: Dossier, offset: int, limit: int
) -> Page[Reglement]:
    return await ctx.loaders.reglements(
        offset=offset, limit=limit, since=access.benefit_window_start(ctx), dossier=found.number
    )


def health_key(item: Reglement) -> str:
    """Global key of a health reimbursement: `RMB…@insured@paid-on`. Claims has no read by
    reference and its references are opaque, so the key keeps what the look-up needs: whose list
    and the payment day (`dateMin` = `dateMax`) to find it in."""
    return f"{item.reference}@{item.affiliate_id}@{item.paid_on.isoformat()}"


async def reglement(ctx: Context, scope: Scope, key: str) -> Reglement:
    """A règlement by its global key: `ref` (benefit) or `health_key` (health)."""
    reference, _, rest = key.partition("@")
    if not rest:
        found = await ctx.loaders.reglement(reference)
        return await access.visible_reglement(ctx, scope, found)
    insured, _, paid_text = rest.partition("@")
    if not scope.unrestricted and insured not in scope.claims_ids:
        raise NotFound("Ce règlement")
    paid = iso_day(paid_text)
    if paid is None:
        raise NotFound("Ce règlement")
    match = None
    offset, total = 0, 1
    while match is None and offset < total:  # rarely more than one page for one day
        page = await ctx.loaders.remboursements(
            insured, offset=offset, limit=50, since=paid, until=paid
        )
        match = next((r for r in page.items if r.reference == reference), None)
        offset, total = offset + 50, page.total
    return await access.visible_reglement(ctx, scope, match)


async def detailed(ctx: Context, item: Reglement) -> Reglement:
    """The règlement with its décompte (lists carry none)."""
    if item.detailed:
        return item
    return await ctx.loaders.reglement(item.reference) or item


def iso_day(text: str) -> date | None:
    """A day the gateway wrote into a global key itself (never one read out of a legacy id)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


# ---- documents -------------------------------------------------------------------------------------
async def documents(
    ctx: Context,
    scope: Scope,
    period: DocumentPeriod,
    category: DocumentCategory | None,
    contract: ContractSummary | None,
) -> tuple[Document, ...]:
    today = ctx.today
    found = await asyncio.gather(
        *(
            ctx.loaders.documents(
                owner,
                since=months_before(today, period.months),
                until=today,
                contract=contract.number if contract else None,
                category=category,
            )
            for owner in scope.editique_ids
        )
    )
    if len(found) == 1:
        return found[0]
    merged = [d for batch in found for d in batch]  # joined accounts: newest first across them
    return tuple(sorted(merged, key=lambda d: (d.issued_at, d.id), reverse=True))


def document_key(item: Document) -> str:
    """Global key of a document: `id@owner@issued-on` (Paris day of `dateEmission`). Éditique ids
    are opaque: the key keeps the day a `RechercherDocuments` of the owner finds it on."""
    return f"{item.id}@{item.owner}@{item.issued_on.isoformat()}"


async def document(ctx: Context, scope: Scope, key: str) -> Document:
    """A document by its global key; only the owner's scope (or staff) finds it."""
    document_id, _, rest = key.partition("@")
    owner, _, issued_text = rest.partition("@")
    issued = iso_day(issued_text)
    if issued is None or not owner or (not scope.unrestricted and owner not in scope.editique_ids):
        raise NotFound("Ce document")
    found = await ctx.loaders.documents(owner, since=issued, until=issued)
    match = next((d for d in found if d.id == document_id), None)
    if match is None:
        raise NotFound("Ce document")
    return match


async def statement(ctx: Context, scope: Scope, item: Reglement) -> Document | None:
    """The payment letter (décompte) of a règlement, when it is addressed to the scope's person.

    `refCourrier` is the letter's opaque éditique id: the letter is found among the person's
    décomptes (`DECP`, bloc `PRESTATION`) issued since the payment day, never by a date read out
    of the id."""
    full = await detailed(ctx, item)
    addressee = next((m for m in scope.members if m.ids.claims == full.affiliate_id), None)
    if full.letter_id is None or addressee is None or addressee.ids.editique is None:
        return None
    found = await ctx.loaders.documents(
        addressee.ids.editique,
        since=full.paid_on,
        until=ctx.today,
        type=DocumentType.BENEFIT_STATEMENT,
        category=DocumentCategory.BENEFIT,
    )
    return next((d for d in found if d.id == full.letter_id), None)


# ---- demandes --------------------------------------------------------------------------------------
async def demandes(
    ctx: Context, scope: Scope, statuses: Sequence[DemandeStatus] | None
) -> list[Demande]:
    """The last 6 months of online demandes, newest first."""
    since = months_before(ctx.today, access.DEMANDE_WINDOW_MONTHS)
    found = await asyncio.gather(
        *(ctx.loaders.demandes(member.client_id, since) for member in scope.members)
    )
    merged = [d for batch in found for d in batch]
    if len(found) > 1:  # joined accounts: newest first across them
        merged.sort(key=lambda d: (d.created_at, d.id), reverse=True)
    return [d for d in merged if not statuses or d.status in statuses]


async def demande(ctx: Context, scope: Scope, demande_id: str) -> Demande:
    if scope.unrestricted:
        found = await ctx.loaders.demande(demande_id)
    else:
        found = next((d for d in await demandes(ctx, scope, None) if d.id == demande_id), None)
    if found is None:
        raise NotFound("Cette demande")
    return found
