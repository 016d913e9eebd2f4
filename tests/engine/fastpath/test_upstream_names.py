"""The libraries' names the fast paths (and the guarded server protocol) rely on are still there.

None of these is public API: a strawberry, graphql-core, uvicorn or `limits` upgrade may rename or
reshape them without notice. Each test names what would break (a fast path silently skipped, a
field answered wrongly, a request crashing) and fails on the upgrade rather than in production.
These are checked whether or not GATEWAY_FAST_PATHS is on: the upgrade is the same.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfoHelpers,
    GraphQLScalarType,
    parse,
)
from graphql.execution import collect_fields, executor
from graphql.validation import specified_rules, validate
from limits.aio.storage import MemoryStorage
from strawberry.extensions import SchemaExtension
from strawberry.schema import schema as strawberry_schema
from strawberry.types import arguments, base, field, info
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from gateway.engine.fastpath.direct import BACKREF, direct_resolvers


def parameters(function: Callable[..., Any]) -> list[str]:
    """The parameter names a call passes by name or position (not `self`)."""
    return [name for name in inspect.signature(function).parameters if name != "self"]


def assigned_in(cls: type, attribute: str) -> bool:
    """Whether the class (or a base) sets `self.<attribute>` somewhere in its code."""
    return any(
        f"self.{attribute} =" in inspect.getsource(base)
        for base in cls.__mro__
        if base.__module__.split(".")[0] not in ("builtins", "typing", "asyncio")
    )


# graphql-core: the executor DirectExecutor subclasses (fastpath/direct.py)

EXECUTOR = strawberry_schema.StrawberryGraphQLCoreExecutionContext


def test_the_executor_methods_direct_fields_call_keep_their_parameters() -> None:
    """Else DirectExecutor answers a scalar field with the wrong arguments: every page fails."""
    assert issubclass(EXECUTOR, executor.Executor)
    assert parameters(EXECUTOR.execute_field) == [
        "parent_type",
        "source",
        "field_details_list",
        "path",
        "position_context",
    ]
    assert parameters(EXECUTOR.build_resolve_info) == [
        "field_def",
        "field_nodes",
        "parent_type",
        "path",
    ]
    assert parameters(EXECUTOR.complete_awaitable_value) == [
        "return_type",
        "field_details_list",
        "info",
        "path",
        "result",
        "position_context",
    ]
    assert parameters(EXECUTOR.complete_leaf_value) == ["return_type", "result"]
    assert parameters(EXECUTOR.handle_field_error) == [
        "raw_error",
        "return_type",
        "field_details_list",
        "path",
    ]
    assert parameters(EXECUTOR.gather_async_work) == ["values"]
    assert parameters(EXECUTOR.track_async_work) == ["values"]
    assert parameters(EXECUTOR.is_awaitable) == ["value"]
    assert parameters(executor.to_nodes) == ["field_details_list"]
    assert "node" in collect_fields.FieldDetails.__annotations__


def test_the_executor_still_holds_what_direct_fields_read() -> None:
    """`schema`, `middleware_manager` (no resolve hook), `async_helpers` (replaced with weak
    references: without it every request is a reference cycle again)."""
    for attribute in ("schema", "middleware_manager", "async_helpers"):
        assert assigned_in(EXECUTOR, attribute), attribute
    assert parameters(GraphQLResolveInfoHelpers) == ["gather", "track"]


def test_scalars_and_enums_still_coerce_their_output_by_that_name() -> None:
    """A plain scalar field is answered by `coerce_output_value` without graphql-core's path."""
    for leaf in (GraphQLScalarType, GraphQLEnumType):
        assert "coerce_output_value" in inspect.getsource(leaf)


# strawberry: the schema DirectExecutor and direct_resolvers work on


@strawberry.type
class Tiny:
    name: str

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    async def later(self) -> str:
        return self.name

    @strawberry.field
    def greet(self, word: str) -> str:
        return f"{word} {self.name}"


@strawberry.type
class TinyQuery:
    @strawberry.field
    def tiny(self) -> Tiny:
        return Tiny(name="x")


def test_strawberry_still_makes_the_resolvers_direct_fields_replace() -> None:
    """Strawberry's closures are recognised by `_is_default` (a basic field) and by the names
    `_resolver` and `_async_resolver`; if they change, no field is made direct (slower, same
    answers): this test says so rather than a benchmark months later."""
    schema = strawberry.Schema(query=TinyQuery)
    fields = schema._schema.type_map["Tiny"]
    assert isinstance(fields, GraphQLObjectType)
    resolvers = {name: f.resolve for name, f in fields.fields.items()}
    assert getattr(resolvers["name"], "_is_default", False) is True
    assert getattr(resolvers["shout"], "__name__", None) == "_resolver"
    assert getattr(resolvers["later"], "__name__", None) == "_async_resolver"
    assert getattr(resolvers["greet"], "__name__", None) == "_resolver"
    assert all(
        isinstance((f.extensions or {}).get(BACKREF), field.StrawberryField)
        for f in fields.fields.values()
    )
    assert direct_resolvers(schema) == 5  # tiny, name, shout, later, greet


