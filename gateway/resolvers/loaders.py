"""Per-request data loading: each back-end resource is fetched at most once per GraphQL request.

`Loaders` is created per request. Every read goes through `once(key, call)`: concurrent asks for
the same key share one in-flight call (single flight), and a failure stays cached for the request
like a DataLoader's. Contract details are batched through the policy-admin batch read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from ..adapters import Backends
from ..domain.records import (
    Affiliate,
    ContractDetail,
    ContractSummary,
    Customer,
    Demande,
    Document,
    Dossier,
    Intermediary,
    Page,
    Reglement,
)
from ..domain.values import DocumentCategory, DocumentType, Guarantee

T = TypeVar("T")


class Loaders:
    def __init__(self, backends: Backends) -> None:
        self.backends = backends
        self._memo: dict[tuple[Any, ...], asyncio.Future[Any]] = {}
        self._contracts: DataLoader[str, ContractDetail | None] = DataLoader(
            load_fn=self._load_contracts
        )

    async def once(self, key: tuple[Any, ...], call: Callable[[], Awaitable[T]]) -> T:
        future = self._memo.get(key)
        if future is None:
            future = asyncio.ensure_future(call())
            self._memo[key] = future
        result: T = await asyncio.shield(future)
        return result

    async def _load_contracts(self, numbers: Sequence[str]) -> list[ContractDetail | None]:
        found = await self.backends.policy_admin.contracts(numbers)
        return [found.get(n) for n in numbers]

    # ---- policy admin ------------------------------------------------------------------------
    async def person_contracts(self, person: str) -> tuple[ContractSummary, ...]:
        return await self.once(
            ("pa.person", person), lambda: self.backends.policy_admin.person_contracts(person)
        )

    async def contract(self, number: str) -> ContractDetail | None:
        return await self._contracts.load(number)

    async def affiliates(self, number: str) -> tuple[Affiliate, ...]:
        return await self.once(
            ("pa.affiliates", number), lambda: self.backends.policy_admin.affiliates(number)
        )

    # ---- claims --------------------------------------------------------------------------------
    async def dossiers(
        self, *, contract: str | None = None, affiliate: str | None = None
    ) -> tuple[Dossier, ...]:
        return await self.once(
            ("claims.dossiers", contract, affiliate),
            lambda: self.backends.claims.dossiers(contract=contract, affiliate=affiliate),
        )

    async def dossier(self, number: str) -> Dossier | None:
        return await self.once(
            ("claims.dossier", number), lambda: self.backends.claims.dossier(number)
        )

    async def reglements(
        self,
        *,
        offset: int,
        limit: int,
        since: date | None = None,
        until: date | None = None,
        dossier: str | None = None,
        contract: str | None = None,
        affiliate: str | None = None,
        guarantee: Guarantee | None = None,
    ) -> Page[Reglement]:
        key = (
            "claims.reglements",
            offset,
            limit,
            since,
            until,
            dossier,
            contract,
            affiliate,
            guarantee,
        )
        return await self.once(
            key,
            lambda: self.backends.claims.reglements(
                offset=offset,
                limit=limit,
                since=since,
                until=until,
                dossier=dossier,
                contract=contract,
                affiliate=affiliate,
                guarantee=guarantee,
            ),
        )

    async def reglement(self, reference: str) -> Reglement | None:
        return await self.once(
            ("claims.reglement", reference), lambda: self.backends.claims.reglement(reference)
        )

    async def remboursements(
        self,
        insured: str,
        *,
        offset: int,
        limit: int,
        since: date | None = None,
        until: date | None = None,
    ) -> Page[Reglement]:
        key = ("claims.remboursements", insured, offset, limit, since, until)
        return await self.once(
            key,
            lambda: self.backends.claims.remboursements(
                insured, offset=offset, limit=limit, since=since, until=until
            ),
        )

    # ---- éditique ------------------------------------------------------------------------------
    async def documents(
        self,
        person: str,
        *,
        since: date | None = None,
        until: date | None = None,
        contract: str | None = None,
        category: DocumentCategory | None = None,
        type: DocumentType | None = None,
    ) -> tuple[Document, ...]:
        key = ("editique.search", person, since, until, contract, category, type)
        return await self.once(
            key,
            lambda: self.backends.editique.search(
                person, since=since, until=until, contract=contract, category=category, type=type
            ),
        )

    # ---- CRM -----------------------------------------------------------------------------------
    async def customer(self, client_id: str) -> Customer | None:
        return await self.once(
            ("crm.customer", client_id), lambda: self.backends.crm.customer(client_id)
        )

    async def intermediary(self, intermediary_id: str) -> Intermediary | None:
        return await self.once(
            ("crm.intermediary", intermediary_id),
            lambda: self.backends.crm.intermediary(intermediary_id),
        )

    async def demandes(self, client_id: str, since: date) -> tuple[Demande, ...]:
        return await self.once(
            ("crm.demandes", client_id, since), lambda: self.backends.crm.demandes(client_id, since)
        )

    async def demande(self, demande_id: str) -> Demande | None:
        return await self.once(
            ("crm.demande", demande_id), lambda: self.backends.crm.demande(demande_id)
        )

    async def demande_type_labels(self) -> dict[str, str]:
        return await self.once(("crm.types",), self.backends.crm.demande_type_labels)
