"""Without a session, only the account's entry points run, whatever the document looks like."""

from __future__ import annotations

import pytest
from graphql import parse

from gateway.engine.extensions.anonymous_gate import ANONYMOUS_FIELDS, anonymous_may_run
from mocks import MockSystem
from tests.support.gateway import PRODUCTION, Gateway, codes, serve


@pytest.mark.parametrize(
    "query",
    [
        "query { ...__x } fragment __x on Query { viewer { id } }",
        "query { ...__x } fragment __x on Query { __typename ...__y } "
        "fragment __y on Query { viewer { displayName } }",
        "query { ... on Query { viewer { id } } }",
        "query { __typename viewer { id } }",
        "query { __a: viewer { id } }",
    ],
)
async def test_a_document_dressed_as_introspection_reaches_nothing(
    gateway: Gateway, query: str
) -> None:
    await gateway.clear_calls()
    body = await gateway.run(query)
    assert body["data"] is None and codes(body) == ["UNAUTHENTICATED"]
    assert sum(gateway.calls().values()) == 0


async def test_the_operation_that_runs_is_the_one_checked(gateway: Gateway) -> None:
    document = "query A { __typename } query B { viewer { id } }"
    for name, allowed in (("A", True), ("B", False)):
        response = await gateway.http.post(
            "/graphql", json={"query": document, "operationName": name}
        )
        body = response.json()
        assert ("errors" not in body) is allowed, body


async def test_typename_is_anonymous(gateway: Gateway) -> None:
    assert await gateway.run("{ __typename }") == {"data": {"__typename": "Query"}}


async def test_introspection_is_not_anonymous_in_production(mocks: dict[str, MockSystem]) -> None:
    async with serve(mocks, **PRODUCTION) as gateway:
        body = await gateway.run("{ __schema { queryType { name } } }")
        assert body["data"] is None and set(codes(body)) == {"GRAPHQL_VALIDATION_FAILED"}
        body = await gateway.run(
            'query { ...F } fragment F on Query { __type(name: "Query") { name } }'
        )
        assert body["data"] is None and "errors" in body


@pytest.mark.parametrize(
    ("query", "allowed"),
    [
        ('mutation { login(login: "a", password: "b") { ok } }', True),
        (
            'mutation { ...M } fragment M on Mutation { requestPasswordReset(email: "a") { ok } }',
            True,
        ),
        ('mutation { login(login: "a", password: "b") { ok } updateContactData { ok } }', False),
        (
            "mutation { ...M } fragment M on Mutation { resetPassword { ok } ...N } "
            "fragment N on Mutation { updatePreferences { ok } }",
            False,
        ),
        ("{ __schema { types { name } } }", False),  # introspection not allowed here
        ("{ ...__x ...__x } fragment __x on Query { __typename }", True),
    ],
)
def test_the_allow_list_is_decided_on_root_fields_fragments_expanded(
    query: str, allowed: bool
) -> None:
    """The account mutations (issue 9) land on another branch: decided on the document alone."""
    assert anonymous_may_run(parse(query), None, allow_introspection=False) is allowed


def test_the_allow_list_is_the_account_entry_points() -> None:
    assert {
        "registerAccount",
        "activateAccount",
        "login",
        "refreshSession",
        "logout",
        "requestPasswordReset",
        "resetPassword",
        "verifySecondFactor",
        "sendOneTimeCode",
        "generatePasskeyLoginOptions",
        "loginWithPasskey",
        "__typename",
    } == ANONYMOUS_FIELDS
