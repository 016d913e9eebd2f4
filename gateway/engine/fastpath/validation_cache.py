"""Validation, once per document: strawberry's `AddValidationRules` and `ValidationCache` in one hook.

strawberry's `ValidationCache` keys its LRU cache on the parsed document, and graphql-core 3.3's
AST nodes are frozen dataclasses whose hash is computed field by field, every time: keyed so, each
request would hash its whole document again (a HomePage: about a hundred nodes, ~4 % of a cached page's CPU)
to find a result it already had. The parse cache (`limits.cached_parse`) hands out the same
document object for the same text, so the document's identity is as good a key and costs nothing;
the cache holds the document, so its identity cannot be reused while the entry lives.

The result is what strawberry's `validate_document` returns for the same schema, document and
rules (graphql-core's specified rules, then ours: depth, aliases, complexity, introspection off),
and it is handed over exactly as `ValidationCache` does (`pre_execution_errors`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

MAX_DOCUMENTS = 128  # as strawberry's ValidationCache: a public endpoint cannot grow it


class Same:
    """A cache key that is its object's identity (and keeps the object alive)."""

    __slots__ = ("value",)

    def __init__(self, value: DocumentNode) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Same) and other.value is self.value


@lru_cache(maxsize=MAX_DOCUMENTS)
def validated(
    schema: GraphQLSchema, document: Same, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    return validate_document(schema, document.value, rules)


def validation(rules: Sequence[type[ASTValidationRule]]) -> type[SchemaExtension]:
    """The validation extension of a schema: graphql-core's rules and `rules`, cached."""
    added = tuple(rules)

    class Validation(SchemaExtension):
        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            document = context.graphql_document
            if document is not None:
                context.validation_rules = context.validation_rules + added
                context.pre_execution_errors = validated(
                    context.schema._schema, Same(document), context.validation_rules
                )
            yield

    return Validation
