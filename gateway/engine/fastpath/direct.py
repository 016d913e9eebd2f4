"""Direct resolvers: the graph's plain fields read their attribute in one call.

Strawberry resolves every field through its own wrappers. A field without a resolver (a
"basic" field: `display_name: str = strawberry.field(…)`) goes through three Python frames to
end in `getattr(source, python_name)`; a field with a resolver goes through about ten (an `Info`,
argument conversion, the field-extension chain, even when the field has neither arguments nor
extensions). A HomePage executes about 80 fields, so this is a measurable share of its CPU.

`direct_resolvers` runs once, after the schema is built, and replaces graphql-core's `resolve`
of two kinds of fields with what strawberry's wrapper would end up calling anyway:

- basic fields: `Attribute`, `getattr(source, python_name)` (strawberry's default resolver is
  `getattr`; the Python name, not the camelCase GraphQL one);
- resolver fields without field extensions or permission classes: the resolver function itself,
  given `self` (the source), `info` when it asks for it, and its arguments (scalars, enums and
  nulls as graphql-core parsed them, the others converted by strawberry's `convert_argument`),
  their names looked up once; `SelfMethod` when it takes only `self`.

Everything else keeps strawberry's resolver: fields with permission classes or field extensions,
resolvers asking for `root`/`parent`, and any schema with exception handlers, a custom default
resolver or an extension that may have a `resolve` hook. `DirectExecutor` (the schema's
executor) then completes `Attribute` and `SelfMethod` fields of scalar and enum types without
their resolve info. Serialization (scalars, enums), `is_type_of` and error reporting are
graphql-core's and strawberry's: only the way to the raw value differs.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any

import strawberry
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    GraphQLScalarType,
    Undefined,
)
from graphql.execution.executor import to_nodes
from strawberry.extensions import SchemaExtension
from strawberry.relay import GlobalID
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_argument
from strawberry.types.base import StrawberryMaybe, StrawberryOptional
from strawberry.types.field import StrawberryField

from gateway.engine.incremental import EarlyWork

BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF

Resolve = Callable[..., Any]


Leaf = GraphQLScalarType | GraphQLEnumType


def leaf_of(type_: GraphQLOutputType) -> tuple[bool, Leaf | None]:
    """(nullable, the scalar or enum type) of a field's type; None for objects and lists."""
    nullable = not isinstance(type_, GraphQLNonNull)
    named = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return nullable, named if isinstance(named, (GraphQLScalarType, GraphQLEnumType)) else None


