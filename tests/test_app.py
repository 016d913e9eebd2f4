"""The composition root: what the app's lifespan builds, and what it finishes before it stops."""

from __future__ import annotations

import dataclasses

import pytest

from gateway.context import Services
from gateway.resolvers.accounts import reset_requests_settled
from mocks import MockSystem
from mocks.base import FaultSettings
from tests.support.accounts import outbox
from tests.support.gateway import serve


async def test_a_reset_email_asked_for_just_before_shutdown_is_still_sent(
    mocks: dict[str, MockSystem],
) -> None:
    """The customer was told "accepted" at once; the CRM call runs after the answer. A worker
    stopping (a deploy) must finish it before closing its back-end clients, or the e-mail the
    customer waits for never leaves."""
    chris = "chris.martin@example.fr"
    mocks["crm"].faults = FaultSettings(latency_ms=300)  # the CRM answers slowly
    try:
        async with serve(mocks) as gateway:
            body = await gateway.run("accounts/RequestPasswordReset", {"email": chris})
            assert body == {"data": {"requestPasswordReset": {"accepted": True}}}
            assert outbox(gateway, "REINITIALISATION", chris) == []  # still on its way
        # the lifespan has ended: the worker is gone
        assert len(outbox(gateway, "REINITIALISATION", chris)) == 1
    finally:
        await reset_requests_settled()  # nothing of this test outlives it


def test_services_are_built_by_keyword_so_two_fields_cannot_be_swapped() -> None:
    """Several fields share a shape (a store and the sessions on it, two keys): given by
    position, a swap would type-check at the call site and fail at the first request."""
    names = [f.name for f in dataclasses.fields(Services)]
    with pytest.raises(TypeError):
        Services(*[object()] * len(names))  # type: ignore[misc]
    given = {name: object() for name in names}
    built = Services(**given)  # type: ignore[arg-type]
    assert all(getattr(built, name) is value for name, value in given.items())
