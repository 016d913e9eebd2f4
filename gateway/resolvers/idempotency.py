"""Exactly once for writes into back-ends that do not forgive duplicates (CRM demandes, éditique
attestations), whatever the network loses and however often the client retries.

One record per `(mutation, viewer, idempotencyKey)` in the shared store (memory, or Redis shared by
every gateway process), kept 24 h:

    {"state": "IN_PROGRESS" | "DONE", "hash": <sha256 of the input minus the key>,
     "result": <id of what was created>, "first_at": <epoch of the first attempt>,
     "lease": <epoch until which a request is working on it>, "attempt": <n>}

* one atomic `SET NX` claims a new key; a repeat finds the record:
  DONE + same hash → the stored id is resolved again (not a stored response: the retry may select
  other fields); another hash → IDEMPOTENCY_CONFLICT; IN_PROGRESS under lease → IN_PROGRESS;
* a request that ends without knowing the outcome (timeout, lost answer, 5xx) keeps the record
  and drops the lease: the next attempt takes it over (one winner, `SET NX` on the attempt
  number) and **reconciles** (looks for what the first attempt may have created) before it ever
  writes again;
* a refusal (nothing was written) deletes the record, so the customer can fix and resend;
* a store failure refuses the write (`StoreUnavailable`): unlike the cache, it is not a miss.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from gateway.adapters.transport.resilience import CircuitOpen
from gateway.errors import BackendError, BackendRejected
from gateway.observability import metrics
from gateway.platform.store import Store
from gateway.resolvers.problems import Problem, Refused

log = structlog.get_logger("gateway.idempotency")
TTL_S = 86_400.0
LEASE_S = 10.0  # longer than a request's deadline: a live request is never taken over
KEY_FIELD = "idempotencyKey"
IN_PROGRESS = Problem(
    KEY_FIELD, "IN_PROGRESS", "Votre demande est en cours de traitement, réessayez dans un instant."
)
CONFLICT = Problem(
    KEY_FIELD,
    "IDEMPOTENCY_CONFLICT",
    "Cette clé a déjà servi pour une demande différente : générez une nouvelle clé.",
)


def input_hash(values: Mapping[str, Any]) -> str:
    """The input's fingerprint, key excluded, independent of key order."""
    payload = {k: v for k, v in values.items() if k != KEY_FIELD}
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def external_reference(mutation: str, viewer: str, key: str) -> str:
    """The back-end's own reconciliation key (CRM `referenceExterne`, `^[A-Za-z0-9._:-]{1,64}$`):
    derived, never the raw client key, so nobody can guess or collide with another's."""
    digest = hashlib.sha256(f"{mutation}|{viewer}|{key}".encode()).hexdigest()
    return f"gw-{digest[:40]}"


def check_key(key: str) -> None:
    if not 8 <= len(key) <= 64 or not key.isprintable():
        raise Refused(
            [Problem(KEY_FIELD, "INVALID", "La clé d'idempotence doit compter 8 à 64 caractères.")]
        )


@dataclass
class Claim:
    """This request's hold on a key."""

    store: Store
    key: str
    record: dict[str, Any]
    replay: str | None = None  # DONE: the id to resolve again
    resumed: bool = False  # an earlier attempt's outcome is unknown: reconcile first

    @property
    def first_at(self) -> float:
        return float(self.record["first_at"])

    def _ttl(self) -> float:
        return max(1.0, self.first_at + TTL_S - time.time())

    async def done(self, result: str) -> None:
        self.record = {**self.record, "state": "DONE", "result": result, "lease": 0}
        try:
            await self.store.put(self.key, self.record, self._ttl())
        except Exception:  # the write happened: answer it; a retry reconciles after the lease
            log.warning("idempotency_done_not_recorded", key=self.key)

    async def release(self) -> None:
        """Nothing was written: the key is free again."""
        await self.store.delete(self.key)

    async def unknown(self, settle_s: float = 0.0) -> None:
        """The outcome is unknown: keep the record; the next attempt reconciles once `settle_s`
        have passed (a call still in flight may yet land: the éditique has no key to refuse a
        second one, the CRM has `referenceExterne`)."""
        self.record = {**self.record, "lease": time.time() + settle_s if settle_s else 0}
        try:
            await self.store.put(self.key, self.record, self._ttl())
        except Exception:  # the lease then simply runs out
            log.warning("idempotency_unknown_not_recorded", key=self.key)


class Idempotency:
    def __init__(self, store: Store, lease_s: float = LEASE_S) -> None:
        self.store = store
        self.lease_s = lease_s

    async def claim(self, mutation: str, viewer: str, key: str, values: Mapping[str, Any]) -> Claim:
        check_key(key)
        record_key = f"idem:{mutation}:{viewer}:{hashlib.sha256(key.encode()).hexdigest()}"
        fingerprint = input_hash(values)
        now = time.time()
        fresh = {
            "state": "IN_PROGRESS",
            "hash": fingerprint,
            "result": None,
            "first_at": now,
            "lease": now + self.lease_s,
            "attempt": 1,
        }
        for _ in range(2):  # a record may expire between the claim and the read
            if await self.store.put(record_key, fresh, TTL_S, only_if_absent=True):
                return Claim(self.store, record_key, fresh)
            found = await self.store.get(record_key)
            if found is not None:
                break
        else:
            raise Refused([IN_PROGRESS])
        if found["hash"] != fingerprint:
            raise Refused([CONFLICT])
        if found["state"] == "DONE":
            metrics.idempotency_replay(mutation)
            return Claim(self.store, record_key, found, replay=str(found["result"]))
        if float(found["lease"]) > now:
            raise Refused([IN_PROGRESS])
        attempt = int(found["attempt"]) + 1  # take over an attempt that ended without an answer
        won = await self.store.put(
            f"{record_key}:attempt:{attempt}", {"at": now}, TTL_S, only_if_absent=True
        )
        if not won:
            raise Refused([IN_PROGRESS])
        record = {**found, "lease": now + self.lease_s, "attempt": attempt}
        claim = Claim(self.store, record_key, record, resumed=True)
        await self.store.put(record_key, record, claim._ttl())
        return claim


Reconcile = Callable[[float], Awaitable[str | None]]


async def exactly_once(
    claim: Claim,
    *,
    perform: Callable[[], Awaitable[str]],
    reconcile: Reconcile,
    settle_s: float = 0.0,
) -> str:
    """The id of what this key created: the stored one, the one an unanswered attempt created
    (found by `reconcile(first_at)`), or a new one made by `perform()` (at most once)."""
    if claim.replay is not None:
        return claim.replay
    if claim.resumed:
        try:
            found = await reconcile(claim.first_at)
        except BaseException:  # could not look: still unknown, the next retry looks again
            await claim.unknown()
            raise
        if found is not None:
            await claim.done(found)
            return found
    try:
        result = await perform()
    except Refused:
        await claim.release()
        raise
    except (CircuitOpen, BackendRejected):  # no write happened on this attempt
        await (claim.unknown() if claim.resumed else claim.release())
        raise
    except BackendError:  # timeout, lost answer, 5xx: it may exist
        await claim.unknown(settle_s)
        try:
            found = await reconcile(claim.first_at)
        except Exception:
            found = None
        if found is None:
            raise
        await claim.done(found)
        return found
    except BaseException:  # cancelled mid-call: same as unknown
        await claim.unknown()
        raise
    await claim.done(result)
    return result
