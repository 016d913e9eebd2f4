"""Démarches: which demandes the viewer may start."""

from __future__ import annotations

import strawberry

from gateway.resolvers import access, demandes
from gateway.schema.common import Info
from gateway.schema.demandes.types import DemandeType, demande_type
from gateway.schema.ids import from_global


@strawberry.type(description="Démarches: what the customer may ask for.")
class DemandesQuery:
    @strawberry.field(
        description="Demande types the viewer may start, in the catalogue's order: for one contract, or in general."
    )
    async def demande_types(
        self, info: Info, contract_id: strawberry.ID | None = None
    ) -> list[DemandeType]:
        scope = await demandes.own_scope(info.context)
        contract = None
        if contract_id is not None:
            _, number = from_global(contract_id, "Contract")
            contract = await access.contract(info.context, scope, number)
        return [demande_type(t) for t in await demandes.offered(info.context, scope, contract)]
