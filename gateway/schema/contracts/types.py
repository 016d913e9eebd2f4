"""A contract or membership (adhésion), a member (affilié) of a collective one, and what a
contract shows: guarantees, premium, bank accounts, dependants, savings, intermediary, the
acts it allows and its termination preview. `visible_contract` is how the other domains link
to a contract: only one the viewer holds.
"""

from __future__ import annotations

from datetime import date

import strawberry

from gateway.domain import records as rec
from gateway.domain import values as v
from gateway.domain.termination import Termination, TerminationRule
from gateway.errors import NotFound
from gateway.resolvers import access, demandes, queries
from gateway.resolvers.access import Scope
from gateway.schema import enums as _enums  # noqa: F401  (registers the GraphQL enums)
from gateway.schema.claims.types import Dossier, Reglement, ReglementFilter, criteria
from gateway.schema.common import Connection, Info, MoneyType, money, paged, sliced
from gateway.schema.contracts.services import ContractService, services_of
from gateway.schema.documents.types import Document
from gateway.schema.enums import expose
from gateway.schema.ids import to_global
from gateway.schema.node import Node


@strawberry.type(description="A contract, or a membership (adhésion) to a collective contract.")
class Contract(Node):
    summary: strawberry.Private[rec.ContractSummary]
    scope: strawberry.Private[Scope]
    number: str = strawberry.field(description="Contract or membership number.")
    number_kind: v.NumberKind = strawberry.field(
        description="Whether `number` is a contract or a membership number."
    )
    product_name: str = strawberry.field(description="Commercial name of the product.")
    family: v.ProductFamily = strawberry.field(description="Product family.")
    family_label: str = strawberry.field(description="French label of `family`.")
    status: v.ContractStatus = strawberry.field(description="Status.")
    status_label: str = strawberry.field(description="French label of `status`.")
    role: v.ContractRole | None = strawberry.field(
        description="The viewer's role on the contract; null in a staff look-up."
    )
    role_label: str | None = strawberry.field(description="French label of `role`.")
    collective: bool = strawberry.field(
        description="True for a collective contract or a membership to one."
    )
    effective_date: date | None = strawberry.field(description="Date the contract took effect.")
    end_date: date | None = strawberry.field(
        description="Termination date, or the term of a fixed-term contract."
    )

    @classmethod
    def of(cls, summary: rec.ContractSummary, scope: Scope) -> Contract:
        return cls(
            summary=summary,
            scope=scope,
            number=summary.number,
            number_kind=summary.number_kind,
            product_name=summary.product_name,
            family=summary.family,
            family_label=summary.family.label,
            status=summary.status,
            status_label=summary.status.label,
            role=summary.role,
            role_label=summary.role.label if summary.role else None,
            collective=summary.collective,
            effective_date=summary.effective_date,
            end_date=summary.termination_date or summary.term_date,
        )

    async def detail(self, info: Info) -> rec.ContractDetail:
        found = await info.context.loaders.contract(self.summary.number)
        if found is None:
            raise NotFound("Ce contrat")
        return found

    @strawberry.field(description="Opaque global id.")
    def id(self) -> strawberry.ID:
        return to_global("Contract", self.summary.number)

    @strawberry.field(
        description="Services the contract gives access to, in display order; empty for a "
        "terminated contract."
    )
    async def services(self, info: Info) -> list[ContractService] | None:
        return await services_of(info, self.summary, self.scope)

    @strawberry.field(description="For a membership: the company and its collective contract.")
    def company(self) -> CompanyRef | None:
        if self.summary.company_contract is None:
            return None
        return CompanyRef(
            name=self.summary.company_name or "", contract_number=self.summary.company_contract
        )

    @strawberry.field(description="Guarantees, in contract order.")
    async def guarantees(self, info: Info) -> list[GuaranteeLine] | None:
        return [
            GuaranteeLine(
                code=g.code,
                label=g.label,
                level=g.level,
                ceiling=money(g.ceiling),
                rate_percent=g.rate_percent,
            )
            for g in (await self.detail(info)).guarantees
        ]

    @strawberry.field(description="Premium; null when the person pays nothing directly.")
    async def premium(self, info: Info) -> Premium | None:
        found = (await self.detail(info)).premium
        if found is None:
            return None
        amount = money(found.amount)
        assert amount is not None
        return Premium(
            amount=amount,
            frequency=found.frequency,
            frequency_label=found.frequency.label,
            debit_day=found.debit_day,
        )

    @strawberry.field(description="Bank accounts, IBANs masked.")
    async def bank_accounts(self, info: Info) -> BankAccounts | None:
        found = await self.detail(info)
        return BankAccounts(
            debit=account(found.debit_account), refund=account(found.refund_account)
        )

    @strawberry.field(description="Beneficiary clause in case of death, as registered.")
    async def beneficiary_clause(self, info: Info) -> str | None:
        return (await self.detail(info)).beneficiary_clause

    @strawberry.field(description="Dependants covered.")
    async def dependents(self, info: Info) -> list[Dependent] | None:
        return [
            Dependent(
                display_name=d.display_name,
                relationship=d.relationship,
                relationship_label=d.relationship.label,
                birth_date=d.birth_date,
            )
            for d in (await self.detail(info)).dependents
        ]

    @strawberry.field(description="Savings value (épargne, retraite).")
    async def savings(self, info: Info) -> Savings | None:
        found = (await self.detail(info)).savings
        if found is None:
            return None
        value = money(found.value)
        assert value is not None
        return Savings(value=value, valuation_date=found.valuation_date)

    @strawberry.field(description="Intermediary of the contract.")
    async def intermediary(self, info: Info) -> Intermediary | None:
        found = (await self.detail(info)).intermediary_id
        return intermediary(await info.context.loaders.intermediary(found)) if found else None

    @strawberry.field(
        description="Online acts allowed on the contract, in display order: each is a type that "
        "`demandeTypes(contractId)` offers for it."
    )
    async def available_actions(self, info: Info) -> list[Action] | None:
        codes = await demandes.available_actions(info.context, self.scope, self.summary)
        labels = await info.context.loaders.demande_type_labels()
        return [Action(code=c, label=labels.get(c, c)) for c in codes]

    @strawberry.field(
        description="Whether and from when the viewer can terminate the contract (reading it writes nothing)."
    )
    async def termination(self, info: Info) -> TerminationPreview:
        return TerminationPreview.of(
            await demandes.termination_of(info.context, self.scope, self.summary)
        )

    @strawberry.field(description="Prévoyance dossiers with a règlement under 3 years.")
    async def dossiers(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        status: list[v.DossierStatus] | None = None,
    ) -> Connection[Dossier] | None:
        found = await queries.dossiers(info.context, self.scope, self.summary, status)
        return sliced(
            found, first, after, lambda d: Dossier(key=d.number, record=d, scope=self.scope)
        )

    @strawberry.field(
        description="Règlements (and health reimbursements) under 3 years, newest first."
    )
    async def reglements(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        filter: ReglementFilter | None = None,
    ) -> Connection[Reglement] | None:
        wanted = await criteria(info, self.scope, filter)
        return await paged(
            first,
            after,
            lambda offset, limit: queries.reglements(
                info.context, self.scope, self.summary, wanted, offset, limit
            ),
            lambda r: Reglement.of(r, self.scope),
        )

    @strawberry.field(description="Documents about this contract, newest first.")
    async def documents(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        period: v.DocumentPeriod = v.DocumentPeriod.LAST_12_MONTHS,
        category: v.DocumentCategory | None = None,
    ) -> Connection[Document] | None:
        found = await queries.documents(info.context, self.scope, period, category, self.summary)
        return sliced(found, first, after, lambda d: Document.of(d, self.scope))


