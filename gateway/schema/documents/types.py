"""A document issued to the customer (letter, décompte, attestation, card) and its download link."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.domain import records as rec
from gateway.domain import values as v
from gateway.identity.download_links import Grant
from gateway.resolvers import queries
from gateway.resolvers.access import Scope
from gateway.schema import enums as _enums  # noqa: F401  (registers the GraphQL enums)
from gateway.schema.common import Info
from gateway.schema.contract_link import LazyContract, linked_contract
from gateway.schema.ids import to_global
from gateway.schema.node import Node


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
    async def contract(self, info: Info) -> LazyContract | None:
        return await linked_contract(info, self.scope, [self.record.contract])

    @strawberry.field(description="Link to download the PDF; valid 5 minutes.")
    def download_url(self, info: Info) -> str:
        principal = info.context.require_principal()
        token = info.context.services.links.sign(
            Grant(self.record.id, self.record.owner, principal.subject)
        )
        return f"{info.context.public_url}/documents/{token}"
