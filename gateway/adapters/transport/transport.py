"""HTTP transport to one legacy system: an aiohttp session over the network (`egress.Client`), or
an httpx client to an in-process mock, with the system's resilience (`Guard`) and the shared
answer cache.

The same adapter code runs against a real server (`POLICY_ADMIN_URL=https://…`: `egress.Client`,
with the system's TLS, proxy and limits) or an in-process mock (`httpx.ASGITransport`): only the
sender differs, and both hand the adapters an `Answer` (status, headers, body). Every failure below
HTTP becomes a `BackendError` naming the system; its cause (certificate, dns, refused…) goes to the
logs and metrics (`backend_calls`), never to a client, nor anything of the URL or credentials.

Adapters describe one attempt (`attempt(budget_s) -> JSON-able value`) and choose:
`read(key, ttl, attempt)` for idempotent reads (cached when `key` is set, retried) or
`write(attempt)` for changes (one attempt, never retried blindly).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

import httpx
import orjson

from gateway.adapters.transport.cache import ResponseCache
from gateway.adapters.transport.egress import Client, Egress, ExchangeFailed
from gateway.adapters.transport.resilience import Guard, attempt_timeout
from gateway.errors import BackendRejected, BackendTimeout, BackendUnavailable
from gateway.observability.backend_calls import backend_call
from gateway.observability.health import HealthWindow

T = TypeVar("T")
Attempt = Callable[[float], Awaitable[T]]


class Answer(Protocol):
    """What adapters read of an HTTP answer (an `httpx.Response` in process, an `egress.Reply` over
    the network)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...  # case-insensitive names
    @property
    def content(self) -> bytes: ...
    def json(self) -> Any: ...


def query_key(path: str, params: Mapping[str, Any] | None = None) -> str:
    """The cache key of a GET: the resource path and its sorted query."""
    return f"GET {path}" + (f"?{urlencode(sorted(params.items()))}" if params else "")


def json_answer(response: Answer, backend: str) -> Any:
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
        client: httpx.AsyncClient | Client,
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
        egress: Egress | None = None,
    ) -> Transport:
        """Over the network (`egress.Client`, with `egress`'s TLS and limits) when `base_url` is
        set, else to the in-process ASGI `app` (httpx).

        `auth` is applied the same way on both: a fixed header (HTTP Basic) computed once."""
        if base_url:
            fixed = dict(headers or {})
            if auth is not None:
                probe = next(auth.sync_auth_flow(httpx.Request("GET", base_url)))
                fixed["Authorization"] = probe.headers["Authorization"]
            sender = Client(base_url, fixed, egress=egress)
            return cls(backend, sender, guard, cache, health)
        client = httpx.AsyncClient(
            base_url=f"http://{backend}.in-process",
            transport=httpx.ASGITransport(app=app),
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(guard.attempt_timeout_s),
            follow_redirects=False,
        )
        return cls(backend, client, guard, cache, health)

    async def send(self, method: str, path: str, budget: float, **kwargs: Any) -> Answer:
        """One HTTP exchange that may take at most `budget` seconds of the back-end's time (time
        the event loop itself ran late is not counted, up to the request deadline)."""
        # observability (span, traceparent, metrics, timings): one hook around the exchange
        with backend_call(self.backend, method, path, kwargs.get("headers"), self.health) as call:
            kwargs["headers"] = call.headers
            try:
                async with attempt_timeout(budget):
                    response = await self.client.request(method, path, **kwargs)
            except (TimeoutError, httpx.TimeoutException):
                call.failed("timeout", "no answer within the attempt's budget")
                raise BackendTimeout(self.backend) from None
            except ExchangeFailed as error:
                call.failed(error.cause, error.detail)
                raise BackendUnavailable(self.backend) from None
            except httpx.TransportError as error:  # an in-process mock: no network below
                call.failed("other", type(error).__name__)
                raise BackendUnavailable(self.backend) from None
            call.answered(response.status_code)
            return response

    async def get(
        self,
        path: str,
        ttl: float,
        params: Mapping[str, Any] | None = None,
        answer: Callable[[Answer], Any] | None = None,
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
