"""« Mes services » in domain terms: the services policy admin attaches to a contract
(`policy-admin.openapi.yaml`, `CodeService`, `BeneficiaireService`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gateway.domain.values import DocumentType, Labelled


class ServiceCode(Labelled):
    TELECONSULTATION = "TELECONSULTATION"
    THIRD_PARTY_PAYMENT = "THIRD_PARTY_PAYMENT"
    CARE_NETWORK = "CARE_NETWORK"
    QUOTE_ANALYSIS = "QUOTE_ANALYSIS"
    MEDICAL_APPOINTMENT = "MEDICAL_APPOINTMENT"
    ASSISTANCE = "ASSISTANCE"
    LETTER_LIBRARY = "LETTER_LIBRARY"
    PREVENTION = "PREVENTION"


class ServiceAudience(Labelled):
    INSURED = "INSURED"
    ALL_BENEFICIARIES = "ALL_BENEFICIARIES"
    COMPANY = "COMPANY"


@dataclass(frozen=True, slots=True)
class ContractService:
    code: ServiceCode
    name: str  # the product's own name of the service
    description: str | None
    provider: str | None  # None: the insurer runs it
    url: str | None
    phone: str | None  # French national format, 10 digits
    hours: str | None
    available_from: date
    available_until: date | None  # None: no end
    audience: ServiceAudience
    document_type: DocumentType | None  # the document that goes with it (the tiers-payant card)

    def upcoming(self, today: date) -> bool:
        return self.available_from > today
