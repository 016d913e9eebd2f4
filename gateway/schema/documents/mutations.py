"""Documents on demand: attestations produced by the éditique."""

from __future__ import annotations

import enum

import strawberry

from gateway.resolvers import certificates, demandes
from gateway.schema.common import Info
from gateway.schema.documents.types import Document
from gateway.schema.ids import contract_number
from gateway.schema.payloads import payload
from gateway.schema.user_errors import UserError


@strawberry.enum(description="An attestation the éditique produces on demand.")
class CertificateKind(enum.Enum):
    AFFILIATION = strawberry.enum_value(
        "AFFILIATION", description="Attestation d'affiliation (santé, prévoyance)."
    )
    THIRD_PARTY_PAYMENT = strawberry.enum_value(
        "THIRD_PARTY_PAYMENT", description="Carte de tiers payant (santé)."
    )


@strawberry.input(description="The attestation to produce.")
class CertificateInput:
    idempotency_key: str = strawberry.field(description="Client-generated, 8–64 characters.")
    contract_id: strawberry.ID = strawberry.field(description="The contract.")
    kind: CertificateKind = strawberry.field(description="Which attestation.")


@strawberry.type(description="Result of producing an attestation.")
class CertificatePayload:
    document: Document | None = strawberry.field(description="The new document; null when refused.")
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


@strawberry.type(description="Documents on demand.")
class DocumentsMutation:
    @strawberry.mutation(
        description="Produce an attestation, exactly once per idempotencyKey, ready to download."
    )
    async def generate_certificate(self, info: Info, input: CertificateInput) -> CertificatePayload:
        async def work() -> Document:
            found = await certificates.generate_certificate(
                info.context,
                input.idempotency_key,
                contract_number(input.contract_id) or "",
                input.kind.name,
            )
            return Document.of(found, await demandes.own_scope(info.context))

        return await payload(
            lambda d, errors: CertificatePayload(document=d, user_errors=errors), work()
        )
