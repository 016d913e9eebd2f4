"""Client CPU per back-end exchange, per HTTP client, at several concurrencies.

    python -m bench.transport [--requests 2000] [--concurrency 1,20,50]

Starts the CRM mock as its own process and, for each candidate client, sends the same GET (a
client record, ~1 KB of JSON) `--requests` times with `--concurrency` exchanges in flight, then
prints the CPU this process spent per exchange (user+sys, so the mock's CPU is not counted). A
client whose cost grows with the number of open connections shows it in the last columns.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
import uvloop

from gateway.adapters.transport.egress import Client, Egress
from mocks.processes import free_port, process

PATH = "/crm/api/clients/C0001003"
HEADERS = {"Authorization": "Bearer dev-crm-token"}
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=50)

Get = Callable[[], Awaitable[int]]


class HttpxCore:
    """httpx.AsyncClient over its own pool (httpcore + h11 + anyio): the gateway before issue 12."""

    name = "httpx (httpcore)"

    def __init__(self, base: str) -> None:
        transport = httpx.AsyncHTTPTransport(limits=LIMITS, retries=0)
        self.client = httpx.AsyncClient(base_url=base, transport=transport, headers=HEADERS)

    async def get(self) -> int:
        response = await self.client.get(PATH, timeout=2)
        return len(response.content)

    async def close(self) -> None:
        await self.client.aclose()


class Aiohttp:
    """aiohttp.ClientSession directly, as its documentation shows it (a timeout per request)."""

    name = "aiohttp"

    def __init__(self, base: str) -> None:
        connector = aiohttp.TCPConnector(limit=100)
        self.session = aiohttp.ClientSession(base, connector=connector, headers=HEADERS)

    async def get(self) -> int:
        async with self.session.get(PATH, timeout=aiohttp.ClientTimeout(total=2)) as response:
            return len(await response.read())

    async def close(self) -> None:
        await self.session.close()


class Gateway:
    """The gateway's back-end client (gateway/adapters/transport/egress.py): aiohttp, one session,
    no per-request timer, answers read whole."""

    name = "gateway egress"

    def __init__(self, base: str) -> None:
        self.client = Client(base, HEADERS, egress=Egress(max_connections=100))

    async def get(self) -> int:
        response = await self.client.request("GET", PATH)
        return len(response.content)

    async def close(self) -> None:
        await self.client.aclose()


CLIENTS: list[Any] = [HttpxCore, Aiohttp, Gateway]


async def cpu_per_exchange(get: Get, requests: int, concurrency: int) -> tuple[float, float]:
    """(CPU ms per exchange, exchanges per second) of `requests` exchanges, `concurrency` at a time."""
    for _ in range(min(concurrency, 20) * 2):  # warm the pool
        await get()
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await get()

    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return 1000 * cpu / requests, requests / wall


async def main(args: argparse.Namespace) -> None:
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with process(["-m", "mocks", "crm", "--port", str(port)], [base + "/_admin/faults"]):
        print(
            f"GET {PATH} on the CRM mock, {args.requests} exchanges per cell; CPU ms per exchange"
        )
        print(f"{'client':<24}" + "".join(f"{'c=' + str(c):>12}" for c in concurrencies))
        for kind in CLIENTS:
            cells = []
            for concurrency in concurrencies:
                client = kind(base)
                try:
                    cpu, _ = await cpu_per_exchange(client.get, args.requests, concurrency)
                finally:
                    await client.close()
                cells.append(f"{cpu:12.3f}")
            print(f"{kind.name:<24}" + "".join(cells), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.transport", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", default="1,20,50")
    uvloop.run(main(parser.parse_args()))  # the event loop uvicorn runs the gateway on
