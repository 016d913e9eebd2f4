"""Retries, time budgets and circuit breakers around every legacy call.

* a **deadline** per GraphQL request (`GATEWAY_REQUEST_DEADLINE_S`, 3 s), carried by a context
  variable into every task the request spawns; an attempt never outlives it and no retry starts
  if it could not finish before it;
* **retries** (tenacity) for idempotent reads only: exponential backoff with full jitter, or the
  back-end's `Retry-After` (capped); only errors marked `retryable` are retried;
* a **circuit breaker** per back-end (purgatory): it opens after `threshold` consecutive failed
  attempts, fails fast while open, lets requests probe once `ttl` has passed (half-open) and
  closes on the first success. A 4xx rejection does not count: the system answered. Nor does
  anything that is not a back-end's failure (a not-found, a gateway bug, a spent call budget):
  only a `BackendError` other than `BackendRejected` counts, so no request can open a breaker
  by what it asks;
* a **call budget** per request (`budget.spend_call`, before the breaker): see `budget.py`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from .. import metrics
from ..errors import BackendError, BackendRejected, BackendTimeout, BackendUnavailable
from .budget import spend_call

T = TypeVar("T")
deadline: ContextVar[float | None] = ContextVar("gateway_deadline", default=None)
MIN_ATTEMPT_S = 0.05  # an attempt with less budget than this is not worth starting


class CircuitOpen(BackendUnavailable):
    """Failing fast: the back-end's breaker is open."""

    retryable: ClassVar[bool] = False


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_s: float = 0.05
    cap_s: float = 0.5
    retry_after_cap_s: float = 2.0

    def wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, BackendError) and error.retry_after:
            return min(error.retry_after, self.retry_after_cap_s)
        return random.uniform(0, min(self.cap_s, self.base_s * 2 ** (state.attempt_number - 1)))

    def stop(self, state: RetryCallState) -> bool:
        if state.attempt_number >= self.attempts:
            return True
        limit = deadline.get()
        return limit is not None and _now() + state.upcoming_sleep + MIN_ATTEMPT_S > limit


def _now() -> float:
    return asyncio.get_running_loop().time()


def remaining() -> float | None:
    limit = deadline.get()
    return None if limit is None else limit - _now()


def start_deadline(budget_s: float) -> None:
    deadline.set(_now() + budget_s)


def not_a_failure(error: BaseException) -> bool:
    """What a breaker ignores: anything but a back-end's own failure (a 4xx answer, a
    cancelled request included)."""
    return not isinstance(error, BackendError) or isinstance(error, BackendRejected)


class Breakers:
    """One breaker per back-end, in this process."""

    def __init__(self, threshold: int = 10, ttl_s: float = 5.0) -> None:
        self.factory = AsyncCircuitBreakerFactory(
            default_threshold=threshold, default_ttl=ttl_s, exclude=[(BaseException, not_a_failure)]
        )
        self.names: set[str] = set()
        self.factory.add_listener(self._observe)

    @staticmethod
    def _observe(name: str, event: str, message: Any) -> None:
        """Breaker states and transitions to the metrics."""
        if event == "circuit_breaker_created":
            metrics.breaker_state(name, "closed", transition=False)
        elif event == "state_changed":
            metrics.breaker_state(name, message.state)

    async def get(self, name: str) -> Any:
        self.names.add(name)
        return await self.factory.get_breaker(name)

    async def states(self) -> dict[str, dict[str, Any]]:
        found = {}
        for name in sorted(self.names):
            context = (await self.factory.get_breaker(name)).context
            found[name] = {"state": context.state, "failures": context.failure_count or 0}
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
        """One attempt through the breaker (a write, or one try of a read)."""
        budget = self.budget(attempt_timeout_s)
        spend_call(self.backend)  # the request's call budget: before the breaker, never counted
        breaker = await self.breakers.get(self.backend)
        try:
            async with breaker:
                return await attempt(budget)
        except OpenedState:
            raise CircuitOpen(self.backend) from None

    async def read(
        self, attempt: Callable[[float], Awaitable[T]], attempt_timeout_s: float | None = None
    ) -> T:
        """An idempotent read: retried while it is worth it and the deadline allows."""
        retrying = AsyncRetrying(
            stop=self.policy.stop,
            wait=self.policy.wait,
            retry=retry_if_exception(lambda e: isinstance(e, BackendError) and e.retryable),
            before_sleep=lambda _: metrics.retry(self.backend),
            reraise=True,
        )
        async for try_ in retrying:
            with try_:
                return await self.once(attempt, attempt_timeout_s)
        raise AssertionError("unreachable: tenacity re-raises the last error")
