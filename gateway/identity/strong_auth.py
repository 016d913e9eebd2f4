"""Strong authentication: the challenges waiting for a second factor, and when a session last
proved one (step-up).

Store records (shared by every gateway process; tokens kept only as their SHA-256):

    2fa:<sha256>        {sub, company, group, login, method,   a sign-in waiting for its code (5 min)
                         device}
    stepup:<sha256>     {holder, sub, method, ceremony}        a step-up waiting for its proof (10 min;
                                                               PASSKEY: its WebAuthn ceremony)
    spent:<sha256>      {}                                     a challenge answered: single use
    strong:<holder>     {at, method}                           the session's last strong proof

A **holder** is what a proof belongs to: the session (`sid`) of a token the gateway's login
issued, else the access token itself (a token of an identity provider, or a development one), so
a proof never outlives the session or token that gave it. A proof allows the sensitive acts for
`STRONG_AUTHENTICATION_S` (10 minutes). No code, secret or recovery code is ever kept here: the
CRM checks them.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.domain.accounts import Authenticated
from gateway.domain.security import (
    CHALLENGE_S,
    STRONG_AUTHENTICATION_S,
    SecondFactorMethod,
    StepUpMethod,
)
from gateway.identity.sessions import digest
from gateway.identity.tokens import Principal
from gateway.platform.store import Store

STEP_UP_CHALLENGE_S = 10 * 60  # a one-time code lives 10 minutes


def holder_of(principal: Principal, authorization: str | None) -> str:
    """The session a proof is recorded for (see the module docstring)."""
    if principal.session is not None:
        return f"sid:{principal.session}"
    _, _, token = (authorization or "").partition(" ")
    return f"token:{digest(token)}"


@dataclass(frozen=True, slots=True)
class SignInChallenge:
    token: str
    authenticated: Authenticated
    login: str
    expires_at: datetime
    device: str | None = None  # the device id the first step gave


@dataclass(frozen=True, slots=True)
class StepUpChallenge:
    token: str
    holder: str
    subject: str
    method: StepUpMethod
    expires_at: datetime
    ceremony: str | None = None  # PASSKEY: the token of the WebAuthn ceremony it waits for


def instant(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class StrongAuthentication:
    def __init__(self, store: Store) -> None:
        self.store = store

    # ---- sign-in with a second factor ---------------------------------------------------------
    async def open_sign_in(
        self, who: Authenticated, login: str, device: str | None = None
    ) -> SignInChallenge:
        token = secrets.token_urlsafe(32)
        expires = time.time() + CHALLENGE_S
        record = {
            "sub": who.client_id,
            "company": who.is_company,
            "group": list(who.group),
            "login": login,
            "method": who.second_factor.value,
            "expires": expires,
            "device": device,
        }
        await self.store.put(f"2fa:{digest(token)}", record, CHALLENGE_S)
        return SignInChallenge(token, who, login, instant(expires), device)

    async def sign_in(self, token: str) -> SignInChallenge | None:
        """The sign-in waiting for `token`'s code; None: unknown, expired or already answered."""
        record = await self.store.get(f"2fa:{digest(token)}")
        if record is None or float(record["expires"]) <= time.time():
            return None
        who = Authenticated(
            record["sub"],
            bool(record["company"]),
            tuple(record["group"]),
            SecondFactorMethod(record["method"]),
        )
        expires = instant(float(record["expires"]))
        return SignInChallenge(token, who, record["login"], expires, record.get("device"))

    # ---- step-up ------------------------------------------------------------------------------
    async def open_step_up(
        self, holder: str, subject: str, method: StepUpMethod, ceremony: str | None = None
    ) -> StepUpChallenge:
        token = secrets.token_urlsafe(32)
        expires = time.time() + STEP_UP_CHALLENGE_S
        record = {
            "holder": holder,
            "sub": subject,
            "method": method.value,
            "expires": expires,
            "ceremony": ceremony,
        }
        await self.store.put(f"stepup:{digest(token)}", record, STEP_UP_CHALLENGE_S)
        return StepUpChallenge(token, holder, subject, method, instant(expires), ceremony)

    async def step_up(self, token: str, holder: str) -> StepUpChallenge | None:
        """The step-up of this session waiting for `token`'s proof; None otherwise."""
        record: dict[str, Any] | None = await self.store.get(f"stepup:{digest(token)}")
        if record is None or record["holder"] != holder or float(record["expires"]) <= time.time():
            return None
        return StepUpChallenge(
            token,
            holder,
            record["sub"],
            StepUpMethod(record["method"]),
            instant(record["expires"]),
            record.get("ceremony"),
        )

    # ---- answering ----------------------------------------------------------------------------
    async def spend(self, token: str) -> bool:
        """Mark a challenge answered (atomically: one winner); False when it already was."""
        if not await self.store.put(
            f"spent:{digest(token)}", {}, STEP_UP_CHALLENGE_S, only_if_absent=True
        ):
            return False
        await self.store.delete(f"2fa:{digest(token)}")
        await self.store.delete(f"stepup:{digest(token)}")
        return True

    # ---- the proof ----------------------------------------------------------------------------
    async def prove(self, holder: str, method: StepUpMethod, ttl_s: float) -> datetime:
        """Record a strong proof for the session; the sensitive acts are allowed until the result."""
        now = time.time()
        await self.store.put(
            f"strong:{holder}", {"at": now, "method": method.value}, max(ttl_s, 1.0)
        )
        return instant(now + STRONG_AUTHENTICATION_S)

    async def valid_until(self, holder: str) -> datetime | None:
        """Until when the session may do sensitive acts without a new proof; None: it may not."""
        record = await self.store.get(f"strong:{holder}")
        if record is None:
            return None
        until = float(record["at"]) + STRONG_AUTHENTICATION_S
        return instant(until) if until > time.time() else None
