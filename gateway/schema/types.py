"""The graph's object types. Each wraps a domain record and the `Scope` it was reached through;
fields read attributes, and the few that need another back-end call go through the request's
loaders. A field whose back-end fails is null with an error at its path, the rest resolves."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry

from gateway.domain import records as rec
from gateway.domain import values as v
from gateway.domain.termination import termination
from gateway.errors import NotFound
from gateway.identity.download_links import Grant
from gateway.resolvers import access, demandes, queries
from gateway.resolvers.access import Scope
from gateway.schema import enums as _enums  # noqa: F401  (registers the GraphQL enums)
from gateway.schema.account_types import Account
from gateway.schema.common import (
    Connection,
    Info,
    MoneyType,
    PeriodType,
    money,
    paged,
    period,
    sliced,
)
from gateway.schema.ids import from_global, to_global
from gateway.schema.values import (
    Action,
    Address,
    Attachment,
    BankAccounts,
    BaseBenefit,
    BreakdownLine,
    CompanyRef,
    Consents,
    DemandeReminder,
    DemandeStatusChange,
    DemandeType,
    Dependent,
    DossierAffiliate,
    GuaranteeLine,
    Intermediary,
    Preferences,
    Premium,
    Recipient,
    ReglementFilter,
    Savings,
    TerminationPreview,
    account,
    criteria,
    intermediary,
)


@strawberry.interface(description="An object with an opaque global id, fetchable with `node(id)`.")
class Node:
    @strawberry.field(description="Opaque global id.")
    def id(self) -> strawberry.ID:
        raise NotImplementedError


# ---- person ---------------------------------------------------------------------------------------
@strawberry.interface(
    description="A customer: an individual (personne physique) or a company (personne morale)."
)
class Person(Node):
    customer: strawberry.Private[rec.Customer]
    scope: strawberry.Private[Scope]

    @strawberry.field(description="Opaque global id.")
    def id(self) -> strawberry.ID:
        return to_global("Person", self.customer.client_id)

    kind: v.PersonKind = strawberry.field(description="Individual or company.")
    display_name: str = strawberry.field(description="Name to greet the customer with.")
    customer_number: str = strawberry.field(
        description="Numéro d'adhérent, printed on cards and letters."
    )
    email: str | None = strawberry.field(description="Contact e-mail; null when unknown.")
    mobile: str | None = strawberry.field(
        description="French mobile number (E.164); null when unknown."
    )
    contact_data_required: bool = strawberry.field(
        description="True when the e-mail or the mobile is missing: the UI asks for them first."
    )

    @strawberry.field(description="Postal address.")
    def address(self) -> Address | None:
        found = self.customer.address
        if found is None:
            return None
        return Address(
            lines=list(found.lines),
            postal_code=found.postal_code,
            city=found.city,
            country=found.country,
        )

    @strawberry.field(description="Contact preferences and consents.")
    def preferences(self) -> Preferences:
        p = self.customer.preferences
        return Preferences(
            paperless=p.paperless,
            consents=Consents(
                group_offers=p.group_offers,
                targeted_communication=p.targeted_communication,
                satisfaction_surveys=p.satisfaction_surveys,
            ),
        )

    @strawberry.field(description="The customer-space account: login, status, joined accounts.")
    def account(self) -> Account:
        return Account(customer=self.customer)

    @strawberry.field(description="The customer's intermediary.")
    async def intermediary(self, info: Info) -> Intermediary | None:
        if self.customer.intermediary_id is None:
            return None
        return intermediary(await info.context.loaders.intermediary(self.customer.intermediary_id))

    @strawberry.field(
        description="Contracts on which the person holds a role (a company: its contracts)."
    )
    async def contracts(
        self,
        info: Info,
        status: list[v.ContractStatus] | None = None,
        family: list[v.ProductFamily] | None = None,
    ) -> list[Contract] | None:
        found = await queries.contracts(info.context, self.scope, status, family)
        return [Contract.of(c, self.scope) for c in found]

    @strawberry.field(description="Online demandes of the last 6 months, newest first.")
    async def demandes(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        status: list[v.DemandeStatus] | None = None,
    ) -> Connection[Demande] | None:
        found = await queries.demandes(info.context, self.scope, status)
        return sliced(found, first, after, lambda d: Demande.of(d, self.scope))

    @strawberry.field(description="Documents issued to the person, newest first.")
    async def documents(
        self,
        info: Info,
        first: int = 20,
        after: str | None = None,
        period: v.DocumentPeriod = v.DocumentPeriod.LAST_12_MONTHS,
        category: v.DocumentCategory | None = None,
        contract_id: strawberry.ID | None = None,
    ) -> Connection[Document] | None:
        contract = None
        if contract_id is not None:
            contract = await queries_contract(info, self.scope, contract_id)
        found = await queries.documents(info.context, self.scope, period, category, contract)
        return sliced(found, first, after, lambda d: Document.of(d, self.scope))

    @strawberry.field(
        description="Règlements and health reimbursements of the last 3 years, newest first."
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
                info.context, self.scope, None, wanted, offset, limit
            ),
            lambda r: Reglement.of(r, self.scope),
        )


async def queries_contract(info: Info, scope: Scope, contract_id: str) -> rec.ContractSummary:
    _, number = from_global(contract_id, "Contract")
    return await access.contract(info.context, scope, number)


@strawberry.type(description="A customer who is a person (personne physique).")
class Individual(Person):
    civility: v.Civility | None = strawberry.field(description="Civility.")
    civility_label: str | None = strawberry.field(description="French label of `civility`.")
    first_name: str | None = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Family name, upper case.")
    birth_date: date | None = strawberry.field(description="Date of birth.")
    health_insurance_scheme: v.HealthScheme | None = strawberry.field(
        description="Mandatory health insurance scheme."
    )
    health_insurance_scheme_label: str | None = strawberry.field(
        description="French label of `healthInsuranceScheme`."
    )


@strawberry.type(description="A customer who is a company (personne morale).")
class Company(Person):
    name: str = strawberry.field(description="Company name (raison sociale).")
    siret: str | None = strawberry.field(description="SIRET number.")

    @strawberry.field(
        description="Members (affiliés) of one of the company's collective contracts."
    )
    async def affiliates(
        self, info: Info, contract_id: strawberry.ID, first: int = 20, after: str | None = None
    ) -> Connection[Affiliate] | None:
        _, number = from_global(contract_id, "Contract")
        found = await queries.affiliates(info.context, self.scope, number)
        return sliced(found, first, after, lambda a: Affiliate.of(a, number))


def person(customer: rec.Customer, scope: Scope) -> Person:
    """The schema's person: plain attributes (a field resolver per value costs more than the value)."""
    common: dict[str, Any] = {
        "customer": customer,
        "scope": scope,
        "kind": v.PersonKind.COMPANY if customer.is_company else v.PersonKind.INDIVIDUAL,
        "display_name": customer.display_name,
        "customer_number": customer.customer_number,
        "email": customer.email,
        "mobile": customer.mobile,
        "contact_data_required": customer.email is None or customer.mobile is None,
    }
    if customer.is_company:
        return Company(
            **common, name=customer.company_name or customer.last_name, siret=customer.siret
        )
    return Individual(
        **common,
        civility=customer.civility,
        civility_label=customer.civility.label if customer.civility else None,
        first_name=customer.first_name,
        last_name=customer.last_name,
        birth_date=customer.birth_date,
        health_insurance_scheme=customer.health_scheme,
        health_insurance_scheme_label=customer.health_scheme.label
        if customer.health_scheme
        else None,
    )


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


