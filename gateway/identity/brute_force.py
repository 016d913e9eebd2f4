"""Brute force: the allowances a password check spends before the CRM is even called.

A password check (`login`, and the other account's password in `linkAccount`) spends one hit of
`LOGIN_PER_ID` for that login and one of `LOGIN_PER_IP` (`limits`, memory or Redis; a counter that
cannot be reached refuses). A success clears the login's count (as the CRM's own counter resets),
and so does a password reset. When the login's allowance is spent and the CRM last said the
account is locked, the answer stays `LOCKED` (with the way out) rather than `RATE_LIMITED`,
without calling the CRM. Keys hold a hash of the login, never the e-mail in clear.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from gateway.adapters.crm.accounts import Refusal
from gateway.domain.accounts import Authenticated
from gateway.platform.rate_limiter import RateLimits, TooManyRequests
from gateway.platform.store import Store, StoreUnavailable

LOGIN_PER_ID = "5/15 minutes"
LOGIN_PER_IP = "20/minute"
REGISTER_PER_IP = "20/hour"
REGISTER_PER_EMAIL = "5/hour"
RESET_PER_IP = "20/hour"
RESET_PER_EMAIL = "5/hour"
LOCK_MEMORY_S = 15 * 60


def hashed(value: str) -> str:
    """Limit and lock keys name no e-mail in clear (they may sit in a shared Redis)."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


class AccountLocked(Exception):
    """The login's allowance is spent and the CRM said the account is locked."""


@dataclass(frozen=True)
class BruteForce:
    """The allowances of password checks: counted in the rate limits, locks remembered in the
    store (both shared by every gateway process when Redis is configured)."""

    limits: RateLimits
    store: Store

    async def check_password(self, login: str, client_ip: str) -> None:
        """Spend the login's and the IP's allowance; LOCKED when spent on a locked account."""
        key = hashed(login)
        await self.limits.hit(LOGIN_PER_IP, "login-ip", client_ip, fail_open=False)
        try:
            await self.limits.hit(LOGIN_PER_ID, "login", key, fail_open=False)
        except TooManyRequests:
            if await self.store.get(f"locked:{key}") is not None:
                raise AccountLocked() from None
            raise

    async def remember_outcome(self, login: str, outcome: Authenticated | Refusal) -> None:
        key = hashed(login)
        if isinstance(outcome, Authenticated):
            await self.limits.clear(LOGIN_PER_ID, "login", key)
        elif outcome.status == 423:
            await self.store.put(f"locked:{key}", {}, LOCK_MEMORY_S)

    async def seen_locked(self, login: str) -> bool:
        """The CRM said lately that this login's account is locked."""
        try:
            return await self.store.get(f"locked:{hashed(login)}") is not None
        except StoreUnavailable:
            return False

    async def forget_failures(self, login: str) -> None:
        """After a reset, the login starts afresh: no lock remembered, no attempts counted."""
        key = hashed(login)
        await self.store.delete(f"locked:{key}")
        await self.limits.clear(LOGIN_PER_ID, "login", key)
