"""What a client sends wrong gets a code saying so, never "Erreur interne."."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from mocks import MockSystem
from tests.support.gateway import PRODUCTION, Gateway, codes, serve

CONTACT = "mutation($i: ContactDataInput!) { updateContactData(input: $i) { userErrors { code } } }"
PAGE = "query($f: Int) { viewer { reglements(first: $f) { totalCount } } }"


async def test_a_syntax_error_is_a_parse_failure(gateway: Gateway) -> None:
    body = await gateway.run("{ viewer { ", as_="C0001002")
    assert codes(body) == ["GRAPHQL_PARSE_FAILED"]
    assert body["errors"][0]["locations"] == [{"line": 1, "column": 12}]


async def test_an_unknown_field_is_a_validation_failure(gateway: Gateway) -> None:
    body = await gateway.run("{ viewer { displayNam } }", as_="C0001002")
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
    assert "Did you mean 'displayName'?" in body["errors"][0]["message"]  # development


async def test_a_literal_null_input_is_a_validation_failure(gateway: Gateway) -> None:
    body = await gateway.run(
        "mutation { updateContactData(input: null) { userErrors { code } } }", as_="C0001002"
    )
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


@pytest.mark.parametrize(
    ("query", "variables", "field"),
    [
        (CONTACT, {"i": None}, "i"),
        (CONTACT, {"i": {"emial": "x@example.org"}}, "i"),
        (CONTACT, {"i": {"email": 3}}, "i.email"),
        (PAGE, {"f": "abc"}, "f"),
    ],
)
async def test_a_variable_that_does_not_coerce_is_bad_user_input(
    gateway: Gateway, query: str, variables: dict[str, Any], field: str
) -> None:
    await gateway.clear_calls()
    body = await gateway.run(query, variables, as_="C0001002")
    assert body["data"] is None and codes(body) == ["BAD_USER_INPUT"]
    extensions = body["errors"][0]["extensions"]
    assert extensions["variable"] == field.split(".")[0] and extensions["field"] == field
    assert sum(gateway.calls().values()) == 0


async def test_first_null_is_bad_user_input_on_its_field(gateway: Gateway) -> None:
    body = await gateway.run(PAGE, {"f": None}, as_="C0001002")
    assert codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["path"] == ["viewer", "reglements"]


async def test_an_unknown_operation_name_is_a_bad_request(gateway: Gateway) -> None:
    """strawberry answers 400 before executing anything: the client's mistake, not ours."""
    response = await gateway.http.post(
        "/graphql",
        json={"query": "query A { __typename } query B { __typename }", "operationName": "C"},
    )
    assert response.status_code == 400


async def test_production_suggests_nothing(mocks: dict[str, MockSystem]) -> None:
    async with serve(mocks, **PRODUCTION) as gateway:
        token = gateway.token("C0001002")
        body = await gateway.run("{ viewer { displayNam } }", token=token)
        assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]
        assert body["errors"][0]["message"] == "Cannot query field 'displayNam' on type 'Person'."
        body = await gateway.run(CONTACT, {"i": {"emial": "x"}}, token=token)
        assert codes(body) == ["BAD_USER_INPUT"]
        assert "Did you mean" not in body["errors"][0]["message"]
        body = await gateway.run("{ viewer { displayNam } }")  # anonymous: same
        assert "Did you mean" not in body["errors"][0]["message"]


MISSPELT = [  # (document, variables, the types graphql-core names as the error's place)
    ("{ viewer { displayNam contracts { statu } } }", None, {"Person", "Contract"}),
    ("{ viewer { contracts(statu: [ACTIVE]) { status } } }", None, {"Person"}),
    ("{ viewer { contracts(status: [ACTIV]) { status } } }", None, {"ContractStatus"}),
    ("{ viewer { ...F } } fragment F on Persn { displayName }", None, set()),
    ('{ node(id: "x") { ... on Contrat { status } } }', None, set()),
    ("query($s: ContractStatu) { viewer { displayName } }", None, set()),
    (
        "query($s: [ContractStatus!]) { viewer { contracts(status: $s) { status } } }",
        {"s": ["ACTIV"]},
        set(),
    ),
    (
        'mutation { updateContactData(input: {emial: "x"}) { userErrors { code } } }',
        None,
        {"ContactDataInput"},
    ),
    (CONTACT, {"i": {"emial": "x", "mobil": "0600000000"}}, set()),
]
QUOTED = re.compile(r"'@?([_A-Za-z][_0-9A-Za-z.]*)'")


def schema_names() -> set[str]:
    """Every type, field, argument, input field and enum value name of the served schema."""
    from gateway.engine.schema import schema

    names = set()
    for named in schema._schema.type_map.values():
        if named.name.startswith("__"):
            continue
        names.add(named.name)
        for field in getattr(named, "fields", {}).values():
            names.update(getattr(field, "args", {}))
        names.update(getattr(named, "fields", {}))
        names.update(getattr(named, "values", {}))
    return names


async def names_told(gateway: Gateway, token: str) -> set[str]:
    """The schema's names the misspelt documents' errors tell that neither the document nor its
    variables wrote (nor the types graphql-core names as the place of the error)."""
    known, told = schema_names(), set()
    for document, variables, places in MISSPELT:
        body = await gateway.run(document, variables, token=token)
        assert body.get("errors"), document
        written = document + json.dumps(variables or {})
        for error in body["errors"]:
            for quoted in QUOTED.findall(error["message"]):
                for name in quoted.split("."):
                    if name in known and name not in written and name not in places:
                        told.add(name)
    return told


async def test_production_errors_name_nothing_of_the_schema_the_client_did_not_write(
    mocks: dict[str, MockSystem],
) -> None:
    """A prober misspelling fields, arguments, types, enum values and input fields learns no
    name it did not already know (introspection is off; suggestions would hand the schema out)."""
    async with serve(mocks, **PRODUCTION) as gateway:
        assert await names_told(gateway, gateway.token("C0001002")) == set()


async def test_development_errors_suggest_the_schema_names_near_a_misspelling(
    gateway: Gateway,
) -> None:
    """The same documents in development: the suggestions are there (and what production hides)."""
    told = await names_told(gateway, gateway.token("C0001002"))
    assert {"displayName", "status", "ACTIVE", "Person", "Contract", "ContractStatus"} <= told
