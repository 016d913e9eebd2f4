"""What the adapters hand to the resolvers: plain frozen records in domain terms.

No legacy field name survives past an adapter; resolvers and schema read these attributes only.
Identifiers of the other systems stay opaque strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from gateway.domain.accounts import AccountStatus
from gateway.domain.values import (
    AffiliateStatus,
    CareRecipient,
    Civility,
    ContractRole,
    ContractStatus,
    DemandeCategory,
    DemandeStatus,
    DocumentCategory,
    DocumentType,
    DossierStatus,
    Guarantee,
    HealthScheme,
    Money,
    NumberKind,
    PaidTo,
    PaymentMethod,
    Period,
    PremiumFrequency,
    ProductFamily,
    RecipientKind,
    Relationship,
)


@dataclass(frozen=True, slots=True)
class SystemIds:
    """The same person in the other systems (None: unknown there, nothing to ask)."""

    policy_admin: str | None
    claims: str | None
    editique: str | None


@dataclass(frozen=True, slots=True)
class Address:
    lines: tuple[str, ...]
    postal_code: str
    city: str
    country: str


@dataclass(frozen=True, slots=True)
class Preferences:
    paperless: bool
    group_offers: bool
    targeted_communication: bool
    satisfaction_surveys: bool


@dataclass(frozen=True, slots=True)
class Customer:
    """A CRM client: an individual or a company."""

    client_id: str
    is_company: bool
    customer_number: str
    civility: Civility | None
    first_name: str | None
    last_name: str
    birth_date: date | None
    company_name: str | None
    siret: str | None
    email: str | None
    mobile: str | None
    landline: str | None
    address: Address | None
    ids: SystemIds
    intermediary_id: str | None
    preferences: Preferences
    health_scheme: HealthScheme | None
    account_status: AccountStatus = AccountStatus.NONE
    login: str | None = None  # the account's login identifiant (independent of `email`)

    @property
    def display_name(self) -> str:
        if self.is_company:
            return self.company_name or self.last_name
        return f"{self.first_name} {self.last_name}" if self.first_name else self.last_name


@dataclass(frozen=True, slots=True)
class Intermediary:
    id: str
    name: str
    agency: str | None
    phone: str
    email: str | None


@dataclass(frozen=True, slots=True)
class ContractSummary:
    """A contract as listed for a person, with that person's role on it."""

    number: str
    number_kind: NumberKind
    family: ProductFamily
    product_name: str
    status: ContractStatus
    effective_date: date | None
    term_date: date | None
    termination_date: date | None
    collective: bool
    company_contract: str | None
    company_name: str | None
    subscriber: str
    role: ContractRole | None


@dataclass(frozen=True, slots=True)
class GuaranteeLine:
    code: str
    label: str
    level: str | None
    ceiling: Money | None
    rate_percent: int | None


@dataclass(frozen=True, slots=True)
class Premium:
    amount: Money
    frequency: PremiumFrequency
    debit_day: int | None


@dataclass(frozen=True, slots=True)
class BankAccount:
    """Only the masked IBAN is kept: the full one never leaves the adapter."""

    holder: str
    masked_iban: str
    bic: str


@dataclass(frozen=True, slots=True)
class Dependent:
    first_name: str
    last_name: str
    birth_date: date | None
    relationship: Relationship

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()  # policy admin may give no first name


@dataclass(frozen=True, slots=True)
class Savings:
    value: Money
    valuation_date: date | None


@dataclass(frozen=True, slots=True)
class ContractDetail:
    summary: ContractSummary
    guarantees: tuple[GuaranteeLine, ...]
    premium: Premium | None
    debit_account: BankAccount | None
    refund_account: BankAccount | None
    beneficiary_clause: str | None
    dependents: tuple[Dependent, ...]
    intermediary_id: str | None
    savings: Savings | None
    actions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Affiliate:
    person_number: str
    membership: str
    first_name: str
    last_name: str
    birth_date: date | None
    affiliated_on: date | None
    left_on: date | None
    status: AffiliateStatus

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True, slots=True)
class BaseBenefit:
    reference_gross_salary: Money
    reference_period: Period
    monthly_amount: Money
    realisation: Money
    monthly_amount_after_realisation: Money
    other_monthly_income: Money


@dataclass(frozen=True, slots=True)
class Dossier:
    number: str
    contract: str  # the company's contract
    membership: str | None  # the affiliate's adhésion
    company_name: str | None
    affiliate_id: str  # claims id
    affiliate_name: str  # "Prénom NOM" for display
    guarantee: Guarantee
    status: DossierStatus
    occurred_on: date
    closed_on: date | None
    last_payment_on: date | None
    base_benefit: BaseBenefit | None = None


@dataclass(frozen=True, slots=True)
class DeductionLine:
    code: str
    label: str
    amount: Money


@dataclass(frozen=True, slots=True)
class Reglement:
    """A payment: a prévoyance règlement (BENEFIT) or a santé remboursement."""

    reference: str
    is_health: bool
    paid_on: date
    contract: str
    gross: Money
    net: Money
    payment_method: PaymentMethod
    # prévoyance
    dossier: str | None = None
    affiliate_id: str | None = None
    beneficiary_name: str | None = None
    guarantee: Guarantee | None = None
    period: Period | None = None
    recipient_kind: RecipientKind | None = None
    recipient_name: str | None = None
    detailed: bool = False
    breakdown: tuple[DeductionLine, ...] = field(default=())
    withholding_rate: Decimal | None = None
    taxable_base: Money | None = None
    letter_id: str | None = None
    # santé
    care_date: date | None = None
    act: str | None = None
    care_recipient: CareRecipient | None = None
    expense: Money | None = None
    social_security: Money | None = None
    out_of_pocket: Money | None = None
    paid_to: PaidTo | None = None


T = TypeVar("T")
PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a back-end list with the total the back-end counted."""

    items: tuple[T, ...]
    total: int


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    type: DocumentType
    title: str
    issued_at: datetime
    contract: str | None
    owner: str  # éditique person id
    size_bytes: int
    category: DocumentCategory

    @property
    def issued_on(self) -> date:
        """The Europe/Paris day of issue, the one éditique's date filters compare."""
        return self.issued_at.astimezone(PARIS).date()


@dataclass(frozen=True, slots=True)
class Attachment:
    id: str
    name: str
    mime_type: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class DemandeType:
    code: str
    label: str
    category: DemandeCategory
    required_fields: tuple[str, ...]
    families: tuple[ProductFamily, ...]


@dataclass(frozen=True, slots=True)
class StatusChange:
    status: DemandeStatus
    at: datetime


@dataclass(frozen=True, slots=True)
class Demande:
    id: str
    reference: str
    type: DemandeType
    created_at: datetime
    status: DemandeStatus
    tracked: bool
    beneficiaries: tuple[str, ...]
    contract: str | None
    is_complaint: bool
    history: tuple[StatusChange, ...]
    subject: str | None
    detail: str | None
    description: str | None
    attachments: tuple[Attachment, ...]
