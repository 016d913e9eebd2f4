"""Leases in Redis: a key held by one process of the deployment at a time, for a while.

    leases = Leases(shared)
    token = holder_token()                              # this holder's own
    lease = await leases.hold("live:lease:C-1", token, ttl_s=22.5, held=False)
    if lease.held: ...                                  # this process does the work
    else: ...                                           # try again in lease.free_in_s at the latest
    await leases.release("live:lease:C-1", token)

* taken with `SET key token NX PX ttl` (no holder, or the last one's lease ran out); when it is
  not, `PTTL` (in the same round trip) says when the holder's lease runs out unless renewed: a
  process that waits for then takes over a dead holder's lease as soon as it can;
* kept by its holder with a compare-and-expire script (`PEXPIRE` only while the value is still its
  token): a holder that paused past its lease and was replaced does not extend the new one's;
* released with a compare-and-delete script: never another holder's lease.

A holder that dies keeps its lease until the TTL runs out; another process takes it at its next
`hold`. The token names the holder (`host/pid/random`): `GET live:lease:C-1` tells an operator
which pod holds it. Every call goes through `SharedRedis.call` (bounded, circuit breaker) and
raises `RedisUnreachable`: what to do without Redis is the caller's choice.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from typing import Any

from redis.commands.core import AsyncScript

from gateway.platform.redis import SharedRedis

KEEP = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def holder_token() -> bytes:
    """A token no other holder has: the host and process it runs in, and 48 random bits."""
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(6)}".encode()


@dataclass(frozen=True)
class Lease:
    """What `hold` found: held by the caller, or by another for `free_in_s` unless renewed."""

    held: bool
    free_in_s: float


@dataclass
class Leases:
    """Take, keep and release leases through the process's one Redis client."""

    shared: SharedRedis
    keep_script: AsyncScript = field(init=False)
    release_script: AsyncScript = field(init=False)

    def __post_init__(self) -> None:
        # EVALSHA, loaded again by redis-py if the server forgot it (a restart, SCRIPT FLUSH)
        self.keep_script = self.shared.client.register_script(KEEP)
        self.release_script = self.shared.client.register_script(RELEASE)

    async def hold(self, key: str, token: bytes, ttl_s: float, held: bool) -> Lease:
        """`token` holds `key` for the next `ttl_s`: kept when it `held` it, else taken when no
        one holds it; or not, and the other holder's lease runs out in `free_in_s`."""
        ttl_ms = max(1, round(ttl_s * 1000))
        client = self.shared.client
        if held and await self.shared.call(lambda: self.keep_script([key], [token, ttl_ms])):
            return Lease(True, ttl_s)

        async def take() -> list[Any]:
            async with client.pipeline(transaction=False) as pipe:
                pipe.set(key, token, nx=True, px=ttl_ms)
                pipe.pttl(key)
                found: list[Any] = await pipe.execute()
                return found

        taken, left_ms = await self.shared.call(take)
        if left_ms is None or left_ms == -1:  # no expiry on the key: not one of ours
            return Lease(bool(taken), ttl_s)
        return Lease(bool(taken), max(0, left_ms) / 1000)  # -2: gone meanwhile, free now

    async def release(self, key: str, token: bytes) -> bool:
        """The lease let go when `token` holds it (another holder's is left alone)."""
        return bool(await self.shared.call(lambda: self.release_script([key], [token])))

    async def holder(self, key: str) -> bytes | None:
        """Who holds `key` now (tests, operators)."""
        found: bytes | str | None = await self.shared.call(lambda: self.shared.client.get(key))
        return found.encode() if isinstance(found, str) else found
