"""GATEWAY_FAST_PATHS: on, the gateway takes its shortcuts; off, it runs the libraries as shipped."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLObjectType
from limits.aio.storage import MemoryStorage
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from gateway.engine.fastpath.direct import Attribute, DirectExecutor, SelfMethod
from gateway.engine.fastpath.memory_storage import PacedMemoryStorage
from gateway.engine.incremental import EarlyWork
from gateway.engine.schema import build_schema
from mocks import MockSystem
from tests.support.gateway import serve


def direct_fields(schema: Any) -> int:
    return sum(
        isinstance(field.resolve, Attribute | SelfMethod)
        for named in schema._schema.type_map.values()
        if isinstance(named, GraphQLObjectType)
        for field in named.fields.values()
    )


def fastpath_extensions(schema: Any) -> list[str]:
    return [e.__qualname__ for e in schema.extensions if "fastpath" in e.__module__]


def test_without_fast_paths_the_schema_executes_and_validates_as_strawberry_ships() -> None:
    stock = build_schema(fast_paths=False)
    # strawberry's executor, with graphql-core's public `enable_early_execution` for @defer
    assert stock.execution_context_class is EarlyWork
    assert EarlyWork.__bases__ == (StrawberryGraphQLCoreExecutionContext,)
    assert not {name for name in vars(EarlyWork) if not name.startswith("__")}  # no override
    assert direct_fields(stock) == 0
    assert fastpath_extensions(stock) == []


def test_with_fast_paths_the_schema_takes_its_shortcuts() -> None:
    fast = build_schema(fast_paths=True)
    assert fast.execution_context_class is DirectExecutor
    assert direct_fields(fast) > 100
    assert fastpath_extensions(fast) == ["validation.<locals>.Validation"]


async def test_the_rate_limits_count_in_limits_own_memory_storage_without_fast_paths(
    mocks: dict[str, MockSystem],
) -> None:
    async with serve(mocks, fast_paths=False) as gateway:
        storage = gateway.app.state.services.rate_limits.storage
        assert type(storage) is MemoryStorage
    async with serve(mocks, fast_paths=True) as gateway:
        assert type(gateway.app.state.services.rate_limits.storage) is PacedMemoryStorage