async def visible_contract(info: Info, scope: Scope, numbers: list[str | None]) -> Contract | None:
    """The first of `numbers` the scope may see, as a Contract (memberships before contracts)."""
    for number in numbers:
        if number is None:
            continue
        try:
            return Contract.of(await access.contract(info.context, scope, number), scope)
        except NotFound:
            continue
    return None


@strawberry.type(description="A member (affilié) of a collective contract.")
class Affiliate(Node):
    record: strawberry.Private[rec.Affiliate]
    contract: strawberry.Private[str]
    display_name: str = strawberry.field(description="First name and name.")
    affiliated_on: date | None = strawberry.field(description="Date of affiliation.")
    left_on: date | None = strawberry.field(description="Date the member left the contract.")
    status: v.AffiliateStatus = strawberry.field(description="Membership status.")
    status_label: str = strawberry.field(description="French label of `status`.")

    @classmethod
    def of(cls, record: rec.Affiliate, contract: str) -> Affiliate:
        return cls(
            record=record,
            contract=contract,
            display_name=record.display_name,
            affiliated_on=record.affiliated_on,
            left_on=record.left_on,
            status=record.status,
            status_label=record.status.label,
        )

    @strawberry.field(description="Opaque global id (usable in `ReglementFilter.affiliateId`).")
    def id(self) -> strawberry.ID:
        return to_global("Affiliate", f"{self.contract}/{self.record.membership}")


