"""HTTP transport to one legacy system: a pooled httpx client over the network or in process,
with the system's resilience (`Guard`) and the shared answer cache.

The same adapter code runs against a real server (`POLICY_ADMIN_URL=http://…`) or an in-process
mock (`httpx.ASGITransport`): only the transport differs. Every failure below HTTP becomes a
`BackendError` naming the system; nothing of the URL or credentials reaches a client.

Adapters describe one attempt (`attempt(budget_s) -> JSON-able value`) and choose:
`read(key, ttl, attempt)` for idempotent reads (cached when `key` is set, retried) or
`write(attempt)` for changes (one attempt, never retried blindly).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
import orjson

from ..errors import BackendRejected, BackendTimeout, BackendUnavailable
from ..telemetry import HealthWindow, backend_call
from .cache import ResponseCache
from .resilience import Guard

T = TypeVar("T")
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=50)
Attempt = Callable[[float], Awaitable[T]]


def query_key(path: str, params: Mapping[str, Any] | None = None) -> str:
    """The cache key of a GET: the resource path and its sorted query."""
    return f"GET {path}" + (f"?{urlencode(sorted(params.items()))}" if params else "")


def json_answer(response: httpx.Response, backend: str) -> Any:
    """The JSON of a 200; None for a 404; BackendUnavailable for a 5xx or an unreadable body;
    BackendRejected for any other status (the system answered: it is up, the request was wrong)."""
    if response.status_code == 404:
        return None
    if response.status_code >= 500:
        raise BackendUnavailable(backend)
    if response.status_code != 200:
        raise BackendRejected(backend)
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise BackendUnavailable(backend) from None


class Transport:
    def __init__(
        self,
        backend: str,
        client: httpx.AsyncClient,
        guard: Guard,
        cache: ResponseCache,
        health: HealthWindow | None = None,
    ) -> None:
        self.backend = backend
        self.client = client
        self.guard = guard
        self.cache = cache
        self.health = health  # recent exchanges of this system (the backendHealth dashboard)

    @classmethod
    def build(
        cls,
        backend: str,
        base_url: str | None,
        app: Any,
        *,
        guard: Guard,
        cache: ResponseCache,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
        health: HealthWindow | None = None,
    ) -> Transport:
        """Over HTTP when `base_url` is set, else to the in-process ASGI `app`."""
        transport: httpx.AsyncBaseTransport
        if base_url:
            transport = httpx.AsyncHTTPTransport(limits=LIMITS, retries=0)
        else:
            transport = httpx.ASGITransport(app=app)
            base_url = f"http://{backend}.in-process"
        client = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(guard.attempt_timeout_s),
            follow_redirects=False,
        )
        return cls(backend, client, guard, cache, health)

    async def send(self, method: str, path: str, budget: float, **kwargs: Any) -> httpx.Response:
        """One HTTP exchange that may take at most `budget` seconds."""
        # observability (span, traceparent, metrics, timings): one hook around the exchange
        with backend_call(self.backend, method, path, kwargs.get("headers"), self.health) as call:
            kwargs["headers"] = call.headers
            try:
                async with asyncio.timeout(budget):
                    response = await self.client.request(method, path, timeout=budget, **kwargs)
            except (TimeoutError, httpx.TimeoutException):
                raise BackendTimeout(self.backend) from None
            except httpx.TransportError:
                raise BackendUnavailable(self.backend) from None
            call.answered(response.status_code)
            return response

    async def get(
        self,
        path: str,
        ttl: float,
        params: Mapping[str, Any] | None = None,
        answer: Callable[[httpx.Response], Any] | None = None,
    ) -> Any:
        """A cached, retried GET of a JSON resource; `answer` reads the response (default: `json_answer`)."""

        async def attempt(budget: float) -> Any:
            response = await self.send("GET", path, budget, params=params)
            return answer(response) if answer else json_answer(response, self.backend)

        return await self.read(query_key(path, params), ttl, attempt)

    async def read(
        self,
        key: str | None,
        ttl: float,
        attempt: Attempt[T],
        attempt_timeout_s: float | None = None,
    ) -> T:
        if key is None:
            return await self.guard.read(attempt, attempt_timeout_s)
        result: T = await self.cache.fetch(
            f"{self.backend} {key}", ttl, lambda: self.guard.read(attempt)
        )
        return result

    async def read_many(
        self, keys: list[str], ttl: float, attempt: Callable[[list[str]], Attempt[dict[str, Any]]]
    ) -> dict[str, Any]:
        """Cached answers for many resources; the missing ones in one retried read."""
        prefixed = {f"{self.backend} {key}": key for key in keys}

        async def load(missing: list[str]) -> dict[str, Any]:
            loaded = await self.guard.read(attempt([prefixed[k] for k in missing]))
            return {f"{self.backend} {key}": value for key, value in loaded.items()}

        found = await self.cache.fetch_many(list(prefixed), ttl, load)
        return {prefixed[k]: v for k, v in found.items()}

    async def write(self, attempt: Attempt[T]) -> T:
        return await self.guard.once(attempt)

    async def forget(self, *keys: str) -> None:
        await self.cache.invalidate(*(f"{self.backend} {key}" for key in keys))

    async def close(self) -> None:
        await self.client.aclose()
