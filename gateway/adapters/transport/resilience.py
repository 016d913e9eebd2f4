"""Retries, time budgets and circuit breakers around every legacy call.

* a **deadline** per GraphQL request (`GATEWAY_REQUEST_DEADLINE_S`, 3 s), carried by a context
  variable into every task the request spawns; an attempt never outlives it and no retry starts
  if it could not finish before it;
* **retries** for idempotent reads only: exponential backoff with full jitter, or the
  back-end's `Retry-After` (capped); only errors marked `retryable` are retried;
* a **per-attempt timeout** that measures the back-end, not the event loop: time the loop ran
  late (a busy process) is added back to the attempt, up to the request deadline;
* a **circuit breaker** per back-end (`breaker.RateBreaker`): it opens when at least half of at
  least 20 attempts in 10 s failed because of the back-end, fails fast while open, lets one probe
  through once `ttl` has passed (half-open) and closes when it succeeds. Answers of any kind
  (4xx, 429, faults) count as successes; cancelled attempts and attempts cut short by the request
  deadline do not count, nor does anything that is not the back-end's failure (a not-found, a
  gateway bug, a spent call budget): no request can open a breaker by what it asks;
* a **call budget** per request (`budget.spend_call`, before the breaker): see `budget.py`.

Breaker states and transitions, and retries, go to the metrics (`gateway/observability/metrics.py`).
"""

from __future__ import annotations

import asyncio
import random
import weakref
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

from gateway.adapters.transport.breaker import Admission, BreakerPolicy, RateBreaker
from gateway.adapters.transport.budget import spend_call
from gateway.errors import BackendError, BackendTimeout, BackendUnavailable, RateLimited
from gateway.observability import metrics

T = TypeVar("T")
deadline: ContextVar[float | None] = ContextVar("gateway_deadline", default=None)
MIN_ATTEMPT_S = 0.05  # an attempt with less budget than this is not worth starting


class CircuitOpen(BackendUnavailable):
    """Failing fast: the back-end's breaker is open."""

    retryable: ClassVar[bool] = False


class RetryState(Protocol):
    """What a retry decision reads (tenacity's `RetryCallState` has these)."""

    attempt_number: int
    upcoming_sleep: float

    @property
    def outcome(self) -> Any: ...


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_s: float = 0.05
    cap_s: float = 0.5
    retry_after_cap_s: float = 2.0

    def pause(self, attempt_number: int, error: BaseException | None) -> float:
        """Seconds to wait after failed attempt `attempt_number`: the back-end's `Retry-After`
        (capped), else exponential backoff with full jitter."""
        if isinstance(error, BackendError) and error.retry_after:
            return min(error.retry_after, self.retry_after_cap_s)
        return random.uniform(0, min(self.cap_s, self.base_s * 2 ** (attempt_number - 1)))

    def give_up(self, attempt_number: int, pause_s: float) -> bool:
        """No attempt left, or the next one could not finish before the request deadline."""
        if attempt_number >= self.attempts:
            return True
        limit = deadline.get()
        return limit is not None and _now() + pause_s + MIN_ATTEMPT_S > limit

    def wait(self, state: RetryState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return self.pause(state.attempt_number, error)

    def stop(self, state: RetryState) -> bool:
        return self.give_up(state.attempt_number, state.upcoming_sleep)


def _now() -> float:
    return asyncio.get_running_loop().time()


def remaining() -> float | None:
    limit = deadline.get()
    return None if limit is None else limit - _now()


def start_deadline(budget_s: float) -> None:
    deadline.set(_now() + budget_s)


class LoopLag:
    """How late the event loop has run, in total: a tick every `PERIOD_S` adds its lateness.

    A process busy with other requests runs every callback late, a back-end's answer included;
    attempt timeouts subtract this so that they time the back-end, not the backlog. It ticks only
    while attempts are in flight (an idle process pays nothing)."""

    PERIOD_S = 0.02
    NOISE_S = 0.001  # timer resolution: lateness below it is not lag
    _of: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopLag]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.total = 0.0
        self.expected = 0.0
        self.active = 0  # attempts in flight
        self.ticking = False

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> LoopLag:
        meter = cls._of.get(loop)
        if meter is None:
            meter = cls._of[loop] = cls(loop)
        return meter

    def enter(self) -> None:
        self.active += 1
        if not self.ticking:
            self.ticking = True
            self.expected = self.loop.time() + self.PERIOD_S
            self.loop.call_at(self.expected, self._tick)

    def leave(self) -> None:
        self.active -= 1

    def _tick(self) -> None:
        now = self.loop.time()
        late = now - self.expected
        if late > self.NOISE_S:
            self.total += late
        if self.active <= 0:
            self.ticking = False
            return
        self.expected = now + self.PERIOD_S
        self.loop.call_at(self.expected, self._tick)

    def so_far(self) -> float:
        """Total lag, including the lateness of the tick that is due and not yet run."""
        if not self.ticking:
            return self.total
        late = self.loop.time() - self.expected
        return self.total + (late if late > self.NOISE_S else 0.0)


