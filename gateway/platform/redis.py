"""The one way the gateway opens Redis: one client per process, shared by the answer cache
(aiocache is handed it), the shared store and the rate limits (`limits` is handed its pool).

    shared = SharedRedis.from_settings(settings)        # None without GATEWAY_REDIS_URL
    record = await shared.call(lambda: shared.client.get("key"))

Where the client connects, from the settings:

* `GATEWAY_REDIS_URL`: `redis://` or `rediss://` (TLS), an ACL user and its password in the URL
  (`rediss://gateway:secret@redis.internal:6380/0`), the database in the path;
* TLS: `GATEWAY_REDIS_CA_FILE` (the CA that signed the server's certificate; the system's when
  unset), `GATEWAY_REDIS_CERT_FILE` and `GATEWAY_REDIS_KEY_FILE` (a client certificate, when the
  server asks for one); the server's name is checked;
* Sentinel: with `GATEWAY_REDIS_SENTINELS=host:port,…` the primary of
  `GATEWAY_REDIS_SENTINEL_SERVICE` is asked of the sentinels, and asked again after a fail-over;
  the URL then gives only the scheme, the user, the password and the database (its host is not
  used). The sentinels are reached the same way (TLS, timeouts), without the ACL user.

How it behaves when Redis does not:

* every connection attempt and every socket operation is bounded (`GATEWAY_REDIS_TIMEOUT_S`,
  `GATEWAY_REDIS_CONNECT_TIMEOUT_S`), and `call` bounds the whole command the same way, in its own
  task (a client closing a socket to a stopped server may take longer than the bound);
* a failed call opens the circuit for `GATEWAY_REDIS_CIRCUIT_S`: the store and the rate limits
  then do not ask Redis at all (`RedisUnreachable` at once), and one call after that delay probes
  it again, the others still answered at once until the probe succeeds;
* a connection idle for `HEALTH_CHECK_S` is pinged before it is used again, so a Redis restarted
  fails one ping, not the caller's command;
* a command waits for one of `GATEWAY_REDIS_POOL_SIZE` connections instead of being refused
  (behind Sentinel, redis-py's pool refuses past its size);
* answers are bytes (`decode_responses=False`): the store's records are orjson, read from bytes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse

import structlog
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.sentinel import Sentinel

from gateway.settings import Settings

log = structlog.get_logger("gateway.redis")
HEALTH_CHECK_S = 30
T = TypeVar("T")


class RedisUnreachable(Exception):
    """Redis did not answer within the bound, refused, answered an error, or its circuit is open."""


class CircuitOpen(RedisUnreachable):
    """Redis failed a moment ago: not asked (see `Circuit`)."""


@dataclass(frozen=True)
class RedisOptions:
    """Where and how to reach Redis (from the settings, or a bare URL in tests and tools)."""

    url: str
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_service: str = "mymaster"
    pool_size: int = 256
    timeout_s: float = 0.25
    connect_timeout_s: float = 0.25
    circuit_s: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RedisOptions | None:
        if not settings.redis_url:
            return None
        return cls(
            url=settings.redis_url,
            ca_file=settings.redis_ca_file,
            cert_file=settings.redis_cert_file,
            key_file=settings.redis_key_file,
            sentinels=settings.redis_sentinel_addresses,
            sentinel_service=settings.redis_sentinel_service,
            pool_size=settings.redis_pool_size,
            timeout_s=settings.redis_timeout_s,
            connect_timeout_s=settings.redis_connect_timeout_s,
            circuit_s=settings.redis_circuit_s,
        )

    @property
    def tls(self) -> bool:
        return urlparse(self.url).scheme == "rediss"

    def connection_kwargs(self) -> dict[str, Any]:
        """What every connection is opened with: bounds, and TLS for `rediss://`."""
        kwargs: dict[str, Any] = {
            "socket_timeout": self.timeout_s,
            "socket_connect_timeout": self.connect_timeout_s,
            "health_check_interval": HEALTH_CHECK_S,
            "decode_responses": False,
        }
        if self.tls:
            kwargs.update(
                ssl_cert_reqs="required",
                ssl_check_hostname=True,
                ssl_ca_certs=self.ca_file,
                ssl_certfile=self.cert_file,
                ssl_keyfile=self.key_file,
            )
        return kwargs

    def client(self) -> Redis:
        """A new client (with its own pool): the process's shared one is `SharedRedis.client`."""
        if self.sentinels:
            return self._through_sentinels()
        pool = BlockingConnectionPool.from_url(
            self.url,
            max_connections=self.pool_size,
            timeout=None,  # waits for a connection; every call is bounded by `SharedRedis.call`
            **self.connection_kwargs(),
        )
        return Redis(connection_pool=pool)

    def _through_sentinels(self) -> Redis:
        parsed = urlparse(self.url)
        db = parsed.path.lstrip("/")
        sentinel_kwargs = self.connection_kwargs()
        sentinel_kwargs.pop("health_check_interval")
        if self.tls:
            sentinel_kwargs["ssl"] = True
        primary_kwargs = self.connection_kwargs()
        if self.tls:
            primary_kwargs["ssl"] = True
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            list(self.sentinels),
            sentinel_kwargs=sentinel_kwargs,
            username=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            db=int(db) if db.isdigit() else 0,
            max_connections=self.pool_size,
            **primary_kwargs,
        )
        client: Redis = sentinel.master_for(self.sentinel_service)
        return client


