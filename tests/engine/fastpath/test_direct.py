"""Direct resolvers (gateway/engine/fastpath/direct.py): the same answers as strawberry's wrappers, with
fewer calls; guarded fields and fields with arguments keep strawberry's path."""

from __future__ import annotations

import asyncio
import enum
from datetime import date
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
import strawberry
from graphql import GraphQLObjectType
from strawberry import relay
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission
from strawberry.types.arguments import convert_argument
from strawberry.types.base import StrawberryOptional

from gateway.engine.fastpath.direct import (
    BACKREF,
    Attribute,
    DirectExecutor,
    SelfMethod,
    as_given,
    direct_resolvers,
)
from gateway.engine.schema import TypedErrors as Errors
from gateway.engine.schema import schema as gateway_schema
from gateway.errors import Forbidden
from gateway.schema.scalars import SCALARS
from tests.support.fast_paths import only_with_fast_paths

pytestmark = only_with_fast_paths


@strawberry.enum
class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Never(BasePermission):
    message = "Jamais."

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        raise Forbidden("Jamais.")


@strawberry.input
class Filter:
    min_length: int = 0
    colours: list[Colour] | None = None


@strawberry.type
class Item:
    hidden: strawberry.Private[str]
    display_name: str
    type_: str = strawberry.field(name="type")
    colour: Colour
    guarded: str = strawberry.field(permission_classes=[Never])

    @strawberry.field
    def label(self) -> str:
        return f"{self.display_name}/{self.hidden}"

    @strawberry.field
    def path(self, info: strawberry.Info) -> str:
        return ".".join(str(key) for key in info.path.as_list())

    @strawberry.field
    async def later(self, info: strawberry.Info) -> str:
        return f"{self.type_}@{info.field_name}"

    @strawberry.field
    def shout(self, times: int = 1, colour: Colour = Colour.RED) -> str:
        return f"{self.display_name.upper()}:{colour.value}" * times

    @strawberry.field
    async def matches(self, info: strawberry.Info, filter: Filter | None = None) -> bool:
        if filter is None:
            return True
        wanted = filter.colours or list(Colour)
        return len(self.display_name) >= filter.min_length and self.colour in wanted

    @strawberry.field
    async def owner(self, of: relay.GlobalID) -> str | None:
        return f"{of.type_name}:{of.node_id}"

    @strawberry.field
    def failing(self) -> str | None:
        raise Forbidden("Refusé.")


CALLS: list[bool] = []  # Odd.risky's calls: `bad` of each


@strawberry.type
class Odd:
    """Values a field's type does not admit: the executor's shortcut must give way."""

    maybe: str | None
    must: str
    number: int
    when: date
    colour: Colour
    eventually: str
    bad: strawberry.Private[bool] = False

    @strawberry.field
    def code(self) -> str:
        return None if self.bad else "C"  # type: ignore[return-value]

    @strawberry.field
    def risky(self) -> str | None:
        CALLS.append(self.bad)
        if self.bad:
            raise Forbidden("Non.")
        return "r"

    @strawberry.field
    def tone(self) -> Colour:
        return "green" if self.bad else Colour.RED  # type: ignore[return-value]

    @strawberry.field
    def soon(self) -> str:
        return later("s") if not self.bad else later(None)  # type: ignore[return-value, arg-type]


def later(value: str) -> asyncio.Future[str]:
    """An awaitable attribute value (a future: no warning when a query does not select it)."""
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


@strawberry.type
class Root:
    @strawberry.field
    def odd(self) -> list[Odd]:
        fine = Odd(maybe="m", must="x", number=1, when=date(2026, 11, 24), colour=Colour.BLUE,
                   eventually=later("soon"))  # fmt: skip
        wrong = Odd(maybe=None, must=None, number="abc", when="not a date", colour="green",
                    eventually=later("late"), bad=True)  # type: ignore[arg-type]  # fmt: skip
        return [fine, wrong]

    @strawberry.field
    def items(self) -> list[Item]:
        return [
            Item(hidden="h1", display_name="Un", type_="A", colour=Colour.RED, guarded="g"),
            Item(hidden="h2", display_name="Deux", type_="B", colour=Colour.BLUE, guarded="g"),
        ]


