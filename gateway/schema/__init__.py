"""The strawberry schema, built once: types, the query root and the execution extensions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import strawberry
import structlog
from graphql import GraphQLError
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from ..errors import GatewayError
from ..observability import ObservedOperation
from .dashboards import DashboardsQuery
from .mutation import Mutation
from .query import Query
from .roots import compose
from .types import Affiliate, Company, Contract, Demande, Document, Dossier, Individual, Reglement

log = structlog.get_logger("gateway.errors")
MAX_DEPTH = 12


class TypedErrors(SchemaExtension):
    """Gateway errors keep their message and carry `extensions.code` (and `backend`); anything
    else is masked: a client never sees a stack trace, a URL or a legacy body."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if not result or not result.errors:
            return
        shaped = []
        for error in result.errors:
            original = error.original_error
            if original is None:  # syntax and validation errors: the client's own document
                shaped.append(error)
                continue
            if isinstance(original, GatewayError):
                message, extensions = original.message, original.extensions
            else:
                log.error("unexpected_error", path=error.path, exc_info=original)
                message, extensions = "Erreur interne.", {"code": "INTERNAL_SERVER_ERROR"}
            shaped.append(
                GraphQLError(
                    message,
                    nodes=error.nodes,
                    source=error.source,
                    positions=error.positions,
                    path=error.path,
                    extensions=extensions,
                )
            )
        result.errors = shaped


# One class of root fields per domain (gateway/schema/<domain>.py); a field defined twice is an error.
QUERY = compose("Query", "Entry points of the customer-space graph.", Query, DashboardsQuery)
MUTATION = compose("Mutation", "Changes the customer makes: records, démarches, account.", Mutation)

DEPTH_RULES = QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules  # built once, at import


class GatewaySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Expected errors (a back-end down, a not-found) are results, not incidents: they are
        counted by the breakers and metrics; only unexpected ones are logged, by TypedErrors."""


def build_schema(introspection: bool = True) -> strawberry.Schema:
    rules = [*DEPTH_RULES, *([] if introspection else [NoSchemaIntrospectionCustomRule])]

    class Rules(AddValidationRules):  # built once, so the validation cache keeps working
        def __init__(self) -> None:
            super().__init__(rules)

    return GatewaySchema(
        query=QUERY,
        mutation=MUTATION,
        types=[Individual, Company, Contract, Dossier, Reglement, Demande, Document, Affiliate],
        extensions=[
            ObservedOperation,  # outermost: its span covers parsing, validation and execution
            TypedErrors,
            ParserCache,
            ValidationCache,
            Rules,
        ],
    )


schema = build_schema()
