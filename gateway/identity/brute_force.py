"""Brute force: the allowances a password check spends before the CRM is even called.

The CRM locks an account at its 5th consecutive wrong password, wherever the attempts come from,
and only a password reset unlocks it. So that a stranger cannot lock a customer out, the gateway
binds the allowances to devices (OWASP's device cookies): a device id (`LoginInput.deviceId` or the
`X-Device-Id` header) becomes *known* on an account when it signs in to it successfully.

* Devices never seen on the account share `UNKNOWN_DEVICE_FAILURES`: at most 2 of the CRM's
  consecutive failures, reserved atomically before the CRM is asked and given back only by a
  success or a reset. Beyond, the gateway answers `LOCKED` itself: the CRM's counter stays short
  of its lock (a known device's failures fill the same count, as the CRM counts them too).
* A known device has its own allowance (`LOGIN_PER_DEVICE`) and reaches the CRM as before: its
  owner's own wrong passwords still lock the account at the 5th, as the product rules say.
* Every attempt also spends `LOGIN_PER_IP`; a counter that cannot be reached refuses.

An unknown login goes through exactly the same steps (the CRM answers both with the same `401`),
so an existing and an unknown login get the same answer at every attempt. A `linkAccount` spends
the same allowances for the other account's login. Password-reset e-mails: a requester (device, or
IP without one) has its own allowance per login, and a device known on the account is not counted
in the login's shared one, so strangers cannot spend the owner's e-mails.

Limit and store keys hold an HMAC of the login and of the device id under a key derived from the
deployment's secret: no e-mail in clear, no unsalted hash of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from dataclasses import dataclass

from gateway.adapters.crm.accounts import Refusal
from gateway.domain.accounts import Authenticated
from gateway.platform.rate_limiter import RateLimits, TooManyRequests
from gateway.platform.store import Store, StoreUnavailable

LOGIN_PER_IP = "20/minute"
LOGIN_PER_DEVICE = "5/15 minutes"  # a device known on the account
UNKNOWN_DEVICE_FAILURES = "2/1 year"  # the CRM's consecutive failures strangers may cause
REGISTER_PER_IP = "20/hour"
REGISTER_PER_EMAIL = "5/hour"
RESET_PER_IP = "20/hour"
RESET_PER_REQUESTER = "3/hour"  # one device (or IP) asking for one login
RESET_PER_EMAIL = "5/hour"  # every requester not known on the account, for one login
LOCK_MEMORY_S = 15 * 60
DEVICE_MEMORY_S = 365 * 86_400


def derive_key(secret: str) -> bytes:
    """The key of the limiter's and the store's hashed identifiers, the same in every process."""
    return hmac.new(secret.encode(), b"brute-force-keys", hashlib.sha256).digest()


class AccountLocked(Exception):
    """Refused before the CRM: the account is locked, or strangers spent their allowance on it."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One password check under way: the login's and the device's keys, and whether the device
    is known on the account."""

    login: str
    device: str | None
    known: bool


@dataclass(frozen=True)
class BruteForce:
    """The allowances of password checks: counted in the rate limits, locks and known devices
    in the store (both shared by every gateway process when Redis is configured)."""

    limits: RateLimits
    store: Store
    key: bytes

    def keyed(self, value: str) -> str:
        """An identifier (login, e-mail, device id) as limits and store keys name it."""
        normalised = value.strip().lower().encode()
        return hmac.new(self.key, normalised, hashlib.sha256).hexdigest()[:32]

    async def check_password(
        self, login: str, client_ip: str, device_id: str | None = None
    ) -> Attempt:
        """Spend the allowances of one password check; `AccountLocked` when the CRM must not be
        asked (locked, or the strangers' allowance is spent), `TooManyRequests` beyond a rate."""
        key = self.keyed(login)
        await self.limits.hit(LOGIN_PER_IP, "login-ip", client_ip, fail_open=False)
        if await self.store.get(f"locked:{key}") is not None:
            raise AccountLocked()
        device = self.keyed(device_id) if device_id else None
        known = device is not None and await self.store.get(f"device:{key}:{device}") is not None
        if known:
            assert device is not None
            await self.limits.hit(LOGIN_PER_DEVICE, "login-device", key, device, fail_open=False)
        else:
            try:
                await self.limits.hit(
                    UNKNOWN_DEVICE_FAILURES, "login-strangers", key, fail_open=False
                )
            except TooManyRequests:
                raise AccountLocked() from None
        return Attempt(key, device, known)

    async def check_code(self, login: str, client_ip: str) -> Attempt:
        """Spend the allowances of one code check (a second factor, a step-up): whoever sends a
        code already holds the password or a session, so no strangers' allowance is spent; the
        CRM's lock is remembered as for passwords."""
        await self.limits.hit(LOGIN_PER_IP, "login-ip", client_ip, fail_open=False)
        key = self.keyed(login)
        if await self.store.get(f"locked:{key}") is not None:
            raise AccountLocked()
        return Attempt(key, None, known=False)

    async def remember_outcome(self, attempt: Attempt, outcome: Authenticated | Refusal) -> None:
        if isinstance(outcome, Authenticated):  # the CRM's counter is back to 0
            await self.limits.clear(UNKNOWN_DEVICE_FAILURES, "login-strangers", attempt.login)
            if attempt.device is not None:
                await self.limits.clear(
                    LOGIN_PER_DEVICE, "login-device", attempt.login, attempt.device
                )
                await self.store.put(
                    f"device:{attempt.login}:{attempt.device}", {}, DEVICE_MEMORY_S
                )
        elif outcome.status == 423:
            await self.store.put(f"locked:{attempt.login}", {}, LOCK_MEMORY_S)
        elif attempt.known:  # one more failure in the CRM's count: fewer left to strangers
            with contextlib.suppress(TooManyRequests):
                await self.limits.hit(
                    UNKNOWN_DEVICE_FAILURES, "login-strangers", attempt.login, fail_open=False
                )

    async def seen_locked(self, login: str) -> bool:
        """The CRM said lately that this login's account is locked."""
        try:
            return await self.store.get(f"locked:{self.keyed(login)}") is not None
        except StoreUnavailable:
            return False

    async def is_known(self, login: str, device_id: str | None) -> bool:
        if not device_id:
            return False
        found = await self.store.get(f"device:{self.keyed(login)}:{self.keyed(device_id)}")
        return found is not None

    async def forget_failures(self, login: str) -> None:
        """After a reset, the login starts afresh: no lock remembered, no failure counted."""
        key = self.keyed(login)
        await self.store.delete(f"locked:{key}")
        await self.limits.clear(UNKNOWN_DEVICE_FAILURES, "login-strangers", key)

    # ---- registration and recovery -------------------------------------------------------------
    async def check_registration(self, email: str, client_ip: str) -> None:
        await self.limits.hit(REGISTER_PER_IP, "register-ip", client_ip, fail_open=False)
        await self.limits.hit(
            REGISTER_PER_EMAIL, "register-email", self.keyed(email), fail_open=False
        )

    async def check_reset_request(self, email: str, client_ip: str, device_id: str | None) -> None:
        """A reset e-mail for `email`: the requester's own allowance, then the login's shared one
        unless the device is known on the account."""
        key = self.keyed(email)
        requester = self.keyed(device_id) if device_id else client_ip
        await self.limits.hit(RESET_PER_IP, "reset-ip", client_ip, fail_open=False)
        await self.limits.hit(
            RESET_PER_REQUESTER, "reset-requester", key, requester, fail_open=False
        )
        if not await self.is_known(email, device_id):
            await self.limits.hit(RESET_PER_EMAIL, "reset-email", key, fail_open=False)
