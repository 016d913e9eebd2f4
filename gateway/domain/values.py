"""Domain values shared by adapters, resolvers and schema: money, periods, coded statuses with labels.

Frozen and I/O-free. Every coded value is a `Labelled` enum; its French label, which the frontends
show verbatim (`status` + `statusLabel`), is in the one table of `labels.py`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import cache

from babel.numbers import format_currency

from gateway.domain.labels import LABELS

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in a currency; never a float."""

    amount: Decimal
    currency: str = "EUR"

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str = "EUR") -> Money:
        """Exact to the cent whatever the number of digits (the default context keeps 28)."""
        value = Decimal(amount)
        with localcontext() as exact:
            exact.prec = max(exact.prec, len(value.as_tuple().digits) + 3)
            return cls(value.quantize(CENT, ROUND_HALF_UP), currency)

    @property
    def formatted(self) -> str:
        """fr-FR typography: `1 234,50 €` with narrow no-break and no-break spaces."""
        return _format(self.amount, self.currency)


@cache
def _format(amount: Decimal, currency: str) -> str:
    return str(format_currency(amount, currency, locale="fr_FR"))


@dataclass(frozen=True, slots=True)
class Period:
    """Calendar dates, both bounds inclusive."""

    start: date
    end: date


class Labelled(enum.Enum):
    """A coded value; `.value` is the code, `.label` its French label from `labels.LABELS`."""

    @property
    def label(self) -> str:
        return LABELS[type(self).__name__][self.value]


class PersonKind(Labelled):
    INDIVIDUAL = "INDIVIDUAL"
    COMPANY = "COMPANY"


class ProductFamily(Labelled):
    HEALTH = "HEALTH"
    PROTECTION = "PROTECTION"
    SAVINGS = "SAVINGS"
    RETIREMENT = "RETIREMENT"
    PROPERTY_CASUALTY = "PROPERTY_CASUALTY"


class ContractStatus(Labelled):
    ACTIVE = "ACTIVE"
    TERMINATED = "TERMINATED"
    SUSPENDED = "SUSPENDED"
    PENDING = "PENDING"


class AffiliateStatus(Labelled):
    ACTIVE = "ACTIVE"
    LEFT = "LEFT"
    SUSPENDED = "SUSPENDED"
    PENDING = "PENDING"


class ContractRole(Labelled):
    SUBSCRIBER = "SUBSCRIBER"
    MEMBER = "MEMBER"
    INSURED = "INSURED"
    DEPENDENT = "DEPENDENT"


class NumberKind(Labelled):
    CONTRACT = "CONTRACT"
    MEMBERSHIP = "MEMBERSHIP"


class PremiumFrequency(Labelled):
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    HALF_YEARLY = "HALF_YEARLY"
    YEARLY = "YEARLY"


class Relationship(Labelled):
    SPOUSE = "SPOUSE"
    CHILD = "CHILD"
    OTHER = "OTHER"


class DossierStatus(Labelled):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class Guarantee(Labelled):
    INCAPACITY = "INCAPACITY"
    INVALIDITY = "INVALIDITY"
    DEATH = "DEATH"
    EDUCATION_ANNUITY = "EDUCATION_ANNUITY"


class ReglementKind(Labelled):
    BENEFIT = "BENEFIT"
    HEALTH_REIMBURSEMENT = "HEALTH_REIMBURSEMENT"


class PaymentMethod(Labelled):
    TRANSFER = "TRANSFER"
    CHEQUE = "CHEQUE"


class RecipientKind(Labelled):
    COMPANY = "COMPANY"
    AFFILIATE = "AFFILIATE"


class PaidTo(Labelled):
    INSURED = "INSURED"
    PROVIDER = "PROVIDER"


class CareRecipient(Labelled):
    INSURED = "INSURED"
    SPOUSE = "SPOUSE"
    CHILD = "CHILD"


class DemandeStatus(Labelled):
    RECEIVED = "RECEIVED"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    REJECTED = "REJECTED"
    CLOSED = "CLOSED"


class DemandeCategory(Labelled):
    HEALTH = "HEALTH"
    PERSONAL_LIFE = "PERSONAL_LIFE"
    CONTRACT = "CONTRACT"
    CONTACT = "CONTACT"
    COMPLAINT = "COMPLAINT"


class DocumentType(Labelled):
    SITUATION_LETTER = "SITUATION_LETTER"
    ANNUAL_INFORMATION = "ANNUAL_INFORMATION"
    BENEFIT_STATEMENT = "BENEFIT_STATEMENT"
    MEMBERSHIP_CERTIFICATE = "MEMBERSHIP_CERTIFICATE"
    THIRD_PARTY_PAYMENT_CARD = "THIRD_PARTY_PAYMENT_CARD"
    PREMIUM_NOTICE = "PREMIUM_NOTICE"
    REPLY_LETTER = "REPLY_LETTER"


class DocumentCategory(Labelled):
    CONTRACT = "CONTRACT"
    BENEFIT = "BENEFIT"
    CORRESPONDENCE = "CORRESPONDENCE"


class DocumentPeriod(Labelled):
    LAST_MONTH = "LAST_MONTH"
    LAST_3_MONTHS = "LAST_3_MONTHS"
    LAST_6_MONTHS = "LAST_6_MONTHS"
    LAST_12_MONTHS = "LAST_12_MONTHS"
    LAST_24_MONTHS = "LAST_24_MONTHS"

    @property
    def months(self) -> int:
        return int(self.value.removeprefix("LAST_").removesuffix("_MONTHS").replace("MONTH", "1"))


class Civility(Labelled):
    MR = "MR"
    MRS = "MRS"


class HealthScheme(Labelled):
    GENERAL = "GENERAL"
    AGRICULTURAL = "AGRICULTURAL"
    ALSACE_MOSELLE = "ALSACE_MOSELLE"
    SELF_EMPLOYED = "SELF_EMPLOYED"
    OTHER = "OTHER"


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier (clamped to the month's end)."""
    return months_after(day, -months)


def months_after(day: date, months: int) -> date:
    """The same day `months` later (clamped to the month's end)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def years_before(day: date, years: int) -> date:
    return months_before(day, 12 * years)