QUERY = """{ items { displayName type colour label path later shout(times: 2, colour: BLUE)
  matches(filter: {minLength: 4, colours: [BLUE]}) all: matches failing } }"""


def small_schema(direct: bool) -> strawberry.Schema:
    if not direct:
        return strawberry.Schema(query=Root, scalar_overrides=SCALARS)
    built = strawberry.Schema(
        query=Root, scalar_overrides=SCALARS, execution_context_class=DirectExecutor
    )
    direct_resolvers(built)
    return built


def resolve_of(built: strawberry.Schema, type_name: str, field_name: str) -> Any:
    found = built._schema.type_map[type_name]
    assert isinstance(found, GraphQLObjectType)
    return found.fields[field_name].resolve


async def test_the_answers_are_those_of_strawberrys_resolvers() -> None:
    plain = await small_schema(direct=False).execute(QUERY)
    direct = await small_schema(direct=True).execute(QUERY)
    assert direct.data == plain.data
    assert direct.data is not None
    assert direct.data["items"][1] == {
        "displayName": "Deux",  # camelCase name, snake_case attribute
        "type": "B",  # GraphQL name differs from the Python name (type_)
        "colour": "BLUE",  # enums still serialize by name
        "label": "Deux/h2",  # a resolver reading private attributes
        "path": "items.1.path",  # the resolver's info is the field's own
        "later": "B@later",  # async resolver
        "shout": "DEUX:blue" * 2,  # arguments converted (enum value) by strawberry
        "matches": True,  # an input type with camelCase fields and a list of enums
        "all": True,
        "failing": None,
    }
    assert [e.message for e in direct.errors or []] == [e.message for e in plain.errors or []]
    assert [e.path for e in direct.errors or []] == [
        ["items", 0, "failing"],
        ["items", 1, "failing"],
    ]
    assert all(isinstance(e.original_error, Forbidden) for e in direct.errors or [])


async def test_a_bad_argument_is_the_same_error_as_with_strawberry() -> None:
    query = "{ items { matches(filter: {minLength: 1, colours: [GREEN]}) } }"
    direct = await small_schema(direct=True).execute(query)
    plain = await small_schema(direct=False).execute(query)
    assert direct.data is None and plain.data is None
    assert [e.formatted for e in direct.errors or []] == [e.formatted for e in plain.errors or []]


async def test_an_argument_strawberry_refuses_is_the_same_error_at_the_same_path() -> None:
    """A GlobalID that does not decode: refused by strawberry's conversion, after validation."""
    query = '{ items { later owner(of: "bm90IGEgZ2xvYmFsIGlk") ok: owner(of: "VXNlcjox") } }'
    plain = await small_schema(direct=False).execute(query)
    direct = await small_schema(direct=True).execute(query)
    assert direct.data == plain.data
    assert direct.data == {
        "items": [
            {"later": "A@later", "owner": None, "ok": "User:1"},
            {"later": "B@later", "owner": None, "ok": "User:1"},
        ]
    }
    assert [e.formatted for e in direct.errors or []] == [e.formatted for e in plain.errors or []]
    assert [e.path for e in direct.errors or []] == [["items", 0, "owner"], ["items", 1, "owner"]]


async def test_basic_and_resolver_fields_are_direct_guarded_ones_are_not() -> None:
    built = small_schema(direct=True)
    strawberrys = small_schema(direct=False)
    direct = ("displayName", "type", "colour", "label", "path", "later", "shout", "matches")
    for name in (*direct, "failing"):
        assert resolve_of(built, "Item", name) is not resolve_of(strawberrys, "Item", name)
        assert resolve_of(built, "Item", name).__module__ == "gateway.engine.fastpath.direct"
    # permission classes: strawberry's wrapper, which runs them
    assert resolve_of(built, "Item", "guarded") is resolve_of(built, "Item", "guarded")
    assert resolve_of(built, "Item", "guarded").__module__.startswith("strawberry.")


