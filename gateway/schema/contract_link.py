"""The link back to a contract from what hangs off it (a dossier, a règlement, a demande, a
document). The contracts' module imports those types, so `Contract` is named lazily here (found
when the schema is built) and `visible_contract` is imported when first called."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from gateway.resolvers.access import Scope
from gateway.schema.common import Info

if TYPE_CHECKING:
    from gateway.schema.contracts.types import Contract

LazyContract = Annotated["Contract", strawberry.lazy("gateway.schema.contracts.types")]


async def linked_contract(info: Info, scope: Scope, numbers: list[str | None]) -> Contract | None:
    """The first of `numbers` the scope may see, as a Contract (`contracts.types.visible_contract`)."""
    from gateway.schema.contracts.types import visible_contract

    return await visible_contract(info, scope, numbers)
