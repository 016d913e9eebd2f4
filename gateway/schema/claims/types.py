"""Claims: prévoyance dossiers (sinistres), règlements and health reimbursements, their filter.

Fields read the record they were reached with; the few that need more (a dossier's base benefit,
a règlement's décompte lines) go through the request's loaders.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from gateway.domain import records as rec
from gateway.domain import values as v
from gateway.resolvers import queries
from gateway.resolvers.access import Scope
from gateway.schema import enums as _enums  # noqa: F401  (registers the GraphQL enums)
from gateway.schema.common import Connection, Info, MoneyType, PeriodType, money, paged, period
from gateway.schema.contract_link import LazyContract, linked_contract
from gateway.schema.documents.types import Document
from gateway.schema.ids import from_global, to_global
from gateway.schema.node import Node


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
    async def contract(self, info: Info) -> LazyContract | None:
        found = await self.load(info)
        return await linked_contract(info, self.scope, [found.membership, found.contract])

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
    async def contract(self, info: Info) -> LazyContract | None:
        membership = None
        if self.record.dossier is not None:
            membership = (
                await queries.dossier(info.context, self.scope, self.record.dossier)
            ).membership
        return await linked_contract(info, self.scope, [membership, self.record.contract])

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


@strawberry.input(description="Filters of a list of règlements.")
class ReglementFilter:
    guarantee: v.Guarantee | None = strawberry.field(
        default=None, description="Only this prévoyance guarantee."
    )
    affiliate_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this affiliate (company view)."
    )
    from_: date | None = strawberry.field(
        default=None, name="from", description="Paid on or after this date."
    )
    to: date | None = strawberry.field(default=None, description="Paid on or before this date.")


async def criteria(
    info: Info, scope: Scope, found: ReglementFilter | None
) -> queries.ReglementCriteria:
    if found is None:
        return queries.ReglementCriteria()
    membership = None
    if found.affiliate_id is not None:
        _, key = from_global(found.affiliate_id, "Affiliate")
        membership = key.partition("/")[2]
    return queries.ReglementCriteria(found.guarantee, membership, found.from_, found.to)


@strawberry.type(description="The affiliate concerned by a dossier.")
class DossierAffiliate:
    display_name: str = strawberry.field(description="First name and name.")


@strawberry.type(description="Basis of the periodic benefit of a dossier (prestation de base).")
class BaseBenefit:
    reference_gross_salary: MoneyType = strawberry.field(
        description="Annual gross reference salaries."
    )
    reference_period: PeriodType = strawberry.field(description="Period of the reference salaries.")
    monthly_amount: MoneyType = strawberry.field(description="Monthly benefit before réalisation.")
    realisation: MoneyType = strawberry.field(
        description="Monthly deduction for a professional activity."
    )
    monthly_amount_after_realisation: MoneyType = strawberry.field(
        description="Gross monthly benefit paid."
    )
    other_monthly_income: MoneyType = strawberry.field(description="Other monthly income declared.")


@strawberry.type(description="Who received a payment.")
class Recipient:
    kind: v.RecipientKind = strawberry.field(description="Company (subrogation) or the affiliate.")
    kind_label: str = strawberry.field(description="French label of `kind`.")
    name: str = strawberry.field(description="Name of the payee.")


@strawberry.type(description="A line of a décompte: a deduction (positive) or a refund (negative).")
class BreakdownLine:
    code: str = strawberry.field(description="Line code (CASA, CSG_ND, CSG_D, CRDS, PAS, REGUL).")
    label: str = strawberry.field(description="Label as printed on the payment letter.")
    amount: MoneyType = strawberry.field(description="Amount deducted (negative: added back).")
