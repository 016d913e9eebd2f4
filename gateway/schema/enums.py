"""GraphQL enums: the domain's labelled enums, each value described by its French label."""

from __future__ import annotations

import strawberry

from gateway.domain import values as v


def expose(enum: type[v.Labelled], description: str) -> None:
    strawberry.enum(enum, description=description)
    for value in enum.__strawberry_definition__.values:  # type: ignore[attr-defined]
        value.description = enum[value.name].label


for enum, text in [
    (v.PersonKind, "Kind of customer."),
    (v.ProductFamily, "Product family of a contract (santé, prévoyance, épargne, retraite, IARD)."),
    (v.ContractStatus, "Status of a contract or membership."),
    (v.AffiliateStatus, "Status of a member of a collective contract."),
    (v.ContractRole, "Role of the person on a contract."),
    (
        v.NumberKind,
        "Whether a number is a contract or a membership (adhésion) to a collective contract.",
    ),
    (v.PremiumFrequency, "How often the premium is due."),
    (v.Relationship, "Relationship of a dependant to the subscriber."),
    (v.DossierStatus, "Status of a prévoyance dossier."),
    (v.Guarantee, "Prévoyance guarantee of a dossier or règlement."),
    (v.ReglementKind, "Kind of payment."),
    (v.PaymentMethod, "How a payment was made."),
    (v.RecipientKind, "Who received a prévoyance payment."),
    (v.PaidTo, "Who received a health reimbursement."),
    (v.CareRecipient, "Who received the care of a health reimbursement."),
    (v.DemandeStatus, "Status of a demande."),
    (v.DemandeCategory, "Category of a demande type."),
    (v.DocumentType, "Type of a document."),
    (v.DocumentCategory, "Block of the customer space a document belongs to."),
    (v.DocumentPeriod, "Period of issue of the documents to list, counted back from today."),
    (v.Civility, "Civility of an individual."),
    (v.HealthScheme, "Mandatory health insurance scheme (régime obligatoire)."),
]:
    expose(enum, text)
