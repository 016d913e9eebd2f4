"""Figures for the closing note: how long each hostile document takes to be refused.

    .venv/bin/python -m tests.support.hostile_timings

Each document goes through the schema as a request would (cached parse within the limits, then
the validation with the limits rule), default limits unless said; median and worst of 9 cold
runs (parse and validation caches cleared before each; the machine is shared: the worst is noisy).
"""

from __future__ import annotations

import asyncio
import time

from strawberry.extensions.validation_cache import DEFAULT_MAXSIZE, _get_validate_cache

from gateway.engine.fastpath.parse_cache import cached_parse
from gateway.engine.operation_limits import Limits
from gateway.engine.schema import build_schema
from tests.support import hostile

CASES = [
    *((f"fragment fan-out {n}", Limits(), hostile.fragment_fanout(n)) for n in (18, 24, 30)),
    ("80 000 __typename aliases", Limits(), hostile.typename_aliases(80_000)),
    ("__typename aliases up to the token limit", Limits(), hostile.typename_aliases(332)),
    ("1 000 conflicting fields", Limits(), hostile.conflicting_fields(1_000)),
    (
        "1 000 conflicting fields, 100 000 tokens allowed",
        Limits(max_tokens=100_000),
        hostile.conflicting_fields(1_000),
    ),
    ("1 MB query", Limits(), hostile.megabyte_query(1_000_000)),
    ("1 000 reglement(id) aliases", Limits(), hostile.reglement_aliases(1_000)),
    (
        "1 000 reglement(id) aliases, 100 000 tokens allowed",
        Limits(max_tokens=100_000),
        hostile.reglement_aliases(1_000),
    ),
    ("depth 14 through fragments", Limits(), hostile.deep_through_fragments(3)),
]


async def main() -> None:
    worst = 0.0
    for name, limits, query in CASES:
        schema = build_schema(limits=limits)
        times = []
        for _ in range(9):
            cached_parse.cache_clear()
            _get_validate_cache(DEFAULT_MAXSIZE).cache_clear()
            started = time.perf_counter()
            result = await schema.execute(query)
            times.append(time.perf_counter() - started)
        refusals = [
            f"{(e.extensions or {}).get('code')}"
            + (
                f" {e.extensions['limit']}={e.extensions['value']}"
                if e.extensions and "limit" in e.extensions
                else ""
            )
            for e in result.errors or []
        ]
        if limits == Limits():
            worst = max(worst, sorted(times)[len(times) // 2])
        median = sorted(times)[len(times) // 2]
        print(
            f"{median * 1000:7.1f} ms (worst {max(times) * 1000:6.1f})  {name}: {', '.join(refusals)}"
        )
    print(f"worst median with the default limits: {worst * 1000:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
