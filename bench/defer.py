"""The HomePage with a slow éditique: time to the first payload with `@defer` (HomePageDeferred,
`multipart/mixed;deferSpec=20220824`) against the same page without it (HomePage, one JSON answer).

    python -m bench.defer [--editique-ms 900] [--runs 20] [--persona C0001002]

A real gateway (uvicorn, cache off: every request asks éditique) over real mock processes; only
éditique is slowed. Printed per page: median and p95 of the time to the first payload (the first
part, or the whole JSON answer), and of the time to the last byte.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import httpx

from bench.__main__ import ANCHOR, OPERATIONS, token
from mocks.processes import free_port, mock_servers, pointing_at, process

MULTIPART = "multipart/mixed;deferSpec=20220824, application/json"


async def timed(
    http: httpx.AsyncClient, query: str, bearer: str, accept: str
) -> tuple[float, float]:
    """(seconds to the first payload, seconds to the end of the answer)."""
    started = time.perf_counter()
    first = None
    seen = b""
    headers = {"Authorization": f"Bearer {bearer}", "Accept": accept}
    async with http.stream("POST", "/graphql", json={"query": query}, headers=headers) as answer:
        parts = answer.headers["content-type"].startswith("multipart/mixed")
        async for chunk in answer.aiter_bytes():
            seen += chunk
            # a part is complete at its closing boundary (as Apollo Client and urql read it)
            if first is None and (not parts or seen.count(b"\r\n---") >= 1):
                first = time.perf_counter() - started
        assert answer.status_code == 200 and b'"errors"' not in seen, seen[:500]
    end = time.perf_counter() - started
    return (first if first is not None else end), end


def row(name: str, samples: list[tuple[float, float]]) -> str:
    def stats(values: list[float]) -> str:
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        return f"{statistics.median(values) * 1000:7.0f} {p95 * 1000:7.0f}"

    firsts, ends = [f for f, _ in samples], [e for _, e in samples]
    return f"{name:<34} {stats(firsts)}   {stats(ends)}"


async def main(args: argparse.Namespace) -> None:
    with mock_servers() as urls:
        env = {
            **pointing_at(urls),
            "GATEWAY_TODAY": ANCHOR,
            "GATEWAY_CACHE": "false",
            "GATEWAY_RATE_LIMIT_CLIENT": "1000000/second",
            "GATEWAY_RATE_LIMIT_IP": "1000000/second",
        }
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with process(
            ["-m", "gateway", "serve", "--port", str(port), "--no-access-log"],
            [base + "/healthz"],
            env=env,
        ):
            bearer = token(args.persona, env)
            pages = {
                "HomePage (one JSON answer)": (
                    (OPERATIONS / "HomePage.graphql").read_text("utf-8"),
                    "application/json",
                ),
                "HomePageDeferred (@defer, parts)": (
                    (OPERATIONS / "live" / "HomePageDeferred.graphql").read_text("utf-8"),
                    MULTIPART,
                ),
            }
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                for query, accept in pages.values():  # warm connections and caches of documents
                    await timed(http, query, bearer, accept)
                faults = {"latency_ms": args.editique_ms}
                (
                    await http.put(urls["editique"] + "/_admin/faults", json=faults)
                ).raise_for_status()
                print(
                    f"éditique at {args.editique_ms} ms, other systems unslowed; {args.runs} runs "
                    f"each, persona {args.persona}, cache off"
                )
                print(f"{'page':<34} {'first payload ms':>15}   {'last byte ms':>15}")
                print(f"{'':<34} {'median':>7} {'p95':>7}   {'median':>7} {'p95':>7}")
                samples: dict[str, list[tuple[float, float]]] = {name: [] for name in pages}
                for _ in range(args.runs):  # interleaved: both pages see the same machine
                    for name, (query, accept) in pages.items():
                        samples[name].append(await timed(http, query, bearer, accept))
                for name, values in samples.items():
                    print(row(name, values))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.defer", description=__doc__)
    parser.add_argument("--editique-ms", type=int, default=900)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--persona", default="C0001002")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
