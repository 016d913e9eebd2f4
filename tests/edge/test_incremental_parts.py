"""graphql-core's incremental frames written as `deferSpec=20220824` (`edge/incremental_parts.py`),
on a small schema where a deferred fragment fails as a whole and a list is streamed."""

from __future__ import annotations

import asyncio
from typing import Any

from graphql import (
    GraphQLDeferDirective,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLStreamDirective,
    GraphQLString,
    experimental_execute_incrementally,
    parse,
    specified_directives,
)

from gateway.edge.incremental_parts import Parts
from gateway.engine.incremental import DEFER, STREAM


async def broken(_source: Any, _info: Any) -> str:
    await asyncio.sleep(0)
    raise RuntimeError("down")


async def items(_source: Any, _info: Any) -> Any:
    for item in ("a", "b", "c"):
        await asyncio.sleep(0)
        yield item


VIEWER = GraphQLObjectType(
    "Viewer",
    {
        "ok": GraphQLField(GraphQLString, resolve=lambda *_: "ok"),
        "broken": GraphQLField(GraphQLNonNull(GraphQLString), resolve=broken),
        "items": GraphQLField(GraphQLList(GraphQLString), resolve=items),
    },
)
SCHEMA = GraphQLSchema(
    GraphQLObjectType("Query", {"viewer": GraphQLField(VIEWER, resolve=lambda *_: {})}),
    directives=[*specified_directives, GraphQLDeferDirective, GraphQLStreamDirective],
)


async def written(query: str) -> list[dict[str, Any]]:
    """graphql-core's frames, formatted as strawberry's view hands them over, then `Parts`."""
    results = experimental_execute_incrementally(SCHEMA, parse(query))
    if asyncio.iscoroutine(results):
        results = await results
    parts = Parts()
    frames = [parts.frame(results.initial_result.formatted)]  # type: ignore[union-attr]
    async for later in results.subsequent_results:  # type: ignore[union-attr]
        frames.append(parts.frame(later.formatted))
    return frames


async def test_a_deferred_fragment_that_fails_as_a_whole_is_null_with_its_errors() -> None:
    first, last = await written('{ viewer { ok ... @defer(label: "b") { broken } } }')
    assert first == {"data": {"viewer": {"ok": "ok"}}, "hasNext": True}
    [entry] = last["incremental"]
    assert (entry["data"], entry["path"], entry["label"]) == (None, ["viewer"], "b")
    assert [e["path"] for e in entry["errors"]] == [["viewer", "broken"]]
    assert last["hasNext"] is False and set(last) == {"incremental", "hasNext"}


async def test_streamed_items_carry_their_index_in_the_list() -> None:
    first, *later = await written('{ viewer { items @stream(initialCount: 1, label: "s") } }')
    assert first["data"] == {"viewer": {"items": ["a"]}}
    entries = [e for frame in later for e in frame.get("incremental", [])]
    placed = {}
    for entry in entries:
        *path, index = entry["path"]
        assert path == ["viewer", "items"] and entry["label"] == "s"
        for offset, item in enumerate(entry["items"]):
            placed[index + offset] = item
    assert placed == {1: "b", 2: "c"}
    assert later[-1]["hasNext"] is False


def test_the_declared_directives_read_as_graphql_cores_executor_reads_them() -> None:
    """The schema prints the frontends' definitions; the executor reads values with its own."""
    for ours, core in ((DEFER, GraphQLDeferDirective), (STREAM, GraphQLStreamDirective)):
        assert ours.name == core.name and ours.locations == core.locations
        assert {n: a.default_value for n, a in ours.args.items()} == {
            n: a.default_value for n, a in core.args.items()
        }
