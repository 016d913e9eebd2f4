"""The cross-request cache: fewer back-end calls, one call per concurrent miss, never a leak."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.adapters.transport.cache import ResponseCache
from gateway.schema.ids import to_global
from tests.support.gateway import PERSONAS, Gateway, codes


async def test_a_second_home_page_is_served_mostly_from_the_cache(gateway: Gateway) -> None:
    await gateway.clear_calls()
    first = await gateway.run("HomePage", as_=PERSONAS["geralt"])
    cold = sum(gateway.calls().values())
    for mock in gateway.mocks.values():
        mock.log.clear()
    second = await gateway.run("HomePage", as_=PERSONAS["geralt"])
    strip = lambda body: str(body).split("downloadUrl")[0]  # noqa: E731
    assert strip(first) == strip(second) and cold == 6 and sum(gateway.calls().values()) == 0
    assert gateway.app.state.services.backends.cache.hit_ratio > 0.4


async def test_a_cached_entry_of_one_person_is_never_served_to_another(gateway: Gateway) -> None:
    chris_home = await gateway.run(
        "ContractPage", {"id": to_global("Contract", "596054210")}, as_=PERSONAS["chris"]
    )
    assert chris_home["data"]["contract"]["number"] == "596054210"
    for persona in ("geralt", "paul", "brico"):
        stolen = await gateway.run(
            "ContractPage", {"id": to_global("Contract", "596054210")}, as_=PERSONAS[persona]
        )
        assert stolen["data"]["contract"] is None and codes(stolen) == ["NOT_FOUND"]
        own = (await gateway.run("HomePage", as_=PERSONAS[persona]))["data"]["viewer"]
        assert "596054210" not in str(own) and "Chris" not in str(own)


async def test_concurrent_misses_make_one_backend_call(gateway: Gateway) -> None:
    await gateway.clear_calls()
    bodies = await asyncio.gather(
        *(gateway.run("Profile", as_=PERSONAS["paul"]) for _ in range(10))
    )
    assert all("errors" not in b for b in bodies)
    assert gateway.mocks["crm"].log.counts["GET /crm/api/clients/{clientId}"] == 1


class Broken:
    """A cache store that is down."""

    namespace = ""

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("redis down")

    set = delete = multi_get = multi_set = get

    async def close(self) -> None:
        return None


async def test_a_failing_cache_is_a_miss_not_an_error() -> None:
    cache = ResponseCache(Broken())  # type: ignore[arg-type]
    calls = []

    async def load() -> dict[str, int]:
        calls.append(1)
        return {"n": len(calls)}

    assert await cache.fetch("k", 10, load) == {"n": 1}
    assert await cache.fetch("k", 10, load) == {"n": 2}
    assert await cache.fetch_many(["a", "b"], 10, lambda keys: _values(keys)) == {
        "a": "A",
        "b": "B",
    }


async def _values(keys: list[str]) -> dict[str, str]:
    return {k: k.upper() for k in keys}


async def test_the_memory_cache_is_bounded_by_bytes() -> None:
    cache = ResponseCache.build(None, max_bytes=10_000)
    for i in range(40):  # ~1 KB each: 40 KB offered to a 10 KB cache
        await cache.fetch(f"k{i}", 60, lambda i=i: _const({"blob": "x" * 800, "i": i}))  # type: ignore[misc]
    store = cache.store
    assert 5 <= len(store) <= 10 and store.size_bytes <= 10_000
    assert await store.get("k0") is None and (await cache.fetch("k39", 60, _never))["i"] == 39


async def _never() -> Any:
    raise AssertionError("should have been a hit")


async def _const(value: Any) -> Any:
    return value


async def test_none_answers_are_cached_too(gateway: Gateway) -> None:
    cache = gateway.app.state.services.backends.cache
    loads = []

    async def missing() -> None:
        loads.append(1)

    await cache.fetch("nothing", 60, missing)
    await cache.fetch("nothing", 60, missing)
    assert loads == [1]


async def test_a_disabled_cache_stores_nothing() -> None:
    cache = ResponseCache.disabled()
    loads = []

    async def load() -> int:
        loads.append(1)
        return len(loads)

    assert [await cache.fetch("k", 60, load) for _ in range(3)] == [1, 2, 3]
    assert await cache.store.get("k") is None and (cache.hits, cache.misses) == (0, 0)