@strawberry.type(description="The company holding a collective contract.")
class CompanyRef:
    name: str = strawberry.field(description="Company name.")
    contract_number: str = strawberry.field(
        description="Number of the company's collective contract."
    )


@strawberry.type(description="A guarantee of a contract.")
class GuaranteeLine:
    code: str = strawberry.field(description="Guarantee code.")
    label: str = strawberry.field(description="Guarantee label.")
    level: str | None = strawberry.field(description="Level of cover chosen, e.g. « Niveau 3 ».")
    ceiling: MoneyType | None = strawberry.field(
        description="Ceiling, when the guarantee is an amount."
    )
    rate_percent: int | None = strawberry.field(
        description="Rate in percent, when the guarantee is a rate."
    )


@strawberry.type(description="The premium of a contract.")
class Premium:
    amount: MoneyType = strawberry.field(description="Premium per period, all taxes included.")
    frequency: v.PremiumFrequency = strawberry.field(description="Payment frequency.")
    frequency_label: str = strawberry.field(description="French label of `frequency`.")
    debit_day: int | None = strawberry.field(description="Day of the month of the direct debit.")


@strawberry.type(description="A bank account, the IBAN masked.")
class BankAccount:
    holder: str = strawberry.field(description="Account holder.")
    masked_iban: str = strawberry.field(
        description="IBAN with only the country code, check digits and last 3 characters."
    )


@strawberry.type(description="The accounts used by a contract.")
class BankAccounts:
    debit: BankAccount | None = strawberry.field(description="Account debited for the premium.")
    refund: BankAccount | None = strawberry.field(
        description="Account credited with benefits and reimbursements."
    )


def account(found: rec.BankAccount | None) -> BankAccount | None:
    return BankAccount(holder=found.holder, masked_iban=found.masked_iban) if found else None


@strawberry.type(description="A dependant covered by a contract.")
class Dependent:
    display_name: str = strawberry.field(description="First name and name.")
    relationship: v.Relationship = strawberry.field(description="Relationship to the subscriber.")
    relationship_label: str = strawberry.field(description="French label of `relationship`.")
    birth_date: date | None = strawberry.field(description="Date of birth.")


@strawberry.type(description="Value of a savings or retirement contract.")
class Savings:
    value: MoneyType = strawberry.field(description="Value at the valuation date.")
    valuation_date: date | None = strawberry.field(description="Date of the valuation.")


@strawberry.type(
    description="The commercial intermediary (agent, broker) of a customer or contract."
)
class Intermediary:
    name: str = strawberry.field(description="Name of the intermediary.")
    agency: str | None = strawberry.field(description="Agency, if any.")
    phone: str = strawberry.field(description="Phone number (E.164).")
    email: str | None = strawberry.field(description="E-mail address, if any.")


def intermediary(found: rec.Intermediary | None) -> Intermediary | None:
    if found is None:
        return None
    return Intermediary(name=found.name, agency=found.agency, phone=found.phone, email=found.email)


@strawberry.type(
    description="An online act the customer may start on a contract (« Gérer mon contrat »)."
)
class Action:
    code: str = strawberry.field(description="Act code (also the demande type code).")
    label: str = strawberry.field(description="French label.")


expose(TerminationRule, "The French rule that sets a termination's date.")


@strawberry.type(
    description="Whether and from when the contract can be terminated (writes nothing)."
)
class TerminationPreview:
    allowed: bool = strawberry.field(description="True when the customer may terminate it online.")
    refusal: str | None = strawberry.field(description="Why not, when not allowed.")
    effective_date: date | None = strawberry.field(description="Date the contract would end.")
    rule: TerminationRule | None = strawberry.field(description="The rule applied.")
    rule_label: str | None = strawberry.field(description="French label of `rule`.")

    @classmethod
    def of(cls, found: Termination) -> TerminationPreview:
        return cls(
            allowed=found.allowed,
            refusal=found.refusal,
            effective_date=found.effective_date,
            rule=found.rule,
            rule_label=found.rule.label if found.rule else None,
        )
