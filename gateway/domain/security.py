"""Strong authentication in domain terms: second-factor methods, the proofs of a step-up, and the
state of an account as the CRM keeps it (`crm.openapi.yaml`, "Second factor, one-time codes and
passkeys").

No I/O, no secret: the CRM generates, keeps and checks every TOTP secret, one-time and recovery
code; these values only say which method is on, since when, and what a proof may be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gateway.domain.values import Labelled

STRONG_AUTHENTICATION_S = 10 * 60  # a proof allows sensitive acts for 10 minutes
CHALLENGE_S = 5 * 60  # a sign-in waits 5 minutes for its second factor
CODE_PATTERN = r"^[0-9]{6}$|^[2-9A-HJ-NP-Za-hj-np-z]{5}[- ]?[2-9A-HJ-NP-Za-hj-np-z]{5}$"


class SecondFactorMethod(Labelled):
    NONE = "NONE"
    TOTP = "TOTP"
    EMAIL = "EMAIL"
    SMS = "SMS"


class StepUpMethod(Labelled):
    EMAIL_CODE = "EMAIL_CODE"
    SMS_CODE = "SMS_CODE"
    TOTP = "TOTP"
    RECOVERY_CODE = "RECOVERY_CODE"
    PASSKEY = "PASSKEY"


class SignInMethod(Labelled):
    PASSWORD = "PASSWORD"
    PASSWORD_AND_SECOND_FACTOR = "PASSWORD_AND_SECOND_FACTOR"
    PASSKEY = "PASSKEY"


class CodeChannel(Labelled):
    EMAIL = "EMAIL"
    SMS = "SMS"


class OneTimeCodePurpose(Labelled):
    SIGN_IN = "SIGN_IN"
    SENSITIVE_ACT = "SENSITIVE_ACT"


@dataclass(frozen=True, slots=True)
class SecondFactorState:
    method: SecondFactorMethod
    since: datetime | None
    recovery_codes_left: int


@dataclass(frozen=True, slots=True)
class PendingEnrolment:
    method: SecondFactorMethod
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class AccountSecurityState:
    """`GET /comptes/{clientId}/securite`, holding no secret; `passkeys`: how many."""

    locked: bool
    second_factor: SecondFactorState
    pending: PendingEnrolment | None
    passkeys: int


@dataclass(frozen=True, slots=True)
class Enrolment:
    """An activation started: TOTP's secret and URI are in this value only, never kept."""

    method: SecondFactorMethod
    totp_secret: str | None
    otpauth_uri: str | None
    sent_to: str | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class CodeSent:
    channel: CodeChannel
    sent_to: str
    expires_at: datetime


def step_up_methods(state: AccountSecurityState, has_mobile: bool) -> list[StepUpMethod]:
    """The proofs this account can give, in the order to offer them (the CRM's table: with 2FA
    on, its own method and the recovery codes; without, a code by e-mail or SMS)."""
    method = state.second_factor.method
    found: list[StepUpMethod] = []
    if state.passkeys:
        found.append(StepUpMethod.PASSKEY)
    if method == SecondFactorMethod.TOTP:
        found.append(StepUpMethod.TOTP)
    if method in (SecondFactorMethod.NONE, SecondFactorMethod.EMAIL):
        found.append(StepUpMethod.EMAIL_CODE)
    if method == SecondFactorMethod.SMS or (method == SecondFactorMethod.NONE and has_mobile):
        found.append(StepUpMethod.SMS_CODE)
    if method != SecondFactorMethod.NONE:
        found.append(StepUpMethod.RECOVERY_CODE)
    return found


def in_sentence(label: str) -> str:
    """A label inside a French sentence: « code reçu par SMS » (acronyms kept)."""
    return label[:1].lower() + label[1:]


def masked_destination(value: str) -> str:
    """Where a code went, as the screens show it: `c***@example.fr`, `+33 6 ** ** ** 09`."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = value.removeprefix("+33")
    return f"+33 {digits[:1]} ** ** ** {digits[-2:]}" if len(digits) >= 3 else "***"
