"""Redis over TLS with a client certificate and an ACL user, through the one factory: the answer
cache, the shared store and the rate limits all work on the one client, and a wrong CA, a missing
client certificate or a wrong password fail clearly (typed, with the cause in the log)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.adapters.transport.cache import ResponseCache
from gateway.platform.rate_limiter import RateLimits, TooManyRequests
from gateway.platform.redis import SharedRedis
from gateway.platform.store import StoreUnavailable, build_store
from gateway.settings import Settings
from tests.support.redis import ACL_PASSWORD, ACL_USER, TlsRedis, needs_redis, tls_redis_server

pytestmark = needs_redis


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    with tls_redis_server(tmp_path_factory.mktemp("redis-tls")) as server:
        yield server


def settings_for(server: TlsRedis, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "redis_url": server.url,
        "redis_ca_file": server.ca_file,
        "redis_cert_file": server.cert_file,
        "redis_key_file": server.key_file,
        "redis_timeout_s": 2.0,  # a loaded test machine: the bound is not what is tested here
        "redis_connect_timeout_s": 2.0,
    }
    return Settings(**{**fields, **overrides})


async def value(v: Any) -> Any:
    return v


async def test_cache_store_and_rate_limits_work_over_tls_with_an_acl_user(
    tls_redis: TlsRedis,
) -> None:
    shared = SharedRedis.from_settings(settings_for(tls_redis))
    assert shared is not None
    store = build_store(shared)
    limits = RateLimits.build(shared)
    cache = ResponseCache.build(shared, timeout_s=2.0)
    try:
        assert await store.put("idem:tls", {"state": "DONE"}, ttl=60, only_if_absent=True)
        assert await store.get("idem:tls") == {"state": "DONE"}
        await limits.hit("2/minute", "tls", "someone")
        await limits.hit("2/minute", "tls", "someone")
        with pytest.raises(TooManyRequests):
            await limits.hit("2/minute", "tls", "someone", fail_open=False)
        assert limits.refusals == 1  # counted in Redis, not failed closed
        await cache.fetch("crm GET /tls", 60, lambda: value({"n": 1}))
        for task in list(cache.background):
            await task
        assert await cache.fetch("crm GET /tls", 60, lambda: value({"n": 2})) == {"n": 1}
        assert cache.hits == 1 and cache.errors == 0
        # one connection pool for the three of them: the same client, the same ACL user
        assert await shared.client.acl_whoami() == ACL_USER
        assert cache.store.client is shared.client
        bridge = limits.storage.bridge  # type: ignore[attr-defined]
        assert bridge.storage.connection_pool is shared.client.connection_pool
    finally:
        await shared.close()


async def failure_of(settings: Settings, caplog: pytest.LogCaptureFixture) -> str:
    """The store refuses, typed; what the log says of the cause."""
    shared = SharedRedis.from_settings(settings)
    assert shared is not None
    store = build_store(shared)
    try:
        with pytest.raises(StoreUnavailable):
            await store.get("anything")
        with pytest.raises(StoreUnavailable):  # then at once, the circuit open
            await store.put("idem:k", {}, ttl=5, only_if_absent=True)
        assert shared.circuit.refused == 1
    finally:
        await shared.close()
    return caplog.text


async def test_a_server_signed_by_another_ca_is_refused(
    tls_redis: TlsRedis, caplog: pytest.LogCaptureFixture
) -> None:
    logged = await failure_of(
        settings_for(tls_redis, redis_ca_file=tls_redis.other_ca_file), caplog
    )
    assert "redis_unreachable" in logged and "CERTIFICATE_VERIFY_FAILED" in logged


async def test_without_a_client_certificate_the_server_refuses_the_gateway(
    tls_redis: TlsRedis, caplog: pytest.LogCaptureFixture
) -> None:
    logged = await failure_of(
        settings_for(tls_redis, redis_cert_file=None, redis_key_file=None), caplog
    )
    assert "redis_unreachable" in logged and "ConnectionError" in logged


async def test_a_wrong_acl_password_is_refused_as_such(
    tls_redis: TlsRedis, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = tls_redis.url.replace(ACL_PASSWORD, "not-the-password")
    logged = await failure_of(settings_for(tls_redis, redis_url=wrong), caplog)
    assert "AuthenticationError" in logged and "not-the-password" not in logged


async def test_plain_redis_is_refused_by_a_tls_only_server(
    tls_redis: TlsRedis, caplog: pytest.LogCaptureFixture
) -> None:
    plain = tls_redis.url.replace("rediss://", "redis://")
    logged = await failure_of(settings_for(tls_redis, redis_url=plain), caplog)
    assert "redis_unreachable" in logged


def test_sentinels_are_read_as_host_port_pairs(tmp_path: Path) -> None:
    settings = Settings(redis_sentinels="10.0.0.1:26379, sentinel-b:26380")  # type: ignore[arg-type]
    assert settings.redis_sentinel_addresses == (("10.0.0.1", 26379), ("sentinel-b", 26380))
    with pytest.raises(ValueError, match="host:port"):
        Settings(redis_sentinels="sentinel-without-port")  # type: ignore[arg-type]
