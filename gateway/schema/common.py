"""Small shared GraphQL types: Money, periods, pages (Relay connections)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Generic, TypeVar, overload

import strawberry

from gateway.context import Context
from gateway.domain import values as v
from gateway.domain.records import Page
from gateway.errors import BadInput
from gateway.schema.ids import cursor, offset_after, position

Info = strawberry.Info[Context, None]
N = TypeVar("N")
R = TypeVar("R")
MAX_PAGE = 50


@strawberry.type(name="Money", description="An amount of money; never a float.")
class MoneyType:
    amount: Decimal = strawberry.field(description="Exact amount, two decimals.")
    currency: str = strawberry.field(description="ISO 4217 currency code.")
    formatted: str = strawberry.field(
        description="fr-FR display form, e.g. « 1 234,50 € » (no-break spaces)."
    )


@overload
def money(value: v.Money) -> MoneyType: ...


@overload
def money(value: v.Money | None) -> MoneyType | None: ...


def money(value: v.Money | None) -> MoneyType | None:
    if value is None:
        return None
    return MoneyType(amount=value.amount, currency=value.currency, formatted=value.formatted)


@strawberry.type(name="Period", description="Calendar dates, both bounds inclusive.")
class PeriodType:
    from_: date = strawberry.field(name="from", description="First day.")
    to: date = strawberry.field(description="Last day.")


@overload
def period(value: v.Period) -> PeriodType: ...


@overload
def period(value: v.Period | None) -> PeriodType | None: ...


def period(value: v.Period | None) -> PeriodType | None:
    return PeriodType(from_=value.start, to=value.end) if value else None


@strawberry.type(description="Where a page stands in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items precede this page.")
    # (offset, total) of the page's first and last items: cursors signed only when asked for
    first: strawberry.Private[tuple[int, int] | None]
    last: strawberry.Private[tuple[int, int] | None]

    @strawberry.field(description="Cursor of the first item of the page.")
    def start_cursor(self) -> str | None:
        return cursor(*self.first) if self.first else None

    @strawberry.field(description="Cursor of the last item; pass it as `after`.")
    def end_cursor(self) -> str | None:
        return cursor(*self.last) if self.last else None


def edge_cursor(self: Edge[Any]) -> str:
    return cursor(*self.at)


@strawberry.type(description="An item of a page with its cursor.")
class Edge(Generic[N]):
    # (offset, total): the cursor is signed only when asked for (most pages never ask)
    at: strawberry.Private[tuple[int, int]]
    cursor: str = strawberry.field(resolver=edge_cursor, description="Opaque position of the item.")
    node: N = strawberry.field(description="The item.")


@strawberry.type(description="One page of a list that can grow (Relay connection).")
class Connection(Generic[N]):
    edges: list[Edge[N]] = strawberry.field(description="The items of the page.")
    page_info: PageInfo = strawberry.field(description="Pagination state.")
    total_count: int = strawberry.field(description="Number of items in the whole list.")


def window(first: int, after: str | None) -> tuple[int, int]:
    """(offset, limit) of a `first`/`after` request."""
    if first < 0 or first > MAX_PAGE:
        raise BadInput(f"`first` doit être compris entre 0 et {MAX_PAGE}.", "first")
    return offset_after(after), first


def connection(
    items: Sequence[R], total: int, offset: int, wrap: Callable[[R], N]
) -> Connection[N]:
    edges = [Edge(at=(offset + i, total), node=wrap(item)) for i, item in enumerate(items)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=offset + len(items) < total,
            has_previous_page=offset > 0,
            first=edges[0].at if edges else None,
            last=edges[-1].at if edges else None,
        ),
        total_count=total,
    )


def sliced(
    items: Sequence[R], first: int, after: str | None, wrap: Callable[[R], N]
) -> Connection[N]:
    offset, limit = window(first, after)
    return connection(items[offset : offset + limit], len(items), offset, wrap)


async def paged(
    first: int,
    after: str | None,
    fetch: Callable[[int, int], Awaitable[Page[R]]],
    wrap: Callable[[R], N],
) -> Connection[N]:
    """A page of a back-end list: `fetch(offset, limit)` is called only when the page can hold
    something: after the last item of the list (as the cursor's list counted it) the page is
    empty with no back-end call."""
    offset, limit = window(first, after)
    if after is not None and offset >= position(after).total:
        return connection([], position(after).total, offset, wrap)
    page = await fetch(offset, limit)
    return connection(page.items, page.total, offset, wrap)