class Circuit:
    """Remembers for `open_s` that Redis failed, so that callers do not each wait to learn it."""

    def __init__(self, open_s: float) -> None:
        self.open_s = open_s
        self.open_until = 0.0
        self.refused = 0  # calls answered at once while open

    def allows(self) -> bool:
        now = time.monotonic()
        if now < self.open_until:
            self.refused += 1
            return False
        if self.open_until:  # was open: this call probes, the others wait for its outcome
            self.open_until = now + self.open_s
        return True

    def failed(self) -> None:
        self.open_until = time.monotonic() + self.open_s

    def succeeded(self) -> None:
        self.open_until = 0.0

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self.open_until


def _forget(task: asyncio.Future[Any]) -> None:
    """Retrieve an abandoned call's outcome (no "exception was never retrieved")."""
    if not task.cancelled():
        task.exception()


@dataclass(frozen=True)
class SharedRedis:
    """The process's one Redis client, and the circuit every caller on the request path shares."""

    options: RedisOptions
    client: Redis
    circuit: Circuit = field(compare=False)

    @classmethod
    def from_options(cls, options: RedisOptions) -> SharedRedis:
        return cls(options, options.client(), Circuit(options.circuit_s))

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SharedRedis:
        return cls.from_options(RedisOptions(url, **options))

    @classmethod
    def from_settings(cls, settings: Settings) -> SharedRedis | None:
        options = RedisOptions.from_settings(settings)
        return cls.from_options(options) if options else None

    @property
    def timeout_s(self) -> float:
        return self.options.timeout_s

    async def call(self, work: Callable[[], Awaitable[T]], timeout_s: float | None = None) -> T:
        """`work()` bounded by `timeout_s` (the socket timeout by default), through the circuit;
        `RedisUnreachable` when it fails in any way or the circuit is open."""
        if not self.circuit.allows():
            raise CircuitOpen()
        task = asyncio.ensure_future(work())
        done, _ = await asyncio.wait({task}, timeout=timeout_s or self.options.timeout_s)
        if not done:
            task.cancel()
            task.add_done_callback(_forget)
            self._failed("timed out")
            raise RedisUnreachable("timed out")
        error = task.exception()
        if error is not None:
            self._failed(f"{type(error).__name__}: {error}")
            raise RedisUnreachable(f"{type(error).__name__}: {error}") from error
        self.circuit.succeeded()
        return task.result()

    def _failed(self, cause: str) -> None:
        """Open the circuit; the cause (certificate, refused, wrong password…) in the log, once
        per opening."""
        log.warning("redis_unreachable", cause=cause[:300], circuit_s=self.options.circuit_s)
        self.circuit.failed()

    async def close(self) -> None:
        await self.client.aclose()


def redis_client(url: str, timeout_s: float = 0.25) -> Redis:
    """A client of the Redis at `url` alone (tools and tests; the gateway shares `SharedRedis`)."""
    return RedisOptions(url, timeout_s=timeout_s, connect_timeout_s=timeout_s).client()