@pytest.mark.parametrize(
    "selection",
    [
        "maybe",
        "must",
        "number",
        "when",
        "colour",
        "eventually",
        "maybe must number when colour",
        "code",
        "risky",
        "tone",
        "soon",
        "code risky tone soon maybe",
    ],
)
async def test_values_a_field_does_not_admit_are_reported_as_graphql_core_reports_them(
    selection: str,
) -> None:
    query = f"{{ odd {{ {selection} }} }}"
    plain = await small_schema(direct=False).execute(query)
    direct = await small_schema(direct=True).execute(query)
    assert direct.data == plain.data
    assert [e.formatted for e in direct.errors or []] == [e.formatted for e in plain.errors or []]
    if selection in ("maybe", "eventually"):
        assert direct.errors is None
    else:  # the second item's value is refused, with graphql-core's message
        assert direct.errors and direct.errors[0].path[:2] == ["odd", 1]


async def test_a_failing_resolver_is_called_once() -> None:
    CALLS.clear()
    result = await small_schema(direct=True).execute("{ odd { risky } }")
    assert CALLS == [False, True]
    assert result.data == {"odd": [{"risky": "r"}, {"risky": None}]}
    assert [e.message for e in result.errors or []] == ["Non."]


def test_scalar_and_enum_attributes_take_the_executors_shortcut() -> None:
    built = small_schema(direct=True)
    leaves = {name: resolve_of(built, "Odd", name) for name in ("maybe", "when", "colour")}
    assert all(isinstance(r, Attribute) and r.leaf is not None for r in leaves.values())
    assert leaves["maybe"].nullable and not leaves["when"].nullable
    assert resolve_of(built, "Root", "items").__module__ == "gateway.engine.fastpath.direct"
    methods = {name: resolve_of(built, "Odd", name) for name in ("code", "risky", "tone")}
    assert all(isinstance(r, SelfMethod) and r.leaf is not None for r in methods.values())
    assert methods["risky"].nullable and not methods["code"].nullable
    assert gateway_schema.execution_context_class is DirectExecutor


async def test_a_permission_guarded_field_is_still_refused() -> None:
    query = "{ items { displayName guarded } }"
    result = await small_schema(direct=True).execute(query)
    assert result.data is None  # non-null field refused: the error nulls its parent
    assert [e.message for e in result.errors or []] == ["Jamais."]
    plain = await small_schema(direct=False).execute(query)
    assert [e.formatted for e in plain.errors or []] == [e.formatted for e in result.errors or []]


def test_a_schema_with_a_custom_default_resolver_is_left_alone() -> None:
    def default(source: Any, name: str) -> Any:
        return getattr(source, name)

    built = strawberry.Schema(
        query=Root, config=strawberry.schema.config.StrawberryConfig(default_resolver=default)
    )
    assert direct_resolvers(built) == 0


class Traced(SchemaExtension):
    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        return _next(root, info, *args, **kwargs)


@pytest.mark.parametrize(
    "extension",
    [
        Traced,
        pytest.param(  # an instance: deprecated by strawberry, still accepted
            Traced(), marks=pytest.mark.filterwarnings("ignore::DeprecationWarning")
        ),
        lambda: Traced(),
        lambda: Errors(),
    ],
)
def test_a_schema_whose_extensions_may_hook_resolve_is_left_alone(extension: Any) -> None:
    """A `resolve` hook (graphql-core middleware) sees each field as strawberry hands it over;
    a factory cannot be told apart before it is called."""
    built = strawberry.Schema(query=Root, extensions=[extension])
    assert direct_resolvers(built) == 0
    assert direct_resolvers(strawberry.Schema(query=Root, extensions=[Errors])) > 0


@pytest.mark.parametrize(
    ("type_name", "field_name", "direct"),
    [
        ("Individual", "displayName", True),
        ("Document", "type", True),  # Python attribute `type_`
        ("Document", "id", True),  # resolver without arguments
        ("Document", "downloadUrl", True),  # resolver asking for info
        ("Individual", "documents", True),  # arguments converted by strawberry's function
        ("Mutation", "login", False),  # permission classes
    ],
)
def test_the_gateway_schema_uses_direct_resolvers_where_they_are_equivalent(
    type_name: str, field_name: str, direct: bool
) -> None:
    module = resolve_of(gateway_schema, type_name, field_name).__module__
    assert (module == "gateway.engine.fastpath.direct") is direct