class Attribute:
    """What strawberry's `_get_basic_result` ends up doing: `getattr(source, name)`. For a field
    of a scalar or enum type, `leaf` is that type: `DirectExecutor` then completes the field
    without building its resolve info (see there)."""

    __slots__ = ("leaf", "name", "nullable")

    def __init__(self, name: str, type_: GraphQLOutputType) -> None:
        self.name = name
        self.nullable, self.leaf = leaf_of(type_)

    def __call__(self, source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return getattr(source, self.name)

    def __repr__(self) -> str:
        return f"Attribute({self.name!r})"


class SelfMethod:
    """A resolver that takes only `self` (`def id(self) -> strawberry.ID`), called directly. For
    a field of a scalar or enum type, `leaf` is that type: `DirectExecutor` then completes it
    without building its resolve info."""

    __slots__ = ("function", "leaf", "nullable")

    def __init__(self, function: Callable[[Any], Any], type_: GraphQLOutputType) -> None:
        self.function = function
        self.nullable, self.leaf = leaf_of(type_)

    def __call__(self, source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return self.function(source)

    def __repr__(self) -> str:
        return f"SelfMethod({self.function.__qualname__})"


def _alive(method: weakref.WeakMethod[Callable[..., Any]]) -> Callable[..., Any]:
    found = method()
    if found is None:  # a resolver keeping its info past its executor's end
        raise RuntimeError("the execution this helper belonged to is over")
    return found


class DirectExecutor(EarlyWork):
    """strawberry's executor (deferred work started at once: `EarlyWork`), with two shortcuts
    for fields of a scalar or enum type, which skip the resolve info, argument and completion
    steps (most of the execution time of an 83-field page):

    - read by an `Attribute`: a value that is there and serializes is answered at once, as
      graphql-core's `complete_leaf_value` would. Any other case (null for a non-null field, an
      exception, an awaitable, a value that does not serialize) goes graphql-core's way, which
      reads the attribute again (a plain dataclass attribute: no side effect) and reports
      exactly what it would report without this shortcut;
    - resolved by a `SelfMethod` (`def id(self)`): called once, completed as graphql-core does
      (`method_leaf`), an awaitable handed to graphql-core's completion.

    With resolver middleware (a schema extension's `resolve` hook), neither applies.

    graphql-core keeps two of the executor's own bound methods in `async_helpers` (handed to
    resolvers in their info): an executor that refers to itself, so every request's result,
    context, loaders and records would be a reference cycle, freed only when the garbage collector
    finds it. Here the helpers reach the executor through weak references, and all of it is freed
    as soon as the answer is: 12–18 % less CPU per uncached HomePage and 17 MB less memory
    (measured: paired runs over real HTTP); `tests/engine/test_garbage.py` keeps it so."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        gather = weakref.WeakMethod(self.gather_async_work)
        track = weakref.WeakMethod(self.track_async_work)
        self.async_helpers = GraphQLResolveInfoHelpers(
            gather=lambda values: _alive(gather)(values),
            track=lambda values: _alive(track)(values),
        )

    @property
    def no_middleware(self) -> bool:
        """No resolver middleware (strawberry always hands over a manager, mostly empty)."""
        manager = self.middleware_manager
        return manager is None or not manager.middlewares

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        field_def = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
        resolve = field_def.resolve if field_def is not None else None
        if isinstance(resolve, Attribute) and resolve.leaf is not None and self.no_middleware:
            try:
                value = getattr(source, resolve.name)
                if value is None:
                    if resolve.nullable:
                        return None
                elif not isinstance(value, Exception) and not self.is_awaitable(value):
                    coerced = resolve.leaf.coerce_output_value(value)
                    if coerced is not None and coerced is not Undefined:
                        return coerced
            except Exception:  # graphql-core's path below reports it
                pass
        elif (
            isinstance(resolve, SelfMethod)
            and field_def is not None
            and resolve.leaf is not None
            and self.no_middleware
        ):
            return self.method_leaf(
                resolve, field_def, parent_type, source, field_details_list, path, position_context
            )
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )

    def method_leaf(
        self,
        resolve: SelfMethod,
        field_def: GraphQLField,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any,
    ) -> Any:
        """graphql-core's `execute_field` + `complete_value` for a scalar or enum field whose
        resolver takes only `self`: the resolver is called once (never again to report an
        error), its value completed, an error handled by graphql-core's `handle_field_error`."""
        assert resolve.leaf is not None
        try:
            value = resolve.function(source)
            if self.is_awaitable(value):
                info = self.build_resolve_info(
                    field_def, to_nodes(field_details_list), parent_type, path
                )
                return self.complete_awaitable_value(
                    field_def.type, field_details_list, info, path, value, position_context
                )
            if isinstance(value, Exception):
                raise value
            if value is None or value is Undefined:
                if resolve.nullable:
                    return None
                field_name = field_details_list[0].node.name.value
                msg = f"Cannot return null for non-nullable field {parent_type}.{field_name}."
                raise TypeError(msg)
            return self.complete_leaf_value(resolve.leaf, value)
        except Exception as raw_error:
            self.handle_field_error(raw_error, field_def.type, field_details_list, path)
            return None


def method(
    field: StrawberryField, schema: strawberry.Schema, graphql_field: GraphQLField
) -> Resolve | None:
    """The resolver called as strawberry calls it (`self` positional, `info` by its name, the
    arguments converted by strawberry's `convert_argument`), or None when the field needs
    strawberry's wrapper (field extensions or permission classes, a root/parent parameter)."""
    resolver = field.base_resolver
    if resolver is None or field.extensions:
        return None
    if resolver.root_parameter is not None or resolver.parent_parameter is not None:
        return None
    function = resolver.wrapped_func
    if not callable(function):  # strawberry raises UncallableResolverError: keep its path
        return None
    info_class = schema.config.info_class
    takes_self = resolver.self_parameter is not None
    info_parameter = resolver.info_parameter
    if field.arguments:
        return with_arguments(
            field, schema, function, takes_self, info_parameter, graphql_field.args
        )
    if info_parameter is None:
        if takes_self:
            return SelfMethod(function, graphql_field.type)

        def resolve_plain(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            return function()

        return resolve_plain
    name = info_parameter.name
    if takes_self:

        def resolve_self_info(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
            return function(source, **{name: info_class(_raw_info=info, _field=field)})

        return resolve_self_info

    def resolve_info(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        return function(**{name: info_class(_raw_info=info, _field=field)})

    return resolve_info


def with_arguments(
    field: StrawberryField,
    schema: strawberry.Schema,
    function: Callable[..., Any],
    takes_self: bool,
    info_parameter: inspect.Parameter | None,
    graphql_args: dict[str, GraphQLArgument],
) -> Resolve:
    """Strawberry's `get_arguments` with the names and types looked up once: each argument
    given is converted by strawberry's own `convert_argument`, as `convert_arguments` does,
    except a scalar or an enum, and null for an optional argument, which it returns as given
    (graphql-core has already parsed them; only a relay `GlobalID` is built from its string)."""
    config = schema.config
    registry = schema.schema_converter.scalar_registry
    info_class = config.info_class
    arguments = []
    for argument in field.arguments:
        name = config.name_converter.from_argument(argument)
        type_ = argument.type
        plain = as_given(type_, graphql_args[name])
        optional = isinstance(type_, StrawberryOptional) and not isinstance(type_, StrawberryMaybe)
        arguments.append((name, argument.python_name, type_, plain, optional))
    info_name = info_parameter.name if info_parameter is not None else None

    def resolve_arguments(source: Any, info: GraphQLResolveInfo[Any], **given: Any) -> Any:
        strawberry_info = info_class(_raw_info=info, _field=field)
        kwargs = {}
        for graphql_name, python_name, type_, plain, optional in arguments:
            if graphql_name in given:
                value = given[graphql_name]
                # null for an optional argument: strawberry's conversion returns it too
                kwargs[python_name] = (
                    value
                    if plain or (value is None and optional)
                    else convert_argument(
                        value, type_, registry, config, strawberry_info, path=(graphql_name,)
                    )
                )
        if info_name is not None:
            kwargs[info_name] = strawberry_info
        return function(source, **kwargs) if takes_self else function(**kwargs)

    if not field.is_async:
        return resolve_arguments

    async def resolve_arguments_async(
        source: Any, info: GraphQLResolveInfo[Any], **given: Any
    ) -> Any:
        # as strawberry's async resolver: a conversion error surfaces when awaited, not before
        return await resolve_arguments(source, info, **given)

    return resolve_arguments_async


def as_given(type_: object, argument: GraphQLArgument) -> bool:
    """Whether strawberry's `convert_argument` returns any value of this argument unchanged: a
    scalar or an enum (or null), not a list (copied), an input type (built), a `GlobalID`
    (decoded) or a `Maybe` (wrapped)."""
    if isinstance(type_, StrawberryMaybe):
        return False
    if isinstance(type_, StrawberryOptional):
        type_ = type_.of_type
    if type_ is GlobalID or isinstance(type_, StrawberryMaybe):
        return False
    named = argument.type.of_type if isinstance(argument.type, GraphQLNonNull) else argument.type
    return isinstance(named, (GraphQLScalarType, GraphQLEnumType))


def direct_resolvers(schema: strawberry.Schema) -> int:
    """Replace the resolvers of the schema's plain fields (see the module); returns how many."""
    config = schema.config
    if config.default_resolver is not getattr or schema.exception_handlers:
        return 0
    if not all(without_resolve_hook(extension) for extension in schema.extensions):
        return 0  # a `resolve` hook must see every field as strawberry hands it over
    replaced = 0
    for named in schema._schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for graphql_field in named.fields.values():
            field = (graphql_field.extensions or {}).get(BACKREF)
            if not isinstance(field, StrawberryField) or field.is_subscription:
                continue
            current = graphql_field.resolve
            if current is None or getattr(current, "__self__", None) is not None:
                continue  # not one of strawberry's closures
            direct: Resolve | None
            if getattr(current, "_is_default", False) and field.is_basic_field:
                direct = Attribute(field.python_name, graphql_field.type)
            elif current.__name__ in ("_resolver", "_async_resolver"):
                direct = method(field, schema, graphql_field)
            else:
                direct = None
            if direct is not None:
                graphql_field.resolve = direct
                replaced += 1
    return replaced


def without_resolve_hook(extension: object) -> bool:
    """Whether a schema extension (class or instance) surely has no `resolve` hook; a factory
    function cannot tell until it is called: it counts as having one."""
    cls = extension if isinstance(extension, type) else type(extension)
    return issubclass(cls, SchemaExtension) and not cls._implements_resolve()
