"""A page's objects are freed when it is answered, by reference counting: none is left in a
reference cycle for the garbage collector to find. (graphql-core's executor referred to itself,
and the contract loader to its owner: every page's context, loaders, futures and records waited
for a collector pass; with the collector off, 30 s of load left 380 MB behind.)"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.fast_paths import only_with_fast_paths
from tests.support.gateway import PERSONAS, Gateway

OURS = ("gateway", "graphql", "strawberry", "starlette")


@contextmanager
def unreachable() -> Iterator[list[object]]:
    """The objects that become garbage in reference cycles within the block."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    found: list[object] = []
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


@only_with_fast_paths  # the executor's weak references (fastpath/direct.py)
async def test_pages_leave_nothing_for_the_garbage_collector(gateway: Gateway) -> None:
    pages = [
        ("HomePage", PERSONAS["paul"]),
        ("HomePage", PERSONAS["brico"]),
        ("Profile", PERSONAS["chris"]),
        ("Documents", PERSONAS["paul"]),
        ("Demandes", PERSONAS["geralt"]),
    ]
    for name, persona in pages:  # first visits fill caches and plans: not what is measured
        await gateway.run(name, as_=persona)
    with unreachable() as garbage:
        for name, persona in pages:
            body = await gateway.run(name, as_=persona)
            assert "errors" not in body, body
    ours = sorted(
        {
            type(o).__module__ + "." + type(o).__qualname__
            for o in garbage
            if type(o).__module__.startswith(OURS)
        }
    )
    assert ours == []
