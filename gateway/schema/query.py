"""The graph's entry points: the viewer, a person by client id, any object by its global id
(`node`, and one typed field per kind). Permissions are checked here, on entry fields, not on
every leaf; the domains' own root fields are in `schema/<domain>/query.py`.
"""

from __future__ import annotations

import asyncio

import strawberry

from gateway.errors import Forbidden, NotFound, Unauthenticated
from gateway.resolvers import access, accounts, queries
from gateway.resolvers.access import Scope
from gateway.schema.claims.types import Dossier, Reglement
from gateway.schema.common import Info
from gateway.schema.contracts.types import Contract
from gateway.schema.demandes.types import Demande
from gateway.schema.documents.types import Document
from gateway.schema.ids import from_global
from gateway.schema.node import Node
from gateway.schema.person.types import Person, person


async def viewer_scope(info: Info) -> Scope:
    principal = info.context.require_principal()
    if principal.is_staff:
        raise Forbidden("Un conseiller consulte un client avec `person(clientId)`.")
    customer, linked = await asyncio.gather(
        info.context.loaders.customer(principal.subject),
        accounts.linked(info.context, principal.subject),  # « Réunir vos comptes »
    )
    if customer is None:
        raise Unauthenticated("Compte client inconnu.")
    return Scope(customer, linked)


async def lookup_scope(info: Info, action: str, target: str) -> Scope:
    """Staff: unrestricted and audited. A customer: their own scope."""
    principal = info.context.require_principal()
    if principal.is_staff:
        info.context.services.audit.record(principal, action, target)
        return Scope(None)
    return await viewer_scope(info)


async def resolve_node(info: Info, global_id: str) -> Node:
    kind, key = from_global(global_id)
    if kind == "Person":
        return await person_by_client_id(info, key)
    scope = await lookup_scope(info, f"node:{kind}", key)
    ctx = info.context
    if kind == "Contract":
        return Contract.of(await access.contract(ctx, scope, key), scope)
    if kind == "Dossier":
        return Dossier(key=key, record=await queries.dossier(ctx, scope, key), scope=scope)
    if kind == "Reglement":
        return Reglement.of(await queries.reglement(ctx, scope, key), scope)
    if kind == "Demande":
        return Demande.of(await queries.demande(ctx, scope, key), scope)
    if kind == "Document":
        return Document.of(await queries.document(ctx, scope, key), scope)
    raise NotFound()


async def person_by_client_id(info: Info, client_id: str) -> Person:
    principal = info.context.require_principal()
    if not principal.is_staff and principal.subject != client_id:
        raise NotFound("Ce client")
    if principal.is_staff:
        info.context.services.audit.record(principal, "person", client_id)
    customer = await info.context.loaders.customer(client_id)
    if customer is None:
        raise NotFound("Ce client")
    return person(customer, Scope(customer))


async def typed(info: Info, global_id: str, kind: str) -> Node:
    from_global(global_id, kind)
    return await resolve_node(info, global_id)


@strawberry.type(description="Entry points of the customer-space graph.")
class EntryQuery:
    @strawberry.field(description="The logged-in customer.")
    async def viewer(self, info: Info) -> Person | None:
        scope = await viewer_scope(info)
        assert scope.customer is not None
        return person(scope.customer, scope)

    @strawberry.field(
        description="A customer by CRM client id: staff (audited), or the customer themselves."
    )
    async def person(self, info: Info, client_id: str) -> Person | None:
        return await person_by_client_id(info, client_id)

    @strawberry.field(description="Any object by its global id.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, id)

    @strawberry.field(description="A contract or membership by global id.")
    async def contract(self, info: Info, id: strawberry.ID) -> Contract | None:
        return await typed(info, id, "Contract")  # type: ignore[return-value]

    @strawberry.field(description="A prévoyance dossier by global id.")
    async def dossier(self, info: Info, id: strawberry.ID) -> Dossier | None:
        return await typed(info, id, "Dossier")  # type: ignore[return-value]

    @strawberry.field(description="A règlement or health reimbursement by global id.")
    async def reglement(self, info: Info, id: strawberry.ID) -> Reglement | None:
        return await typed(info, id, "Reglement")  # type: ignore[return-value]

    @strawberry.field(description="A demande by global id.")
    async def demande(self, info: Info, id: strawberry.ID) -> Demande | None:
        return await typed(info, id, "Demande")  # type: ignore[return-value]

    @strawberry.field(description="A document by global id.")
    async def document(self, info: Info, id: strawberry.ID) -> Document | None:
        return await typed(info, id, "Document")  # type: ignore[return-value]
