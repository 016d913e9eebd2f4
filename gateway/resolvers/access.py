"""Who may see what: the access rules of PRODUCT.md, applied in this one place.

A `Scope` is whose data a part of the graph shows. A customer's scope is themselves: an individual
sees the contracts on which they hold a role and only their own dossiers and règlements; a company
sees its collective contracts, their affiliates and those affiliates' dossiers and règlements.
Staff look-ups have an unrestricted scope and are audited. Anything outside the scope is reported
exactly like something that does not exist (`NotFound`).

Joined accounts (« Réunir vos comptes », individuals only): the scope then covers each member
(`members`) as it would cover that person alone; nothing of anybody else is added.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date

from gateway.context import Context
from gateway.domain.records import ContractSummary, Customer, Dossier, Reglement
from gateway.domain.values import ContractRole, NumberKind, ProductFamily, years_before
from gateway.errors import NotFound

BENEFIT_WINDOW_YEARS = 3
DEMANDE_WINDOW_MONTHS = 6


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose data is shown; `customer=None` is a staff member's unrestricted look-up."""

    customer: Customer | None
    linked: tuple[Customer, ...] = ()  # the other accounts joined to the customer's

    @property
    def members(self) -> tuple[Customer, ...]:
        return (self.customer, *self.linked) if self.customer else ()

    @property
    def claims_ids(self) -> tuple[str, ...]:
        return tuple(m.ids.claims for m in self.members if m.ids.claims)

    @property
    def editique_ids(self) -> tuple[str, ...]:
        return tuple(m.ids.editique for m in self.members if m.ids.editique)

    @property
    def unrestricted(self) -> bool:
        return self.customer is None

    @property
    def is_company(self) -> bool:
        return self.customer is not None and self.customer.is_company

    @property
    def editique_id(self) -> str | None:
        return self.customer.ids.editique if self.customer else None


@dataclass(frozen=True, slots=True)
class ClaimsQuery:
    """One `/dossiers` or `/reglements` criterion set of the claims system."""

    contract: str | None = None
    affiliate: str | None = None


def benefit_window_start(ctx: Context) -> date:
    return years_before(ctx.today, BENEFIT_WINDOW_YEARS)


async def contracts(ctx: Context, scope: Scope) -> tuple[ContractSummary, ...]:
    """The contracts the scope's person holds a role on (a company: its own, the collective ones);
    with joined accounts, those of each member, each number once."""
    if len(scope.members) <= 1:
        return await held_by(ctx, scope.customer)
    found = await asyncio.gather(*(held_by(ctx, member) for member in scope.members))
    unique = {c.number: c for batch in reversed(found) for c in batch}
    return tuple(unique[n] for n in dict.fromkeys(c.number for batch in found for c in batch))


async def held_by(ctx: Context, customer: Customer | None) -> tuple[ContractSummary, ...]:
    if customer is None or customer.ids.policy_admin is None:
        return ()
    held = await ctx.loaders.person_contracts(customer.ids.policy_admin)
    if customer.is_company:
        return tuple(c for c in held if c.role == ContractRole.SUBSCRIBER)
    return held


async def contract(ctx: Context, scope: Scope, number: str) -> ContractSummary:
    if scope.unrestricted:
        detail = await ctx.loaders.contract(number)
        if detail is None:
            raise NotFound("Ce contrat")
        return detail.summary
    found = next((c for c in await contracts(ctx, scope) if c.number == number), None)
    if found is None:
        raise NotFound("Ce contrat")
    return found


async def company_contracts(ctx: Context, scope: Scope) -> set[str]:
    """Collective contracts whose affiliates' dossiers a company may see."""
    if not scope.is_company:
        return set()
    return {
        c.number
        for c in await contracts(ctx, scope)
        if c.collective and c.number_kind == NumberKind.CONTRACT
    }


async def claims_queries(
    ctx: Context, scope: Scope, summary: ContractSummary | None
) -> list[ClaimsQuery]:
    """The claims criteria that select exactly the dossiers/règlements the scope may see."""
    if summary is not None and summary.family != ProductFamily.PROTECTION:
        return []  # only prévoyance contracts have dossiers and règlements
    if scope.unrestricted:
        assert summary is not None
        if summary.number_kind == NumberKind.MEMBERSHIP and summary.company_contract:
            members = await membership_claims_ids(ctx, summary.company_contract, summary.number)
            return [ClaimsQuery(summary.company_contract, m) for m in sorted(members)]
        return [ClaimsQuery(summary.number)]
    if scope.is_company:
        numbers = await company_contracts(ctx, scope)
        if summary is not None:
            numbers &= {summary.number}
        return [ClaimsQuery(n) for n in sorted(numbers)]
    if summary is None:
        return [ClaimsQuery(affiliate=member) for member in scope.claims_ids]
    number = summary.company_contract or summary.number
    return [ClaimsQuery(number, member) for member in scope.claims_ids]


async def membership_claims_ids(ctx: Context, company_contract: str, membership: str) -> set[str]:
    """Claims ids of the affiliate holding `membership` (known from the dossiers' adhésion numbers)."""
    dossiers = await ctx.loaders.dossiers(contract=company_contract)
    return {d.affiliate_id for d in dossiers if d.membership == membership}


async def may_see_claim(
    ctx: Context, scope: Scope, contract_number: str, affiliate_id: str | None
) -> bool:
    if scope.unrestricted:
        return True
    if scope.is_company:
        return contract_number in await company_contracts(ctx, scope)
    return affiliate_id is not None and affiliate_id in scope.claims_ids


async def visible_dossier(ctx: Context, scope: Scope, dossier: Dossier | None) -> Dossier:
    """The dossier if the scope may see it and it has a règlement under 3 years, else NotFound."""
    if (
        dossier is None
        or not await may_see_claim(ctx, scope, dossier.contract, dossier.affiliate_id)
        or dossier.last_payment_on is None
        or dossier.last_payment_on < benefit_window_start(ctx)
    ):
        raise NotFound("Ce dossier")
    return dossier


async def visible_reglement(ctx: Context, scope: Scope, reglement: Reglement | None) -> Reglement:
    if (
        reglement is None
        or not await may_see_claim(ctx, scope, reglement.contract, reglement.affiliate_id)
        or reglement.paid_on < benefit_window_start(ctx)
    ):
        raise NotFound("Ce règlement")
    return reglement
