"""Loads started ahead: what a page loaded after its viewer's customer record, remembered per
process, so that the same page of the same customer starts them alongside that record
(`GATEWAY_LOADS_AHEAD`)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

Key = tuple[Any, ...]
Step = tuple[Key, Callable[..., Awaitable[Any]], tuple[Any, ...], dict[str, Any]]
MAX_STEPS = 16  # loads one plan may start ahead (a HomePage makes five)


class Plans:
    """What each page loaded after its viewer's customer record, per process: `(client id,
    operation, variables) → loads`. The next identical page starts those loads alongside the
    customer record instead of after it: one round trip of the back-ends instead of two.

    A load started ahead is used only under its exact key (the customer's ids, the windows), that
    is only when the fresh customer record leads the page to ask for exactly that load; access
    rules run on the fresh record as always, so a stale plan can waste a call, never show
    anything. A plan with a load left unused is forgotten (that load is cancelled)."""

    def __init__(self, max_pages: int = 10_000) -> None:
        self.max_pages = max_pages
        self.pages: OrderedDict[Key, tuple[Step, ...]] = OrderedDict()

    def get(self, page: Key) -> tuple[Step, ...]:
        steps = self.pages.get(page, ())
        if steps:
            self.pages.move_to_end(page)
        return steps

    def put(self, page: Key, steps: list[Step]) -> None:
        self.pages[page] = tuple(steps[:MAX_STEPS])
        self.pages.move_to_end(page)
        while len(self.pages) > self.max_pages:
            self.pages.popitem(last=False)

    def forget(self, page: Key) -> None:
        self.pages.pop(page, None)
