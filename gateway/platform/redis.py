"""The one way the gateway opens a Redis client (the shared store's): bounded and health-checked.
The rate limits and the answer cache hand a URL to their libraries, which open their own.

* every socket operation and every connection attempt is bounded (`timeout_s`): a Redis that
  hangs is an error within the caller's own bound, not a request that waits;
* a connection idle for `HEALTH_CHECK_S` is pinged before it is used again, so a Redis restarted
  (or a connection a firewall dropped) fails one ping, not the caller's command;
* answers are bytes (`decode_responses=False`): the store's records are orjson, read from bytes.
"""

from __future__ import annotations

from redis.asyncio import Redis

HEALTH_CHECK_S = 30


def redis_client(url: str, timeout_s: float = 0.5) -> Redis:
    """A client of the Redis at `url` (`redis://host:port/db`, `rediss://…`, `unix://…`)."""
    return Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        health_check_interval=HEALTH_CHECK_S,
        decode_responses=False,
    )
