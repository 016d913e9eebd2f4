"""Validation once per document (gateway/engine/fastpath/validation_cache.py): the same answers as strawberry's
`AddValidationRules` + `ValidationCache`, found by the parsed document's identity."""

from __future__ import annotations

from typing import Any

from graphql import parse
from graphql.validation import NoSchemaIntrospectionCustomRule

from gateway.engine.fastpath.parse_cache import cached_parse
from gateway.engine.fastpath.validation_cache import Same, validated
from gateway.engine.operation_limits import Limits, limits_rule
from gateway.engine.schema import build_schema
from tests.support.fast_paths import only_with_fast_paths
from tests.support.gateway import Gateway, codes, operation

pytestmark = only_with_fast_paths


def test_the_key_is_the_documents_identity_not_its_content() -> None:
    one, other = parse("{ viewer { id } }"), parse("{ viewer { id } }")
    assert one == other  # equal content (graphql-core compares, and hashes, node by node)
    assert Same(one) == Same(one) and hash(Same(one)) == hash(Same(one))
    assert Same(one) != Same(other)


async def test_a_document_is_validated_once_then_found(gateway: Gateway) -> None:
    query = "{ viewer { id displayName } }"
    before = validated.cache_info()
    first = await gateway.run(query, as_="C0001003")
    second = await gateway.run(query, as_="C0001003")
    after = validated.cache_info()
    assert first == second and "errors" not in first
    assert after.misses - before.misses <= 1  # another test may have validated it already
    assert after.hits - before.hits >= 1


def answer(body: dict[str, Any]) -> dict[str, Any]:
    """The body without the request ids (one per request)."""
    for error in body.get("errors", []):
        error.get("extensions", {}).pop("requestId", None)
    return body


async def test_our_rules_still_apply_once_cached(gateway: Gateway) -> None:
    aliases = "{ viewer { " + " ".join(f"a{i}: id" for i in range(30)) + " } }"  # limit: 20
    answers = [await gateway.run(aliases, as_="C0001003") for _ in range(2)]
    assert answer(answers[0]) == answer(answers[1])  # the second from the cache: the same refusal
    assert set(codes(answers[1])) == {"QUERY_TOO_COMPLEX"} and answers[1]["data"] is None
    unknown = [await gateway.run("{ viewer { nope } }", as_="C0001003") for _ in range(2)]
    assert answer(unknown[0]) == answer(unknown[1]) and codes(unknown[1]) == [
        "GRAPHQL_VALIDATION_FAILED"
    ]


async def test_a_cached_validation_is_the_one_strawberry_computes() -> None:
    from strawberry.schema.schema import validate_document
    from strawberry.types.execution import ExecutionContext

    limits = Limits()
    schema = build_schema(introspection=False, limits=limits)
    rules = (
        *ExecutionContext(query=None, schema=schema, allowed_operations=()).validation_rules,
        limits_rule(limits),
        NoSchemaIntrospectionCustomRule,
    )
    for text in (operation("HomePage"), "{ __schema { types { name } } }", "{ viewer { nope } }"):
        document = cached_parse(text, limits)
        expected = [e.formatted for e in validate_document(schema._schema, document, rules)]
        assert [e.formatted for e in validated(schema._schema, Same(document), rules)] == expected
