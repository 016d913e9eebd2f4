"""Signed-in home pages asked over real HTTP while the shared store is made to fail, counted."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from mocks.processes import free_port, mock_servers, pointing_at, process
from tests.support.accounts import PASSWORDS
from tests.support.gateway import TODAY, operation

CUSTOMERS = ["geralt.riviere@example.fr", "chris.martin@example.fr", "paul.bertrand@example.fr"]


@dataclass
class Pages:
    served: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("inf")

    def figures(self) -> str:
        return f"{self.served} served, {len(self.failed)} failed, p50 {self.p50 * 1000:.0f} ms"


async def run(http: httpx.AsyncClient, name: str, variables: Any = None, token: str = "") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql", json={"query": operation(name), "variables": variables}, headers=headers
    )
    return response.json()


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


async def sign_in(http: httpx.AsyncClient) -> list[dict[str, str]]:
    sessions = []
    for who in CUSTOMERS:
        body = await run(
            http, "accounts/Login", {"input": {"login": who, "password": PASSWORDS[who]}}
        )
        assert body["data"]["login"]["userErrors"] == [], body
        sessions.append(body["data"]["login"]["session"])
    return sessions


async def pages_for(http: httpx.AsyncClient, tokens: list[str], seconds: float) -> Pages:
    """Home pages asked in turn by every signed-in customer, one after the other, `seconds` long."""
    pages = Pages()
    deadline = time.monotonic() + seconds

    async def customer(token: str) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                body = await run(http, "HomePage", token=token)
            except httpx.HTTPError as error:
                pages.failed.append(type(error).__name__)
                continue
            pages.seconds.append(time.perf_counter() - started)
            if "errors" in body or not body.get("data"):
                pages.failed.append(",".join(map(str, codes(body))) or "no data")
            else:
                pages.served += 1

    await asyncio.gather(*(customer(token) for token in tokens))
    return pages


@contextmanager
def gateway_over_http(env: dict[str, str]) -> Iterator[str]:
    """A gateway process (its URL), its back-ends mock processes, `env` its Redis settings."""
    with mock_servers() as urls:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **pointing_at(urls),
            "GATEWAY_TODAY": TODAY.isoformat(),
            "GATEWAY_ACCESS_LOG": "false",
            **env,
        }
        with process(["-m", "gateway", "serve", "--port", str(port)], [f"{url}/healthz"], env=env):
            yield url
