"""A demande (an online request of the customer) with its tracking, and the catalogue's types."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from gateway.domain import records as rec
from gateway.domain import values as v
from gateway.resolvers import demandes
from gateway.resolvers.access import Scope
from gateway.schema import enums as _enums  # noqa: F401  (registers the GraphQL enums)
from gateway.schema.common import Info
from gateway.schema.contract_link import LazyContract, linked_contract
from gateway.schema.ids import to_global
from gateway.schema.node import Node


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
    async def contract(self, info: Info) -> LazyContract | None:
        return await linked_contract(info, self.scope, [self.record.contract])

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
            found = next(
                (t for t in await demandes.catalogue(info.context) if t.code == self.code), None
            )
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


def demande_type(t: rec.DemandeType) -> DemandeType:
    return DemandeType(
        code=t.code,
        label=t.label,
        category=t.category,
        category_label=t.category.label,
        required=t.required_fields,
    )
