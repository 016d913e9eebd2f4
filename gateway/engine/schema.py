"""The strawberry schema, built once: types, the query root and the execution extensions."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import strawberry
import structlog
from graphql import GraphQLError
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, SchemaExtension
from strawberry.schema.config import StrawberryConfig

from gateway.engine.extensions.all_at_once import AllAtOnce
from gateway.engine.extensions.anonymous_gate import AnonymousGate
from gateway.engine.extensions.client_errors import client_code, client_error, reshaped
from gateway.engine.extensions.observed_operation import ObservedOperation
from gateway.engine.extensions.planned_loads import PlannedLoads
from gateway.engine.extensions.stale_answers import StaleAnswers
from gateway.engine.fastpath.direct import DirectExecutor, direct_resolvers
from gateway.engine.fastpath.validation_cache import validation
from gateway.engine.incremental import EarlyWork, declare_directives, is_incremental
from gateway.engine.operation_limits import Limits, document_reader, limits_rule, parse_limits
from gateway.errors import GatewayError
from gateway.schema.roots import MUTATION, QUERY, SUBSCRIPTION, TYPES
from gateway.schema.scalars import SCALARS
from gateway.settings import fast_paths_of_environment

log = structlog.get_logger("gateway.errors")


class TypedErrors(SchemaExtension):
    """Gateway errors keep their message and carry `extensions.code` (and `backend`); anything
    else is masked: a client never sees a stack trace, a URL or a legacy body. Errors of the
    client's own request get their code from `client_errors` (never "Erreur interne.")."""

    hide_suggestions = False  # set on the subclass `build_schema` makes outside development
    validation_errors: set[int]  # ids of this operation's validation errors

    def on_validate(self) -> Iterator[None]:
        yield
        self.validation_errors = {id(e) for e in self.execution_context.pre_execution_errors or ()}

    def on_operation(self) -> Iterator[None]:
        self.validation_errors = set()
        yield
        self.type_errors(self.execution_context.result)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Each result of a stream (a subscription's state, over graphql-transport-ws or
        graphql-sse) typed as an answer is: strawberry sends it before `on_operation` ends."""
        self.type_errors(result)
        yield

    def type_errors(self, result: Any) -> None:
        if is_incremental(result):  # the later parts' errors: the view's (`later_parts`)
            result = result.initial_result
        if not getattr(result, "errors", None):
            return
        result.errors = [
            typed(error, id(error) in self.validation_errors, self.hide_suggestions)
            for error in result.errors
        ]


def typed(error: GraphQLError, validation: bool, hide_suggestions: bool) -> GraphQLError:
    """An error as a client may see it (`TypedErrors`), in an answer or an incremental part."""
    original = error.original_error
    if (error.extensions or {}).get("code") and original is None:  # already typed
        return error
    code = client_code(error, validation)
    if code is not None:
        return client_error(error, code, hide_suggestions)
    if isinstance(original, GatewayError):
        message, extensions = original.message, original.extensions
    else:
        log.error("unexpected_error", path=error.path, exc_info=original)
        message, extensions = "Erreur interne.", {"code": "INTERNAL_SERVER_ERROR"}
    return reshaped(error, message, extensions)


class GatewaySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Expected errors (a back-end down, a not-found) are results, not incidents: they are
        counted by the breakers and metrics; only unexpected ones are logged, by TypedErrors."""


def stock_validation(rules: list[type[ASTValidationRule]]) -> type[SchemaExtension]:
    """strawberry's own `AddValidationRules`, as a class (a schema takes no instances here)."""

    class Validation(AddValidationRules):
        def __init__(self, *, execution_context: Any = None) -> None:
            super().__init__(rules)

    return Validation


def build_schema(
    introspection: bool = True,
    limits: Limits | None = None,
    suggestions: bool = True,
    fast_paths: bool = True,
) -> strawberry.Schema:
    """`introspection` and `suggestions` are off in production; `limits` from the settings;
    `fast_paths` off runs stock strawberry and graphql-core (`engine/fastpath/`), same answers."""
    limits = limits or Limits()
    rules = [limits_rule(limits), *([] if introspection else [NoSchemaIntrospectionCustomRule])]

    class Errors(TypedErrors):
        hide_suggestions = not suggestions

    class Gate(AnonymousGate):
        allow_introspection = introspection

    built = GatewaySchema(
        query=QUERY,
        mutation=MUTATION,
        subscription=SUBSCRIPTION,  # over graphql-transport-ws and graphql-sse (schema/live.py)
        types=TYPES,  # reached only through an interface (roots.py)
        scalar_overrides=SCALARS,  # Date, DateTime, Decimal with @specifiedBy (scalars.py)
        # @defer and @stream (graphql-core's incremental execution; the view's multipart answer)
        config=StrawberryConfig(enable_experimental_incremental_execution=True),
        # scalar attributes answered at once (fastpath/direct.py); deferred work started at once
        execution_context_class=DirectExecutor if fast_paths else EarlyWork,
        extensions=[
            ObservedOperation,  # outermost: its span covers parsing, validation and execution
            Errors,
            StaleAnswers,
            PlannedLoads,  # queries start the loads they made last time at once (planned.py)
            parse_limits(limits, document_reader(fast_paths)),
            Gate,
            AllAtOnce,  # no @defer/@stream for a client that did not ask for parts
            # graphql-core's rules and ours, cached per document (fastpath/validation_cache.py)
            validation(rules) if fast_paths else stock_validation(rules),
        ],
    )
    declare_directives(built._schema)  # @defer and @stream as the frontends read them
    if fast_paths:
        direct_resolvers(built)  # plain fields read their attribute in one call (direct.py)
    return built


@cache
def default_schema() -> strawberry.Schema:
    """The schema with default settings (the export, tests), built on first use: importing this
    module builds nothing."""
    return build_schema(fast_paths=fast_paths_of_environment())


def __getattr__(name: str) -> Any:
    if name == "schema":  # `from gateway.engine.schema import schema`
        return default_schema()
    raise AttributeError(name)
