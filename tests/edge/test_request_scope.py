"""The request scope: each request signs and reads its pagination cursors with the key every
gateway process derives from the shared secret, and nothing signs a cursor outside a request."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.schema.ids import cursor, to_global
from mocks import MockSystem
from tests.support.gateway import PERSONAS, Gateway, codes, serve

SECRET = "a-secret-shared-by-every-gateway-process-0123"
OTHER_SECRET = "the-secret-of-another-deployment-0123456789"
AFFILIATES = {"contractId": to_global("Contract", "80785436"), "first": 1}


async def affiliates(gateway: Gateway, after: str | None = None) -> dict[str, Any]:
    return await gateway.run(
        "CompanyAffiliates", {**AFFILIATES, "after": after}, as_=PERSONAS["brico"]
    )


async def test_the_next_page_is_served_by_any_gateway_process_sharing_the_secret(
    mocks: dict[str, MockSystem],
) -> None:
    """Behind a load balancer, a customer's "next page" lands on whichever process is free: a
    cursor signed by one process must be read by the others."""
    async with serve(mocks, jwt_secret=SECRET) as one, serve(mocks, jwt_secret=SECRET) as two:
        first = (await affiliates(one))["data"]["viewer"]["affiliates"]
        assert first["pageInfo"]["hasNextPage"], first
        after = first["pageInfo"]["endCursor"]

        second = await affiliates(two, after)

        assert "errors" not in second, second
        page = second["data"]["viewer"]["affiliates"]
        assert page["totalCount"] == first["totalCount"]
        assert page["edges"] and page["edges"] != first["edges"]
        assert (
            page["edges"] == (await affiliates(one, after))["data"]["viewer"]["affiliates"]["edges"]
        )


async def test_a_cursor_of_another_deployment_is_refused(mocks: dict[str, MockSystem]) -> None:
    async with serve(mocks, jwt_secret=SECRET) as ours:
        first = (await affiliates(ours))["data"]["viewer"]["affiliates"]
    async with serve(mocks, jwt_secret=OTHER_SECRET) as theirs:
        body = await affiliates(theirs, first["pageInfo"]["endCursor"])
    assert codes(body) == ["BAD_USER_INPUT"]


def test_no_cursor_is_signed_outside_a_request() -> None:
    """Signed with a key of its own, a cursor made outside a request (a background task, a
    script) would be refused by every other process: it is an error at once instead."""
    with pytest.raises(RuntimeError, match="request scope"):
        cursor(0, 2)
