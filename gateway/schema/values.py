"""The graph's small value types: what a node shows that has no identity of its own."""

from __future__ import annotations

import enum
from datetime import date, datetime

import strawberry

from gateway.domain import records as rec
from gateway.domain import values as v
from gateway.domain.termination import Termination, TerminationRule
from gateway.resolvers import queries
from gateway.resolvers.access import Scope
from gateway.schema.common import Info, MoneyType, PeriodType
from gateway.schema.enums import expose
from gateway.schema.ids import from_global


@strawberry.type(description="A postal address.")
class Address:
    lines: list[str] = strawberry.field(description="1 to 4 address lines.")
    postal_code: str = strawberry.field(description="Postal code.")
    city: str = strawberry.field(description="City.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")


@strawberry.type(description="Marketing and survey consents.")
class Consents:
    group_offers: bool = strawberry.field(description="Offers from the group's companies.")
    targeted_communication: bool = strawberry.field(
        description="Targeted (profiled) communication."
    )
    satisfaction_surveys: bool = strawberry.field(description="Satisfaction surveys.")


@strawberry.type(description="Contact preferences.")
class Preferences:
    paperless: bool = strawberry.field(description="Documents online only, no paper mail.")
    consents: Consents = strawberry.field(description="Consents given.")


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
    description="An online act the customer may start on a contract (« Gérer mon contrat »)."
)
class Action:
    code: str = strawberry.field(description="Act code (also the demande type code).")
    label: str = strawberry.field(description="French label.")


@strawberry.type(description="The company holding a collective contract.")
class CompanyRef:
    name: str = strawberry.field(description="Company name.")
    contract_number: str = strawberry.field(
        description="Number of the company's collective contract."
    )


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


@strawberry.type(description="A type of demande from the catalogue.")
class DemandeType:
    code: str = strawberry.field(description="Type code.")
    label: str = strawberry.field(description="French label.")
    category: v.DemandeCategory = strawberry.field(description="Category.")
    category_label: str = strawberry.field(description="French label of `category`.")
    required: strawberry.Private[tuple[str, ...] | None] = None

    @strawberry.field(
        description="Fields the form must ask for (the CRM refuses the demande without them)."
    )
    async def required_fields(self, info: Info) -> list[DemandeField]:
        required = self.required
        if required is None:
            from gateway.resolvers.demandes import catalogue

            found = next((t for t in await catalogue(info.context) if t.code == self.code), None)
            required = found.required_fields if found else ()
        return [DEMANDE_FIELDS[name] for name in required if name in DEMANDE_FIELDS]


@strawberry.enum(description="A field of the demande form.")
class DemandeField(enum.Enum):
    CONTRACT = strawberry.enum_value("CONTRACT", description="Le contrat concerné.")
    BENEFICIARIES = strawberry.enum_value("BENEFICIARIES", description="Les personnes concernées.")
    ATTACHMENTS = strawberry.enum_value("ATTACHMENTS", description="Une pièce jointe au moins.")
    DESCRIPTION = strawberry.enum_value("DESCRIPTION", description="La description de la demande.")
    SUBJECT = strawberry.enum_value("SUBJECT", description="L'objet de la demande.")
    DETAIL = strawberry.enum_value("DETAIL", description="La précision de l'objet.")


DEMANDE_FIELDS = {
    "numContrat": DemandeField.CONTRACT,
    "beneficiaires": DemandeField.BENEFICIARIES,
    "piecesJointes": DemandeField.ATTACHMENTS,
    "description": DemandeField.DESCRIPTION,
    "sujet": DemandeField.SUBJECT,
    "detail": DemandeField.DETAIL,
}


@strawberry.type(description="A status change of a demande.")
class DemandeStatusChange:
    status: v.DemandeStatus = strawberry.field(description="Status reached.")
    status_label: str = strawberry.field(description="French label of `status`.")
    at: datetime = strawberry.field(description="When.")


@strawberry.type(description="A file attached to a demande.")
class Attachment:
    id: str = strawberry.field(description="Attachment id.")
    name: str = strawberry.field(description="File name.")
    size_bytes: int = strawberry.field(description="Size in bytes.")
    mime_type: str = strawberry.field(description="Media type.")


@strawberry.type(description="What the customer sent (« Voir le rappel de ma demande »).")
class DemandeReminder:
    subject: str | None = strawberry.field(description="Subject.")
    detail: str | None = strawberry.field(description="Detail.")
    description: str | None = strawberry.field(description="Message.")
    attachments: list[Attachment] = strawberry.field(description="Attached files.")


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
