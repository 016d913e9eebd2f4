"""« Mes services »: the services policy admin attaches to a contract, for the number the person
sees (the adhésion for an affilié, the company's contract for the company), cached like the
contract's other data (`adapters/policy_admin.py`). A terminated contract has none. A service
that comes with a document (the tiers-payant card, éditique `CTPY`) points at the latest one
issued for the contract in the last 24 months."""

from __future__ import annotations

from gateway.context import Context
from gateway.domain.records import ContractSummary, Document
from gateway.domain.services import ContractService
from gateway.domain.values import ContractStatus, DocumentPeriod, DocumentType
from gateway.resolvers import queries
from gateway.resolvers.access import Scope


async def services_of(ctx: Context, contract: ContractSummary) -> tuple[ContractService, ...]:
    if contract.status == ContractStatus.TERMINATED:
        return ()
    return await ctx.services.backends.policy_admin.services(contract.number)


async def latest_document(
    ctx: Context, scope: Scope, contract: ContractSummary, kind: DocumentType
) -> Document | None:
    found = await queries.documents(ctx, scope, DocumentPeriod.LAST_24_MONTHS, None, contract)
    return next((d for d in found if d.type == kind), None)  # newest first
