"""Démarches: sending a demande of any catalogue type, uploading an attachment."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload

from gateway.domain import records as rec
from gateway.resolvers import attachments, demandes
from gateway.resolvers.access import Scope
from gateway.schema.common import Info
from gateway.schema.demandes.types import Attachment, Demande
from gateway.schema.ids import contract_number
from gateway.schema.payloads import payload
from gateway.schema.user_errors import UserError


@strawberry.input(description="A demande of any type of the catalogue.")
class CreateDemandeInput:
    idempotency_key: str = strawberry.field(
        description="Client-generated (8–64 characters), the same for every retry of this demande."
    )
    type: str = strawberry.field(description="Code of a type of `demandeTypes`.")
    contract_id: strawberry.ID | None = strawberry.field(
        default=None, description="The contract concerned."
    )
    beneficiaries: list[str] = strawberry.field(
        default_factory=list, description="Persons concerned (insured on the contract), 10 at most."
    )
    subject: str | None = strawberry.field(default=None, description="Subject, 100 characters.")
    detail: str | None = strawberry.field(default=None, description="Detail, 100 characters.")
    description: str | None = strawberry.field(
        default=None, description="Description, 4 000 characters."
    )
    attachment_ids: list[str] = strawberry.field(
        default_factory=list, description="Ids from `uploadAttachment`, 5 at most, each used once."
    )
    is_complaint: bool = strawberry.field(
        default=False, description="File it as a complaint (always so for RECLAMATION)."
    )


@strawberry.type(description="Result of sending a demande.")
class DemandePayload:
    demande: Demande | None = strawberry.field(description="The demande; null when refused.")
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


@strawberry.type(description="An uploaded attachment, to reference in a demande within 24 h.")
class AttachmentPayload:
    attachment: Attachment | None = strawberry.field(
        description="The stored file; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


async def with_scope(info: Info, found: rec.Demande) -> Demande:
    return Demande.of(found, await demandes.own_scope(info.context))


@strawberry.type(description="Démarches: sending demandes and their attachments.")
class DemandesMutation:
    @strawberry.mutation(
        description="Send a demande of any catalogue type, exactly once per idempotencyKey."
    )
    async def create_demande(self, info: Info, input: CreateDemandeInput) -> DemandePayload:
        ctx = info.context
        number = contract_number(input.contract_id)
        values = {
            "type": input.type,
            "contractId": input.contract_id,
            "beneficiaries": input.beneficiaries,
            "subject": input.subject,
            "detail": input.detail,
            "description": input.description,
            "attachmentIds": input.attachment_ids,
            "isComplaint": input.is_complaint,
        }

        async def draft(scope: Scope) -> demandes.Draft:
            return demandes.Draft(
                input.type,
                number or None,
                contract_given=number is not None,
                beneficiaries=tuple(input.beneficiaries),
                subject=input.subject,
                detail=input.detail,
                description=input.description,
                attachments=tuple(input.attachment_ids),
                complaint=input.is_complaint,
            )

        async def work() -> Demande:
            found = await demandes.send(ctx, "createDemande", input.idempotency_key, values, draft)
            return await with_scope(info, found)

        return await payload(
            lambda d, errors: DemandePayload(demande=d, user_errors=errors), work()
        )

    @strawberry.mutation(
        description="Upload one file (GraphQL multipart request): PDF, JPEG or PNG, 10 MiB at most."
    )
    async def upload_attachment(self, info: Info, file: Upload) -> AttachmentPayload:
        async def work() -> Attachment:
            stored = await attachments.upload(info.context, file)
            return Attachment(
                id=stored.id,
                name=stored.name,
                size_bytes=stored.size_bytes,
                mime_type=stored.mime_type,
            )

        return await payload(
            lambda a, errors: AttachmentPayload(attachment=a, user_errors=errors), work()
        )
