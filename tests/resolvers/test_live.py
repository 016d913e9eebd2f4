"""The watcher's reads of a customer (`resolvers/live.py`) and the subscription resolvers that
follow them (`schema/live.py`), in process against the mocks."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from starlette.requests import Request

from gateway.context import Context
from gateway.identity.tokens import Principal
from gateway.loading.loaders import Loaders
from gateway.resolvers.live import reader, subscriber_scope
from gateway.schema.live import Subscription
from tests.conftest import admin
from tests.support.gateway import PERSONAS, Gateway
from tests.support.live import move


def customer_context(gateway: Gateway, client_id: str) -> Context:
    services = gateway.app.state.services
    request = Request({"type": "http", "app": gateway.app, "headers": [], "method": "POST"})
    loaders = Loaders(services.backends, services.plans)
    return Context(request, services, loaders, Principal(client_id, "customer"))


async def test_a_watcher_read_leaves_the_loaders_of_the_subscriber_it_started_from(
    gateway: Gateway,
) -> None:
    ctx = customer_context(gateway, PERSONAS["paul"])
    loaders = ctx.loaders
    read = reader(ctx, await subscriber_scope(ctx))
    first, second = await read(), await read()
    assert ctx.loaders is loaders  # the subscriber may be answering a state with them meanwhile
    assert first.demandes and first.demandes == second.demandes  # and each read reads afresh
    assert gateway.calls()["crm"] >= 2


@pytest.mark.parametrize("field", ["notifications_changed", "demande_updated"])
async def test_a_closed_subscription_stops_its_customers_watcher_at_once(
    gateway: Gateway, field: str
) -> None:
    watchers = gateway.app.state.services.live
    watchers.interval_s = 0.05
    chris = PERSONAS["chris"]
    stream = getattr(Subscription, field)(
        None, SimpleNamespace(context=customer_context(gateway, chris))
    )
    pending = asyncio.ensure_future(stream.__anext__())  # the bell's first state comes at once
    if field == "demande_updated":  # a demande's, once the back office moves one
        await asyncio.sleep(0.2)
        async with admin(gateway.mocks["crm"]) as crm:
            await move(crm, "D-2026-000303", "EN_COURS")
    assert await asyncio.wait_for(pending, 5)
    assert chris in watchers.watches
    await stream.aclose()  # suspended at its `yield`, as when its client leaves
    assert watchers.watches == {}  # now, not once the garbage collector gets to it
