"""Per-request data loading: each back-end resource is fetched at most once per GraphQL request.

`Loaders` is created per request. Every read goes through `once(key, fn, *args)`: concurrent asks
for the same key share one in-flight call (single flight), and a failure stays cached for the
request like a DataLoader's. Contract details are batched through the policy-admin batch read.

A query's loads that follow its viewer's customer record are remembered (`Plans`), so that the
same query of the same customer starts them alongside that record: most pages then wait for one
round trip of the back-ends instead of two (`GATEWAY_LOADS_AHEAD`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from functools import partial
from typing import Any, TypeVar

import orjson
from strawberry.dataloader import DataLoader

from gateway.adapters import Backends
from gateway.adapters.crm import demandes as crm_demandes
from gateway.domain.records import (
    Affiliate,
    ContractDetail,
    ContractSummary,
    Customer,
    Demande,
    DemandeType,
    Document,
    Dossier,
    Intermediary,
    Page,
    Reglement,
)
from gateway.domain.values import DocumentCategory, DocumentType, Guarantee
from gateway.loading.plans import Key, Plans, Step
from gateway.observability import metrics

T = TypeVar("T")


async def contracts_by_number(
    backends: Backends, numbers: Sequence[str]
) -> list[ContractDetail | None]:
    """The batch read of contract details, in the order asked."""
    found = await backends.policy_admin.contracts(numbers)
    return [found.get(n) for n in numbers]


def _retrieve(future: asyncio.Future[Any]) -> None:
    """A load started ahead may end unused: its failure is not an unhandled one."""
    if not future.cancelled():
        future.exception()


class Loaders:
    def __init__(self, backends: Backends, plans: Plans | None = None) -> None:
        self.backends = backends
        self.plans = plans
        self.page: Key | None = None  # (operation, variables) of a query: see `expect`
        self._plan: Key | None = None  # the plan this request follows and records
        self._steps: list[Step] = []
        self._ahead: dict[Key, Step] = {}  # loads started ahead, not asked for yet
        self._ahead_used = 0
        self._memo: dict[Key, asyncio.Future[Any]] = {}
        # a function of the back-ends, not a method: a loader holding its owner would make every
        # request's data a reference cycle, left for the garbage collector to find
        self._contracts: DataLoader[str, ContractDetail | None] = DataLoader(
            load_fn=partial(contracts_by_number, backends)
        )

    def expect(self, operation: str | None, variables: dict[str, Any] | None) -> None:
        """The query about to run: its loads are planned under its name and variables."""
        if operation:
            self.page = (operation, orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS))

    async def once(self, key: Key, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` at most once per request under `key` (single flight; a failure
        stays the answer for the request, like a DataLoader's)."""
        result: T = await asyncio.shield(self._start(key, fn, args, kwargs))
        return result

    def _start(
        self, key: Key, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], kwargs: Any
    ) -> asyncio.Future[Any]:
        future = self._memo.get(key)
        if future is None:
            future = self._memo[key] = asyncio.ensure_future(fn(*args, **kwargs))
            if self._plan is not None:
                self._steps.append((key, fn, args, kwargs))
        elif key in self._ahead:
            self._steps.append(self._ahead.pop(key))
            self._ahead_used += 1
        return future

    def _speculate(
        self, key: Key, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], kwargs: Any
    ) -> None:
        if key in self._memo:
            return
        future = self._memo[key] = asyncio.ensure_future(fn(*args, **kwargs))
        future.add_done_callback(_retrieve)
        self._ahead[key] = (key, fn, args, kwargs)

    def settle(self) -> None:
        """At the end of the request: keep its plan, or forget it if a load went unused."""
        if self.plans is None or self._plan is None:
            return
        for key in self._ahead:
            self._memo[key].cancel()
        if self._ahead_used or self._ahead:
            metrics.loads_ahead(used=self._ahead_used, wasted=len(self._ahead))
        if self._ahead:
            self.plans.forget(self._plan)
        else:
            self.plans.put(self._plan, self._steps)

    # ---- policy admin ------------------------------------------------------------------------
    async def person_contracts(self, person: str) -> tuple[ContractSummary, ...]:
        return await self.once(
            ("pa.person", person), self.backends.policy_admin.person_contracts, person
        )

    async def contract(self, number: str) -> ContractDetail | None:
        return await self._contracts.load(number)

    async def affiliates(self, number: str) -> tuple[Affiliate, ...]:
        return await self.once(
            ("pa.affiliates", number), self.backends.policy_admin.affiliates, number
        )

    # ---- claims --------------------------------------------------------------------------------
    async def dossiers(
        self, *, contract: str | None = None, affiliate: str | None = None
    ) -> tuple[Dossier, ...]:
        return await self.once(
            ("claims.dossiers", contract, affiliate),
            self.backends.claims.dossiers,
            contract=contract,
            affiliate=affiliate,
        )

    async def dossier(self, number: str) -> Dossier | None:
        return await self.once(("claims.dossier", number), self.backends.claims.dossier, number)

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
            self.backends.claims.reglements,
            offset=offset,
            limit=limit,
            since=since,
            until=until,
            dossier=dossier,
            contract=contract,
            affiliate=affiliate,
            guarantee=guarantee,
        )

    async def reglement(self, reference: str) -> Reglement | None:
        return await self.once(
            ("claims.reglement", reference), self.backends.claims.reglement, reference
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
            self.backends.claims.remboursements,
            insured,
            offset=offset,
            limit=limit,
            since=since,
            until=until,
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
            self.backends.editique.search,
            person,
            since=since,
            until=until,
            contract=contract,
            category=category,
            type=type,
        )

    # ---- CRM -----------------------------------------------------------------------------------
    async def customer(self, client_id: str) -> Customer | None:
        key = ("crm.customer", client_id)
        future = self._start(key, self.backends.crm.customer, (client_id,), {})
        if self.plans is not None and self.page is not None and self._plan is None:
            self._plan = (client_id, *self.page)  # the page's first customer: the viewer's
            for step in self.plans.get(self._plan):
                self._speculate(*step)
        result: Customer | None = await asyncio.shield(future)
        return result

    async def intermediary(self, intermediary_id: str) -> Intermediary | None:
        return await self.once(
            ("crm.intermediary", intermediary_id),
            self.backends.crm.intermediary,
            intermediary_id,
        )

    async def demandes(self, client_id: str, since: date) -> tuple[Demande, ...]:
        return await self.once(
            ("crm.demandes", client_id, since), self.backends.crm.demandes, client_id, since
        )

    async def demande(self, demande_id: str) -> Demande | None:
        return await self.once(("crm.demande", demande_id), self.backends.crm.demande, demande_id)

    async def catalogue(self) -> tuple[DemandeType, ...]:
        """The CRM's demande types (`/types-demandes`): one load per request, whoever asks (the
        types offered, their labels), with the answer cache off as on."""
        return await self.once(("crm.catalogue",), crm_demandes.catalogue, self.backends.crm)

    async def demande_type_labels(self) -> dict[str, str]:
        return {kind.code: kind.label for kind in await self.catalogue()}
