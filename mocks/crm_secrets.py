"""The secrets of the CRM's strong authentication, and the state of one account's security.

* TOTP: RFC 6238 (HMAC-SHA1, 6 digits, 30-second steps from the Unix epoch), written with
  hmac/hashlib: the mock is test infrastructure and needs no third-party OTP library
* recovery codes: `XXXXX-XXXXX` over `23456789ABCDEFGHJKLMNPQRSTUVWXYZ`, compared ignoring case,
  spaces and hyphens
* one-time codes: 6 random digits, 10 min, tied to a motif, at most one per 60 s and 5 per
  rolling 60 min per account (`retry_after`)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

STEP_S = 30
CODE_LIFE = timedelta(minutes=10)
RECOVERY_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
RECOVERY_COUNT = 10
MAX_PASSKEYS = 10
RATE_GAP = timedelta(seconds=60)
RATE_WINDOW = timedelta(minutes=60)
RATE_MAX = 5


def new_totp_secret() -> str:
    """20 random bytes, base32 without padding (32 characters)."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def totp_step(moment: datetime) -> int:
    return math.floor(moment.timestamp()) // STEP_S


def totp(secret: str, step: int) -> str:
    """The RFC 6238 code of `secret` for time step `step`."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, step.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def recovery_codes() -> list[str]:
    codes: set[str] = set()
    while len(codes) < RECOVERY_COUNT:
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
        codes.add(f"{raw[:5]}-{raw[5:]}")
    return sorted(codes)


def normalised(code: str) -> str:
    return "".join(c for c in code if c not in " -").upper()


def one_time_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def is_six_digits(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit()


@dataclass
class Enrolment:
    """An enrolment started and not yet confirmed."""

    methode: str
    expire: datetime
    secret: str | None
    failures: int = 0


@dataclass
class SentCode:
    """The account's current one-time code (a newer one supersedes it)."""

    code: str
    motif: str  # CONNEXION, ACTE_SENSIBLE or ENROLEMENT
    canal: str
    sent: datetime
    used: bool = False

    def accepts(self, code: str, motif: str, now: datetime) -> bool:
        return (
            not self.used
            and self.motif == motif
            and now - self.sent <= CODE_LIFE
            and hmac.compare_digest(self.code, code)
        )


@dataclass
class Security:
    """One account's second factor, counters, pending enrolment, current code and passkeys."""

    methode: str = "NONE"
    depuis: datetime | None = None
    secret: str | None = None
    recovery: list[str] = field(default_factory=list)  # unused codes, normalised
    last_step: int | None = None  # the last TOTP step accepted (replay)
    failures: int = 0  # consecutive failed second-factor codes
    enrolment: Enrolment | None = None
    code: SentCode | None = None
    sends: list[datetime] = field(default_factory=list)
    passkeys: dict[str, dict[str, Any]] = field(default_factory=dict)

    def pending(self, now: datetime) -> Enrolment | None:
        if self.enrolment is not None and now > self.enrolment.expire:
            self.enrolment = None
        return self.enrolment

    def retry_after(self, now: datetime) -> int | None:
        """Seconds until a new code may be sent, or None when one may be sent now."""
        recent = [t for t in self.sends if now - t < RATE_WINDOW]
        self.sends = recent
        wait = timedelta(0)
        if recent and now - recent[-1] < RATE_GAP:
            wait = RATE_GAP - (now - recent[-1])
        if len(recent) >= RATE_MAX:
            wait = max(wait, recent[-RATE_MAX] + RATE_WINDOW - now)
        if wait <= timedelta(0):
            return None
        return max(1, math.ceil(wait.total_seconds()))

    def check_totp(self, secret: str, code: str, now: datetime) -> int | None:
        """The step `code` is valid for (current ±1, newer than the last accepted), or None."""
        current = totp_step(now)
        for step in (current - 1, current, current + 1):
            if self.last_step is not None and step <= self.last_step:
                continue
            if hmac.compare_digest(totp(secret, step), code):
                return step
        return None

    def use_recovery(self, code: str) -> bool:
        wanted = normalised(code).encode()  # bytes: compare_digest refuses non-ASCII text
        for kept in self.recovery:
            if hmac.compare_digest(normalised(kept).encode(), wanted):
                self.recovery.remove(kept)
                return True
        return False

    def disable(self) -> None:
        self.methode, self.depuis, self.secret = "NONE", None, None
        self.recovery, self.last_step, self.code = [], None, None
