"""A circuit breaker per back-end that opens on a failure *rate*, not on a run of failures.

    closed ──(≥ min_volume attempts in the window and failures/attempts ≥ failure_rate)──▶ opened
    opened ──(ttl_s passed: the next attempt is let through as a probe)──▶ half-opened
    half-opened ──(the probe succeeds)──▶ closed (window forgotten)
    half-opened ──(the probe fails)──▶ opened (for ttl_s again)

Outcomes are counted in a sliding window of `window_s` seconds (one-second buckets). Only what
the back-end caused counts as a failure (`failure()`: unavailable, 5xx, an attempt that used its
whole timeout); an answer of any kind (2xx, 4xx, 429) is a `success()`; what says nothing about
the back-end (the request was cancelled, its deadline cut the attempt short, the gateway was
overloaded) is `release()`d without counting. Single-threaded: asyncio only.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

State = Literal["closed", "opened", "half-opened"]
Admission = Literal["refused", "admitted", "probe"]


@dataclass
class Bucket:
    second: int
    attempts: int = 0
    failures: int = 0


@dataclass
class BreakerPolicy:
    """When a breaker opens (shared by the breakers of one process; settings `GATEWAY_BREAKER_*`)."""

    failure_rate: float = 0.5
    min_volume: int = 20
    window_s: int = 10
    ttl_s: float = 5.0


@dataclass
class RateBreaker:
    policy: BreakerPolicy = field(default_factory=BreakerPolicy)
    opened_at: float | None = None
    probing: bool = False
    buckets: deque[Bucket] = field(default_factory=deque)

    @property
    def state(self) -> State:
        if self.opened_at is None:
            return "closed"
        if self.probing or time.monotonic() - self.opened_at >= self.policy.ttl_s:
            return "half-opened"
        return "opened"

    def totals(self) -> tuple[int, int]:
        """(attempts, failures) within the window."""
        self._expire(int(time.monotonic()))
        return sum(b.attempts for b in self.buckets), sum(b.failures for b in self.buckets)

    def admit(self) -> Admission:
        """May an attempt start now? While half-open, one probe at a time."""
        if self.opened_at is None:
            return "admitted"
        if self.probing or time.monotonic() - self.opened_at < self.policy.ttl_s:
            return "refused"
        self.probing = True
        return "probe"

    def success(self, ticket: Admission = "admitted") -> None:
        if ticket == "probe":  # the probe answered: close, forget the old failures
            self.opened_at, self.probing = None, False
            self.buckets.clear()
        elif self.opened_at is None:  # (an attempt started before the breaker opened: ignored)
            self._count(failed=False)

    def failure(self, ticket: Admission = "admitted") -> None:
        if ticket == "probe":  # the probe failed: open again for ttl_s
            self.opened_at, self.probing = time.monotonic(), False
        elif self.opened_at is None:
            self._count(failed=True)
            attempts, failures = self.totals()
            policy = self.policy
            if attempts >= policy.min_volume and failures >= policy.failure_rate * attempts:
                self.opened_at = time.monotonic()

    def release(self, ticket: Admission = "admitted") -> None:
        """The attempt says nothing about the back-end: a probe slot is given back."""
        if ticket == "probe":
            self.probing = False

    def _count(self, failed: bool) -> None:
        second = int(time.monotonic())
        if not self.buckets or self.buckets[-1].second != second:
            self._expire(second)
            self.buckets.append(Bucket(second))
        bucket = self.buckets[-1]
        bucket.attempts += 1
        bucket.failures += failed

    def _expire(self, second: int) -> None:
        while self.buckets and self.buckets[0].second <= second - self.policy.window_s:
            self.buckets.popleft()