# ---- contract -------------------------------------------------------------------------------------
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
    def termination(self, info: Info) -> TerminationPreview:
        return TerminationPreview.of(
            termination(self.summary, self.scope.is_company, info.context.today)
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


# ---- dossier --------------------------------------------------------------------------------------
@strawberry.type(description="A prévoyance dossier (sinistre).")
class Dossier(Node):
    key: strawberry.Private[str]
    record: strawberry.Private[rec.Dossier | None]
    scope: strawberry.Private[Scope]

    async def load(self, info: Info, full: bool = False) -> rec.Dossier:
        if self.record is not None and (not full or self.record.base_benefit is not None):
            return self.record
        return await queries.dossier(info.context, self.scope, self.key)

    @strawberry.field(description="Opaque global id.")
    def id(self) -> strawberry.ID:
        return to_global("Dossier", self.key)

    @strawberry.field(description="Dossier number.")
    def number(self) -> str:
        return self.key

    @strawberry.field(description="Status.")
    async def status(self, info: Info) -> v.DossierStatus:
        return (await self.load(info)).status

    @strawberry.field(description="French label of `status`.")
    async def status_label(self, info: Info) -> str:
        return (await self.load(info)).status.label

    @strawberry.field(description="Guarantee concerned.")
    async def guarantee(self, info: Info) -> v.Guarantee:
        return (await self.load(info)).guarantee

    @strawberry.field(description="French label of `guarantee`.")
    async def guarantee_label(self, info: Info) -> str:
        return (await self.load(info)).guarantee.label

    @strawberry.field(description="Date of the event (arrêt de travail, invalidité, décès).")
    async def occurred_on(self, info: Info) -> date:
        return (await self.load(info)).occurred_on

    @strawberry.field(description="Closing date, for a closed dossier.")
    async def closed_on(self, info: Info) -> date | None:
        return (await self.load(info)).closed_on

    @strawberry.field(
        description="The contract, as the viewer holds it (an affiliate: the membership)."
    )
    async def contract(self, info: Info) -> Contract | None:
        found = await self.load(info)
        return await visible_contract(info, self.scope, [found.membership, found.contract])

    @strawberry.field(description="The affiliate concerned.")
    async def affiliate(self, info: Info) -> DossierAffiliate:
        return DossierAffiliate(display_name=(await self.load(info)).affiliate_name)

    @strawberry.field(
        description="Basis of the periodic benefit; null for a capital or a dossier under study."
    )
    async def base_benefit(self, info: Info) -> BaseBenefit | None:
        found = (await self.load(info, full=True)).base_benefit
        if found is None:
            return None
        return BaseBenefit(
            reference_gross_salary=money(found.reference_gross_salary),
            reference_period=period(found.reference_period),
            monthly_amount=money(found.monthly_amount),
            realisation=money(found.realisation),
            monthly_amount_after_realisation=money(found.monthly_amount_after_realisation),
            other_monthly_income=money(found.other_monthly_income),
        )

    @strawberry.field(description="Règlements of the dossier under 3 years, newest first.")
    async def reglements(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Reglement] | None:
        found = await self.load(info)
        return await paged(
            first,
            after,
            lambda offset, limit: queries.dossier_reglements(info.context, found, offset, limit),
            lambda r: Reglement.of(r, self.scope),
        )


# ---- règlement ------------------------------------------------------------------------------------
@strawberry.type(description="A payment: a prévoyance règlement or a health reimbursement.")
class Reglement(Node):
    record: strawberry.Private[rec.Reglement]
    scope: strawberry.Private[Scope]
    reference: str = strawberry.field(description="Payment reference.")
    kind: v.ReglementKind = strawberry.field(
        description="Prévoyance benefit or health reimbursement."
    )
    kind_label: str = strawberry.field(description="French label of `kind`.")
    paid_on: date = strawberry.field(description="Payment date.")
    gross_amount: MoneyType = strawberry.field(
        description="Gross amount (health: the amount spent)."
    )
    net_amount: MoneyType = strawberry.field(description="Amount actually paid by the insurer.")
    payment_method: v.PaymentMethod = strawberry.field(description="Payment method.")
    payment_method_label: str = strawberry.field(description="French label of `paymentMethod`.")
    guarantee: v.Guarantee | None = strawberry.field(description="Prévoyance guarantee.")
    guarantee_label: str | None = strawberry.field(description="French label of `guarantee`.")
    beneficiary_name: str | None = strawberry.field(
        description="Person the payment concerns (the affiliate, or who received the care)."
    )
    indemnified_period: PeriodType | None = strawberry.field(
        description="Period indemnified; null for a one-off payment."
    )
    care_date: date | None = strawberry.field(description="Health: date of the care.")
    act: str | None = strawberry.field(description="Health: medical act.")
    expense: MoneyType | None = strawberry.field(description="Health: amount spent.")
    social_security: MoneyType | None = strawberry.field(
        description="Health: part reimbursed by the Sécurité sociale."
    )
    complementary: MoneyType | None = strawberry.field(
        description="Health: part reimbursed by the insurer."
    )
    out_of_pocket: MoneyType | None = strawberry.field(
        description="Health: amount left to the insured person."
    )
    paid_to: v.PaidTo | None = strawberry.field(
        description="Health: who received the reimbursement."
    )
    paid_to_label: str | None = strawberry.field(description="French label of `paidTo`.")

    @classmethod
    def of(cls, record: rec.Reglement, scope: Scope) -> Reglement:
        kind = v.ReglementKind.HEALTH_REIMBURSEMENT if record.is_health else v.ReglementKind.BENEFIT
        return cls(
            record=record,
            scope=scope,
            reference=record.reference,
            kind=kind,
            kind_label=kind.label,
            paid_on=record.paid_on,
            gross_amount=money(record.gross),
            net_amount=money(record.net),
            payment_method=record.payment_method,
            payment_method_label=record.payment_method.label,
            guarantee=record.guarantee,
            guarantee_label=record.guarantee.label if record.guarantee else None,
            beneficiary_name=record.beneficiary_name,
            indemnified_period=period(record.period),
            care_date=record.care_date,
            act=record.act,
            expense=money(record.expense),
            social_security=money(record.social_security),
            complementary=money(record.net) if record.is_health else None,
            out_of_pocket=money(record.out_of_pocket),
            paid_to=record.paid_to,
            paid_to_label=record.paid_to.label if record.paid_to else None,
        )

    async def full(self, info: Info) -> rec.Reglement:
        return await queries.detailed(info.context, self.record)

    @strawberry.field(description="Opaque global id.")
    def id(self) -> strawberry.ID:
        key = queries.health_key(self.record) if self.record.is_health else self.record.reference
        return to_global("Reglement", key)

    @strawberry.field(description="Who received a prévoyance payment.")
    def recipient(self) -> Recipient | None:
        if self.record.recipient_kind is None:
            return None
        return Recipient(
            kind=self.record.recipient_kind,
            kind_label=self.record.recipient_kind.label,
            name=self.record.recipient_name or "",
        )

    @strawberry.field(description="The prévoyance dossier.")
    def dossier(self) -> Dossier | None:
        if self.record.dossier is None:
            return None
        return Dossier(key=self.record.dossier, record=None, scope=self.scope)

    @strawberry.field(description="The contract, as the viewer holds it.")
    async def contract(self, info: Info) -> Contract | None:
        membership = None
        if self.record.dossier is not None:
            membership = (
                await queries.dossier(info.context, self.scope, self.record.dossier)
            ).membership
        return await visible_contract(info, self.scope, [membership, self.record.contract])

    @strawberry.field(description="Décompte lines, in the order of the payment letter.")
    async def breakdown(self, info: Info) -> list[BreakdownLine] | None:
        return [
            BreakdownLine(code=line.code, label=line.label, amount=money(line.amount))
            for line in (await self.full(info)).breakdown
        ]

    @strawberry.field(
        description="Withholding-tax rate in percent; null for payments to the company."
    )
    async def withholding_tax_rate(self, info: Info) -> Decimal | None:
        return (await self.full(info)).withholding_rate

    @strawberry.field(
        description="Taxable base declared to the tax administration, as computed by the claims system."
    )
    async def taxable_base(self, info: Info) -> MoneyType | None:
        return money((await self.full(info)).taxable_base)

    @strawberry.field(
        description="The payment letter (décompte) as a document, when addressed to the viewer."
    )
    async def statement(self, info: Info) -> Document | None:
        found = await queries.statement(info.context, self.scope, self.record)
        return Document.of(found, self.scope) if found else None


# ---- demande --------------------------------------------------------------------------------------
@strawberry.type(description="An online request of the customer and its tracking.")
class Demande(Node):
    record: strawberry.Private[rec.Demande]
    scope: strawberry.Private[Scope]
    reference: str = strawberry.field(description="Customer-facing reference.")
    created_at: datetime = strawberry.field(description="Creation date-time.")
    status: v.DemandeStatus = strawberry.field(description="Current status.")
    status_label: str = strawberry.field(description="French label of `status`.")
    tracked: bool = strawberry.field(
        description="False for health requests: history without status tracking."
    )
    history: list[DemandeStatusChange] = strawberry.field(
        description="Status changes, oldest first."
    )
    beneficiaries: list[str] = strawberry.field(description="Persons concerned, as entered.")
    is_complaint: bool = strawberry.field(
        description="True when the customer filed it as a complaint."
    )

    @classmethod
    def of(cls, record: rec.Demande, scope: Scope) -> Demande:
        return cls(
            record=record,
            scope=scope,
            reference=record.reference,
            created_at=record.created_at,
            status=record.status,
            status_label=record.status.label,
            tracked=record.tracked,
            history=[
                DemandeStatusChange(status=h.status, status_label=h.status.label, at=h.at)
                for h in record.history
            ],
            beneficiaries=list(record.beneficiaries),
            is_complaint=record.is_complaint,
        )

    @strawberry.field(description="Opaque global id.")
    def id(self) -> strawberry.ID:
        return to_global("Demande", self.record.id)

    @strawberry.field(name="type", description="Type of the demande.")
    def type_(self) -> DemandeType:
        t = self.record.type
        return DemandeType(
            code=t.code, label=t.label, category=t.category, category_label=t.category.label
        )

    @strawberry.field(description="The contract concerned, when the viewer holds it.")
    async def contract(self, info: Info) -> Contract | None:
        return await visible_contract(info, self.scope, [self.record.contract])

    @strawberry.field(description="What was sent.")
    def reminder(self) -> DemandeReminder:
        r = self.record
        return DemandeReminder(
            subject=r.subject,
            detail=r.detail,
            description=r.description,
            attachments=[
                Attachment(id=a.id, name=a.name, size_bytes=a.size_bytes, mime_type=a.mime_type)
                for a in r.attachments
            ],
        )


# ---- document -------------------------------------------------------------------------------------
@strawberry.type(
    description="A document issued to the customer (letter, décompte, attestation, card…)."
)
class Document(Node):
    record: strawberry.Private[rec.Document]
    scope: strawberry.Private[Scope]
    title: str = strawberry.field(description="Title printed on the document.")
    type_: v.DocumentType = strawberry.field(name="type", description="Type of document.")
    type_label: str = strawberry.field(description="French label of `type`.")
    category: v.DocumentCategory = strawberry.field(description="Block of the customer space.")
    category_label: str = strawberry.field(description="French label of `category`.")
    issued_at: datetime = strawberry.field(description="Date-time of issue, with its offset.")
    size_bytes: int = strawberry.field(description="Size of the PDF in bytes.")
    mime_type: str = strawberry.field(description="Media type of the file.")

    @classmethod
    def of(cls, record: rec.Document, scope: Scope) -> Document:
        return cls(
            record=record,
            scope=scope,
            title=record.title,
            type_=record.type,
            type_label=record.type.label,
            category=record.category,
            category_label=record.category.label,
            issued_at=record.issued_at,
            size_bytes=record.size_bytes,
            mime_type="application/pdf",
        )

    @strawberry.field(description="Opaque global id.")
    def id(self) -> strawberry.ID:
        return to_global("Document", queries.document_key(self.record))

    @strawberry.field(description="The contract concerned, when the viewer holds it.")
    async def contract(self, info: Info) -> Contract | None:
        return await visible_contract(info, self.scope, [self.record.contract])

    @strawberry.field(description="Link to download the PDF; valid 5 minutes.")
    def download_url(self, info: Info) -> str:
        principal = info.context.require_principal()
        token = info.context.services.links.sign(
            Grant(self.record.id, self.record.owner, principal.subject)
        )
        return f"{info.context.public_url}/documents/{token}"