def test_every_direct_field_of_the_gateway_schema_reads_what_strawberry_would() -> None:
    """For each basic field: the value strawberry's own `get_result` returns for an object that
    has the field's attribute (and the GraphQL name as a decoy). The rest: direct exactly when
    the resolver has no extensions (permission classes) and no root/parent parameter. A
    subscription's fields keep strawberry's pair (`subscribe` yields, `resolve` passes on)."""
    direct_basic = direct_method = 0
    subscriptions = gateway_schema._schema.subscription_type
    assert subscriptions is not None
    for graphql_field in subscriptions.fields.values():
        assert graphql_field.resolve.__module__ != "gateway.engine.fastpath.direct"
    for named in gateway_schema._schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        if named is subscriptions:
            continue
        for graphql_name, graphql_field in named.fields.items():
            field = graphql_field.extensions[BACKREF]
            is_direct = graphql_field.resolve.__module__ == "gateway.engine.fastpath.direct"
            if field.is_basic_field:
                assert is_direct, f"{named.name}.{graphql_name}"
                source = SimpleNamespace(**{graphql_name: "decoy", field.python_name: object()})
                expected = field.get_result(source, info=None, args=[], kwargs={})
                assert graphql_field.resolve(source, None) is expected
                direct_basic += 1
                continue
            resolver = field.base_resolver
            wanted = (
                resolver is not None
                and not field.extensions
                and resolver.root_parameter is None
                and resolver.parent_parameter is None
            )
            assert is_direct is wanted, f"{named.name}.{graphql_name}"
            direct_method += is_direct
    assert direct_basic > 100 and direct_method > 20  # the schema's plain fields, not a few


def test_arguments_passed_as_given_are_those_strawberry_would_not_convert() -> None:
    """For every argument of the gateway schema that the direct resolvers pass as given,
    strawberry's `convert_argument` returns the very value it got (whatever it is)."""
    registry = gateway_schema.schema_converter.scalar_registry
    config = gateway_schema.config
    given = converted = 0
    for named in gateway_schema._schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for graphql_field in named.fields.values():
            for argument in graphql_field.extensions[BACKREF].arguments:
                name = config.name_converter.from_argument(argument)
                if isinstance(argument.type, StrawberryOptional):  # null passed as null
                    assert convert_argument(None, argument.type, registry, config) is None
                if not as_given(argument.type, graphql_field.args[name]):
                    converted += 1
                    continue
                given += 1
                for value in (object(), None):
                    assert convert_argument(value, argument.type, registry, config) is value
    assert given > 20 and converted > 5  # lists, input types: strawberry's conversion


def test_a_relay_global_id_argument_is_converted() -> None:
    built = small_schema(direct=True)
    found = built._schema.type_map["Item"]
    assert isinstance(found, GraphQLObjectType)
    argument = found.fields["owner"].extensions[BACKREF].arguments[0]
    assert not as_given(argument.type, found.fields["owner"].args["of"])


class Counting(DirectExecutor):
    """The executor, noting the fields it builds a resolve info for."""

    infos: ClassVar[list[str]] = []

    def build_resolve_info(
        self, field_def: Any, field_nodes: Any, parent_type: Any, path: Any
    ) -> Any:
        Counting.infos.append(f"{parent_type.name}.{field_nodes[0].name.value}")
        return super().build_resolve_info(field_def, field_nodes, parent_type, path)


async def test_scalar_fields_are_completed_without_their_resolve_info() -> None:
    built = strawberry.Schema(
        query=Root, scalar_overrides=SCALARS, execution_context_class=Counting
    )
    direct_resolvers(built)
    Counting.infos.clear()
    result = await built.execute("{ items { displayName type colour label later } }")
    assert result.errors is None
    assert result.data == (await small_schema(direct=False).execute(
        "{ items { displayName type colour label later } }"
    )).data  # fmt: skip
    # attributes and the self-only `label`: no info; the root list and `later` (asks for info)
    assert Counting.infos == ["Root.items", "Item.later", "Item.later"]