class attempt_timeout:  # a lower-case name: used as `async with attempt_timeout(budget):`
    """`asyncio.timeout(budget_s)`, where time the loop ran late does not count, except that
    nothing outlives the request deadline. Raises TimeoutError. (A class, not a generator: it
    wraps every back-end exchange.)"""

    __slots__ = ("budget_s", "lag", "lag_at_start", "limit", "loop", "pending", "start", "timeout")

    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s

    async def __aenter__(self) -> None:
        self.loop = loop = asyncio.get_running_loop()
        self.lag = lag = LoopLag.of(loop)
        lag.enter()
        self.start, self.lag_at_start, self.limit = loop.time(), lag.so_far(), deadline.get()
        self.timeout = asyncio.timeout(None)
        await self.timeout.__aenter__()
        self.pending = loop.call_at(self.start + self.budget_s, self._check)

    def _check(self) -> None:
        due = self.start + self.budget_s + (self.lag.so_far() - self.lag_at_start)
        if self.limit is not None:
            due = min(due, self.limit)
        if due > self.loop.time() + LoopLag.NOISE_S:
            self.pending = self.loop.call_at(due, self._check)
        else:
            self.timeout.reschedule(self.loop.time())  # expire now

    async def __aexit__(self, *exc: Any) -> None:
        self.pending.cancel()
        try:
            await self.timeout.__aexit__(*exc)  # turns its own cancellation into TimeoutError
        finally:
            self.lag.leave()


class Breakers:
    """One breaker per back-end, in this process, all under one `BreakerPolicy`.

    `gateway_breaker_state` follows each breaker's real state: checked after every admission and
    attempt, at every look (`states`, a scrape), and each second (`watch`), since a breaker
    becomes half-open with time alone."""

    def __init__(self, policy: BreakerPolicy | None = None) -> None:
        self.policy = policy or BreakerPolicy()
        self.breakers: dict[str, RateBreaker] = {}
        self.reported: dict[str, str] = {}

    @property
    def names(self) -> list[str]:
        return sorted(self.breakers)

    def get(self, name: str) -> RateBreaker:
        breaker = self.breakers.get(name)
        if breaker is None:
            breaker = self.breakers[name] = RateBreaker(self.policy)
            self.reported[name] = "closed"
            metrics.breaker_state(name, "closed", transition=False)
        return breaker

    def state(self, name: str) -> str:
        return self.get(name).state

    def observe(self, name: str) -> None:
        """The gauge (and a transition) when this breaker's state is not the one last reported."""
        state = self.breakers[name].state
        if self.reported.get(name) != state:
            self.reported[name] = state
            metrics.breaker_state(name, state)

    def observe_all(self) -> None:
        for name in self.names:
            self.observe(name)

    async def watch(self, period_s: float = 1.0) -> None:
        """Until cancelled: the gauges follow what time alone changes (opened → half-opened)."""
        while True:
            self.observe_all()
            await asyncio.sleep(period_s)

    async def states(self) -> dict[str, dict[str, Any]]:
        found = {}
        for name in self.names:
            breaker = self.breakers[name]
            self.observe(name)
            attempts, failures = breaker.totals()
            found[name] = {"state": breaker.state, "failures": failures, "attempts": attempts}
        return found


class Guard:
    """The resilience of one back-end: breaker, retry policy and per-attempt timeout."""

    def __init__(
        self,
        backend: str,
        breakers: Breakers,
        attempt_timeout_s: float,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.backend = backend
        self.breakers = breakers
        self.attempt_timeout_s = attempt_timeout_s
        self.policy = policy or RetryPolicy()

    def budget(self, attempt_timeout_s: float | None = None) -> float:
        wanted = attempt_timeout_s or self.attempt_timeout_s
        left = remaining()
        if left is None:
            return wanted
        if left < MIN_ATTEMPT_S:
            raise BackendTimeout(self.backend)
        return min(wanted, left)

    async def once(
        self, attempt: Callable[[float], Awaitable[T]], attempt_timeout_s: float | None = None
    ) -> T:
        """One attempt through the breaker (a write, or one try of a read). Only failures the
        back-end caused count against it (see `breaker`)."""
        budget = self.budget(attempt_timeout_s)
        spend_call(self.backend)  # the request's call budget: before the breaker, never counted
        breaker = self.breakers.get(self.backend)
        ticket = breaker.admit()
        try:
            if ticket == "refused":
                raise CircuitOpen(self.backend)
            if ticket == "probe":
                self.breakers.observe(self.backend)  # half-open while its probe runs
            return await self._attempt(breaker, ticket, attempt, budget, attempt_timeout_s)
        finally:
            self.breakers.observe(self.backend)

    async def _attempt(
        self,
        breaker: RateBreaker,
        ticket: Admission,
        attempt: Callable[[float], Awaitable[T]],
        budget: float,
        attempt_timeout_s: float | None,
    ) -> T:
        try:
            result = await attempt(budget)
        except RateLimited:  # the system answered: it is up
            breaker.success(ticket)
            raise
        except BackendTimeout:
            if budget < (attempt_timeout_s or self.attempt_timeout_s):
                breaker.release(ticket)  # cut short by the request deadline: no verdict
            else:
                breaker.failure(ticket)
            raise
        except BackendError as error:
            if isinstance(error, BackendUnavailable) and error.retryable:
                breaker.failure(ticket)  # down, 5xx, unreadable answer, transient fault
            else:
                breaker.success(ticket)  # rejected (4xx): it answered
            raise
        except Exception:  # the adapter's reading of an answer (not found, too many…)
            breaker.success(ticket)
            raise
        except BaseException:  # cancelled: says nothing about the back-end
            breaker.release(ticket)
            raise
        breaker.success(ticket)
        return result

    async def read(
        self, attempt: Callable[[float], Awaitable[T]], attempt_timeout_s: float | None = None
    ) -> T:
        """An idempotent read: retried while it is worth it and the deadline allows (a plain
        loop: tenacity's per-call set-up costs 15 µs per read, 25 times the attempt's own)."""
        number = 1
        while True:
            try:
                return await self.once(attempt, attempt_timeout_s)
            except BackendError as error:
                if not error.retryable:
                    raise
                pause = self.policy.pause(number, error)
                if self.policy.give_up(number, pause):
                    raise
                metrics.retry(self.backend)
            await asyncio.sleep(pause)
            number += 1