def test_strawberry_names_direct_resolvers_read() -> None:
    """What `direct_resolvers` asks of a field, its resolver, the config and the schema to decide
    whether strawberry's wrapper may be skipped, and what it calls in its place."""
    schema = strawberry.Schema(query=TinyQuery)
    tiny = schema._schema.type_map["Tiny"]
    assert isinstance(tiny, GraphQLObjectType)
    greet = (tiny.fields["greet"].extensions or {})[BACKREF]
    for name in (
        "base_resolver",
        "extensions",
        "is_basic_field",
        "is_subscription",
        "python_name",
        "arguments",
        "is_async",
    ):
        assert hasattr(greet, name), name
    resolver = greet.base_resolver
    for name in (
        "root_parameter",
        "parent_parameter",
        "self_parameter",
        "info_parameter",
        "wrapped_func",
    ):
        assert hasattr(resolver, name), name
    assert [(a.python_name, a.type) for a in greet.arguments] == [("word", str)]
    assert parameters(arguments.convert_argument) == [
        "value",
        "type_",
        "scalar_registry",
        "config",
        "info",
        "path",
    ]
    assert parameters(info.Info) == ["_raw_info", "_field"]
    assert schema.config.info_class is info.Info
    assert hasattr(base, "StrawberryMaybe") and hasattr(base, "StrawberryOptional")
    assert callable(SchemaExtension._implements_resolve)
    assert schema.config.default_resolver is getattr
    assert parameters(schema.config.name_converter.from_argument) == ["argument"]
    assert schema.schema_converter.scalar_registry is not None
    assert schema.exception_handlers is not None
    assert list(schema.extensions) == []


# strawberry: validation (fastpath/validation_cache.py)


def test_strawberry_validate_document_still_takes_the_schema_document_and_rules() -> None:
    """The validation cache calls it as strawberry's own validation does, rules by position."""
    assert parameters(strawberry_schema.validate_document) == [
        "schema",
        "document",
        "validation_rules",
    ]
    schema = strawberry.Schema(query=TinyQuery)
    document = parse("{ tiny { nme } }")
    errors = strawberry_schema.validate_document(schema._schema, document, tuple(specified_rules))
    assert [e.message for e in errors] == [e.message for e in validate(schema._schema, document)]


def test_strawberry_execution_context_still_has_what_the_extensions_set() -> None:
    names = strawberry_schema.ExecutionContext.__dataclass_fields__
    for name in (
        "graphql_document",
        "validation_rules",
        "pre_execution_errors",
        "parse_options",
        "query",
        "schema",
    ):
        assert name in names, name


# graphql-core: the parser's limits and wording (fastpath/parse_cache.py, operation_limits.py)


def test_graphql_core_parse_still_takes_the_limits_by_those_names() -> None:
    assert {"max_lexical_tokens", "max_comments", "max_source_length"} <= set(parameters(parse))


def test_a_document_past_the_parser_limit_still_says_parsing_aborted() -> None:
    """`refused_document` tells QUERY_TOO_LARGE from a syntax error by these words."""
    with pytest.raises(GraphQLError, match="Parsing aborted"):
        parse("{ a b c }", max_lexical_tokens=1)


# limits: the memory storage's sweep (fastpath/memory_storage.py)


def test_limits_memory_storage_still_schedules_its_sweep_by_that_mangled_name() -> None:
    """Else PacedMemoryStorage's override is never called: a thread hop per key per hit again."""
    schedule = MemoryStorage._MemoryStorage__schedule_expiry  # type: ignore[attr-defined]
    assert inspect.iscoroutinefunction(schedule)
    assert parameters(schedule) == []
    assert "self.__schedule_expiry()" in inspect.getsource(MemoryStorage.incr)


def test_limits_memory_storage_still_sweeps_by_that_name_over_those_attributes() -> None:
    """Else PacedMemoryStorage's own sweep is never called, or sweeps attributes no longer used."""
    sweep = MemoryStorage._MemoryStorage__expire_events  # type: ignore[attr-defined]
    assert inspect.iscoroutinefunction(sweep) and parameters(sweep) == []
    assert "self.__expire_events()" in inspect.getsource(
        MemoryStorage._MemoryStorage__schedule_expiry  # type: ignore[attr-defined]
    )
    source = inspect.getsource(sweep)
    for name in ("self.events", "self.expirations", "self.storage", "self.locks", ".expiry"):
        assert name in source, name


# uvicorn: the response cycle (fastpath/one_write.py) and the guarded protocol (edge/server_protocol.py)


def test_uvicorn_response_cycle_still_writes_through_transport_and_ends_with_on_response() -> None:
    assert "transport" in parameters(RequestResponseCycle.__init__)
    assert "on_response" in parameters(RequestResponseCycle.__init__)
    assert assigned_in(RequestResponseCycle, "transport")
    assert assigned_in(RequestResponseCycle, "on_response")
    assert "self.transport.write(" in inspect.getsource(RequestResponseCycle.send)
    assert "self.on_response()" in inspect.getsource(RequestResponseCycle.send)


def test_uvicorn_protocol_still_has_the_hooks_the_guarded_protocol_overrides() -> None:
    """Header size and header timeout live in these overrides: a renamed hook is a lost limit."""
    expected = {
        "on_url": ["url"],
        "on_header": ["name", "value"],
        "on_headers_complete": [],
        "on_message_begin": [],
        "data_received": ["data"],
        "send_400_response": ["msg"],
        "connection_made": ["transport"],
        "connection_lost": ["exc"],
    }
    for name, names in expected.items():
        assert parameters(getattr(HttpToolsProtocol, name)) == names, name
    for attribute in ("cycle", "transport", "loop"):
        assert assigned_in(HttpToolsProtocol, attribute), attribute


def test_graphql_core_still_aborts_validation_with_that_error() -> None:
    """`operation_limits` raises it to stop validating a hostile document at its first limit."""
    from graphql.validation.validate import ValidationAbortedError

    assert issubclass(ValidationAbortedError, GraphQLError)
