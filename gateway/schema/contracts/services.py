"""« Mes services » in the graph: `Contract.services`' `ContractService`. The rules live in
`resolvers/services.py`."""

from __future__ import annotations

from datetime import date

import strawberry

from gateway.domain import services as sv
from gateway.domain import values as v
from gateway.domain.records import ContractSummary
from gateway.resolvers import services
from gateway.resolvers.access import Scope
from gateway.schema.common import Info
from gateway.schema.documents.types import Document
from gateway.schema.enums import expose

expose(sv.ServiceCode, "A service of « Mes services ».")
expose(sv.ServiceAudience, "Who may use a service.")


@strawberry.type(description="A service attached to a contract (« Mes services »).")
class ContractService:
    found: strawberry.Private[sv.ContractService]
    contract: strawberry.Private[ContractSummary]
    scope: strawberry.Private[Scope]

    @strawberry.field(description="Service.")
    def code(self) -> sv.ServiceCode:
        return self.found.code

    @strawberry.field(description="Generic French label of `code`.")
    def code_label(self) -> str:
        return self.found.code.label

    @strawberry.field(description="The product's own name of the service.")
    def name(self) -> str:
        return self.found.name

    @strawberry.field(description="One or two sentences for the service card.")
    def description(self) -> str | None:
        return self.found.description

    @strawberry.field(description="Partner running it; null when the insurer does.")
    def provider(self) -> str | None:
        return self.found.provider

    @strawberry.field(description="https URL of the service.")
    def url(self) -> str | None:
        return self.found.url

    @strawberry.field(description="Phone number (French national format).")
    def phone(self) -> str | None:
        return self.found.phone

    @strawberry.field(description="Opening hours, as text.")
    def hours(self) -> str | None:
        return self.found.hours

    @strawberry.field(description="First day it is available.")
    def available_from(self) -> date:
        return self.found.available_from

    @strawberry.field(description="Last day; null: no end.")
    def available_until(self) -> date | None:
        return self.found.available_until

    @strawberry.field(description="Not open yet (`availableFrom` after today).")
    def upcoming(self, info: Info) -> bool:
        return self.found.upcoming(info.context.today)

    @strawberry.field(description="Who may use it.")
    def audience(self) -> sv.ServiceAudience:
        return self.found.audience

    @strawberry.field(description="French label of `audience`.")
    def audience_label(self) -> str:
        return self.found.audience.label

    @strawberry.field(
        description="Type of the document the service comes with (the tiers-payant card); null "
        "when none."
    )
    def document_type(self) -> v.DocumentType | None:
        return self.found.document_type

    @strawberry.field(description="That document, latest first; null when none was issued yet.")
    async def document(self, info: Info) -> Document | None:
        kind = self.found.document_type
        if kind is None:
            return None
        found = await services.latest_document(info.context, self.scope, self.contract, kind)
        return Document.of(found, self.scope) if found else None


async def services_of(info: Info, contract: ContractSummary, scope: Scope) -> list[ContractService]:
    found = await services.services_of(info.context, contract)
    return [ContractService(found=s, contract=contract, scope=scope) for s in found]
