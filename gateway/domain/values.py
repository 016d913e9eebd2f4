"""Domain values shared by adapters, resolvers and schema: money, periods, coded statuses with labels.

Frozen and I/O-free. Every coded value is a `Labelled` enum whose members carry the French label the
frontends show verbatim (`status` + `statusLabel`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from babel.numbers import format_currency

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in a currency; never a float."""

    amount: Decimal
    currency: str = "EUR"

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str = "EUR") -> Money:
        return cls(Decimal(amount).quantize(CENT, ROUND_HALF_UP), currency)

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
    """An enum whose members are `(code, French label)`; `.value` is the code."""

    label: str

    def __new__(cls, code: str, label: str) -> Labelled:
        member = object.__new__(cls)
        member._value_ = code
        member.label = label
        return member


class PersonKind(Labelled):
    INDIVIDUAL = "INDIVIDUAL", "Particulier"
    COMPANY = "COMPANY", "Entreprise"


class ProductFamily(Labelled):
    HEALTH = "HEALTH", "Santé"
    PROTECTION = "PROTECTION", "Prévoyance"
    SAVINGS = "SAVINGS", "Épargne"
    RETIREMENT = "RETIREMENT", "Retraite"
    PROPERTY_CASUALTY = "PROPERTY_CASUALTY", "IARD"


class ContractStatus(Labelled):
    ACTIVE = "ACTIVE", "En cours"
    TERMINATED = "TERMINATED", "Résilié"
    SUSPENDED = "SUSPENDED", "Suspendu"
    PENDING = "PENDING", "En cours d'émission"


class AffiliateStatus(Labelled):
    ACTIVE = "ACTIVE", "Affilié"
    LEFT = "LEFT", "Radié"
    SUSPENDED = "SUSPENDED", "Suspendu"
    PENDING = "PENDING", "En cours d'affiliation"


class ContractRole(Labelled):
    SUBSCRIBER = "SUBSCRIBER", "Souscripteur"
    MEMBER = "MEMBER", "Affilié"
    INSURED = "INSURED", "Assuré"
    DEPENDENT = "DEPENDENT", "Ayant droit"


class NumberKind(Labelled):
    CONTRACT = "CONTRACT", "Contrat"
    MEMBERSHIP = "MEMBERSHIP", "Adhésion"


class PremiumFrequency(Labelled):
    MONTHLY = "MONTHLY", "Mensuelle"
    QUARTERLY = "QUARTERLY", "Trimestrielle"
    HALF_YEARLY = "HALF_YEARLY", "Semestrielle"
    YEARLY = "YEARLY", "Annuelle"


class Relationship(Labelled):
    SPOUSE = "SPOUSE", "Conjoint"
    CHILD = "CHILD", "Enfant"
    OTHER = "OTHER", "Autre ayant droit"


class DossierStatus(Labelled):
    OPEN = "OPEN", "En cours"
    CLOSED = "CLOSED", "Clos"


class Guarantee(Labelled):
    INCAPACITY = "INCAPACITY", "Incapacité temporaire de travail"
    INVALIDITY = "INVALIDITY", "Invalidité"
    DEATH = "DEATH", "Décès"
    EDUCATION_ANNUITY = "EDUCATION_ANNUITY", "Rente éducation"


class ReglementKind(Labelled):
    BENEFIT = "BENEFIT", "Prestation prévoyance"
    HEALTH_REIMBURSEMENT = "HEALTH_REIMBURSEMENT", "Remboursement santé"


class PaymentMethod(Labelled):
    TRANSFER = "TRANSFER", "Virement"
    CHEQUE = "CHEQUE", "Chèque"


class RecipientKind(Labelled):
    COMPANY = "COMPANY", "Entreprise"
    AFFILIATE = "AFFILIATE", "Affilié"


class PaidTo(Labelled):
    INSURED = "INSURED", "Assuré"
    PROVIDER = "PROVIDER", "Professionnel de santé"


class CareRecipient(Labelled):
    INSURED = "INSURED", "Assuré"
    SPOUSE = "SPOUSE", "Conjoint"
    CHILD = "CHILD", "Enfant"


class DemandeStatus(Labelled):
    RECEIVED = "RECEIVED", "Reçue"
    IN_PROGRESS = "IN_PROGRESS", "En cours de traitement"
    DONE = "DONE", "Traitée"
    REJECTED = "REJECTED", "Rejetée"
    CLOSED = "CLOSED", "Clôturée"


class DemandeCategory(Labelled):
    HEALTH = "HEALTH", "Santé"
    PERSONAL_LIFE = "PERSONAL_LIFE", "Vie personnelle"
    CONTRACT = "CONTRACT", "Gérer mon contrat"
    CONTACT = "CONTACT", "Nous envoyer une demande"
    COMPLAINT = "COMPLAINT", "Réclamation"


class DocumentType(Labelled):
    SITUATION_LETTER = "SITUATION_LETTER", "Lettre de situation"
    ANNUAL_INFORMATION = "ANNUAL_INFORMATION", "Lettre d'information annuelle"
    BENEFIT_STATEMENT = "BENEFIT_STATEMENT", "Décompte de règlement"
    MEMBERSHIP_CERTIFICATE = "MEMBERSHIP_CERTIFICATE", "Attestation d'affiliation"
    THIRD_PARTY_PAYMENT_CARD = "THIRD_PARTY_PAYMENT_CARD", "Carte tiers payant"
    PREMIUM_NOTICE = "PREMIUM_NOTICE", "Avis d'échéance"
    REPLY_LETTER = "REPLY_LETTER", "Courrier de réponse"


class DocumentCategory(Labelled):
    CONTRACT = "CONTRACT", "Documents contractuels"
    BENEFIT = "BENEFIT", "Documents de prestations"
    CORRESPONDENCE = "CORRESPONDENCE", "Courriers"


class DocumentPeriod(Labelled):
    LAST_MONTH = "LAST_MONTH", "Le dernier mois"
    LAST_3_MONTHS = "LAST_3_MONTHS", "Les 3 derniers mois"
    LAST_6_MONTHS = "LAST_6_MONTHS", "Les 6 derniers mois"
    LAST_12_MONTHS = "LAST_12_MONTHS", "Les 12 derniers mois"
    LAST_24_MONTHS = "LAST_24_MONTHS", "Les 24 derniers mois"

    @property
    def months(self) -> int:
        return int(self.value.removeprefix("LAST_").removesuffix("_MONTHS").replace("MONTH", "1"))


class Civility(Labelled):
    MR = "MR", "Monsieur"
    MRS = "MRS", "Madame"


class HealthScheme(Labelled):
    GENERAL = "GENERAL", "Régime général"
    AGRICULTURAL = "AGRICULTURAL", "Régime agricole (MSA)"
    ALSACE_MOSELLE = "ALSACE_MOSELLE", "Régime local d'Alsace-Moselle"
    SELF_EMPLOYED = "SELF_EMPLOYED", "Sécurité sociale des indépendants"
    OTHER = "OTHER", "Autre régime"


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier (clamped to the month's end)."""
    month = day.month - 1 - months
    year, month = day.year + month // 12, month % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def years_before(day: date, years: int) -> date:
    return months_before(day, 12 * years)
