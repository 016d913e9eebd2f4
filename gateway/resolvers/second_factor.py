"""Two-factor authentication: activation (TOTP, e-mail, SMS), confirmation with the 10 recovery
codes shown once, disabling, renewing the recovery codes, and the sign-in's second step.

A password login on an account whose method is not NONE opens no session: it answers a
`SecondFactorChallenge` (opaque, 5 minutes, single use once verified; for EMAIL / SMS the first
code is sent at once), which `verifySecondFactor` turns into a session marked strongly
authenticated. Codes are checked by the CRM, which counts the wrong ones towards its lock (5 in a
row); the sign-in's brute-force allowance (`identity/brute_force.py`) is spent before each check,
and the one-time-code rate before each code sent (`step_up.py`). The CRM holds every secret: a
TOTP secret or recovery code passes through an answer, never into a store or a log.

Every change of the second factor posts the `SECURITE_COMPTE` alert once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from gateway.adapters.crm.accounts import Refusal
from gateway.adapters.crm.security import Activated, CodeLimit
from gateway.context import Context
from gateway.domain.accounts import Authenticated
from gateway.domain.security import (
    AccountSecurityState,
    CodeChannel,
    Enrolment,
    SecondFactorMethod,
    SecondFactorState,
    SignInMethod,
    StepUpMethod,
    in_sentence,
    masked_destination,
)
from gateway.errors import NotFound
from gateway.identity.brute_force import AccountLocked
from gateway.identity.sessions import IssuedSession
from gateway.identity.strong_auth import SignInChallenge
from gateway.resolvers.devices import open_session
from gateway.resolvers.problems import Problem, Refused
from gateway.resolvers.step_up import (
    INVALID_CODE,
    LOCKED_BY_CODES,
    STEP_UP_EXPIRED,
    CodesLimited,
    Sent,
    alert,
    available_methods,
    crm_security,
    holder,
    own_client_id,
    send_code_once,
    spend_code_allowance,
    valid_until,
    verified,
    well_formed,
)

SECOND_FACTOR_REQUIRED = Problem(
    None, "SECOND_FACTOR_REQUIRED", "Saisissez le code de votre double authentification."
)
CHALLENGE_EXPIRED = Problem(
    "challengeToken",
    "INVALID_TOKEN",
    "Cette étape de connexion a expiré ou a déjà servi : reconnectez-vous.",
)
ACTIVE = Problem(
    "method",
    "SECOND_FACTOR_ACTIVE",
    "La double authentification est déjà activée : désactivez-la d'abord.",
)
INACTIVE = Problem(None, "SECOND_FACTOR_INACTIVE", "La double authentification n'est pas activée.")
NO_PENDING = Problem("code", "NO_PENDING_ENROLMENT", "Aucune activation en cours : recommencez.")
NO_MOBILE = Problem("method", "NO_MOBILE", "Aucun numéro de mobile enregistré.")
CHANNELS = {SecondFactorMethod.EMAIL: CodeChannel.EMAIL, SecondFactorMethod.SMS: CodeChannel.SMS}
T = TypeVar("T")
NO_ACCOUNT = AccountSecurityState(
    False, SecondFactorState(SecondFactorMethod.NONE, None, 0), None, 0
)
PROOF_OF = {
    SecondFactorMethod.TOTP: StepUpMethod.TOTP,
    SecondFactorMethod.EMAIL: StepUpMethod.EMAIL_CODE,
    SecondFactorMethod.SMS: StepUpMethod.SMS_CODE,
}


# ---- what « Connexion et sécurité » shows -------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SecurityView:
    state: AccountSecurityState
    step_up_methods: list[StepUpMethod]
    valid_until: datetime | None


async def security_of(ctx: Context, client_id: str) -> SecurityView:
    """The account's strong authentication; an account not yet activated has none."""
    state = await crm_security(ctx).state(client_id)
    if state is None:
        return SecurityView(NO_ACCOUNT, [], None)
    methods = await available_methods(ctx, client_id, state)
    principal = ctx.principal
    own = principal is not None and not principal.is_staff and principal.subject == client_id
    return SecurityView(state, methods, await valid_until(ctx) if own else None)


# ---- activation ---------------------------------------------------------------------------------
async def enrol(ctx: Context, method: SecondFactorMethod) -> Enrolment:
    client_id = own_client_id(ctx)
    if method == SecondFactorMethod.NONE:
        raise Refused([Problem("method", "INVALID", "Choisissez une méthode.")])
    if method in CHANNELS:
        await spend_code_allowance(ctx, client_id)  # the activation sends a first code
    found = await crm_security(ctx).enrol(client_id, method)
    if isinstance(found, CodeLimit):
        raise CodesLimited(found.retry_after)
    if isinstance(found, Refusal):
        if found.status == 423:
            raise Refused([LOCKED_BY_CODES])
        state = await crm_security(ctx).state(client_id)
        if state is not None and state.second_factor.method != SecondFactorMethod.NONE:
            raise Refused([ACTIVE])
        raise Refused([NO_MOBILE if method == SecondFactorMethod.SMS else ACTIVE])
    sent_to = masked_destination(found.sent_to) if found.sent_to else None
    return Enrolment(found.method, found.totp_secret, found.otpauth_uri, sent_to, found.expires_at)


async def confirm(ctx: Context, code: str) -> Activated:
    client_id = own_client_id(ctx)
    if not well_formed(code) or len(code.strip()) != 6:
        raise Refused([INVALID_CODE])
    found = await crm_security(ctx).confirm(client_id, code.strip())
    if isinstance(found, Refusal):
        if found.status == 423:
            raise Refused([LOCKED_BY_CODES])
        raise Refused([INVALID_CODE if found.status == 401 else NO_PENDING])
    await alert(
        ctx,
        client_id,
        f"La double authentification a été activée sur votre compte "
        f"({in_sentence(found.second_factor.method.label)}).",
    )
    return found


async def disable(ctx: Context, code: str) -> SecondFactorState:
    """The code given is the act's own proof (checked as a SENSITIVE_ACT code by the CRM)."""
    client_id = own_client_id(ctx)
    await has_second_factor(ctx, client_id)
    login = await login_of(ctx, client_id)
    await verified_shape(code)
    crm = crm_security(ctx)
    found = await guarded(ctx, client_id, login, lambda: crm.disable(client_id, code.strip()))
    await alert(ctx, client_id, "La double authentification a été désactivée sur votre compte.")
    return found


async def renew_recovery_codes(
    ctx: Context, code: str
) -> tuple[tuple[str, ...], SecondFactorState]:
    client_id = own_client_id(ctx)
    state = await has_second_factor(ctx, client_id)
    login = await login_of(ctx, client_id)
    await verified_shape(code)
    crm = crm_security(ctx)
    found = await guarded(
        ctx, client_id, login, lambda: crm.renew_recovery_codes(client_id, code.strip())
    )
    await alert(ctx, client_id, "De nouveaux codes de secours ont été générés pour votre compte.")
    after = SecondFactorState(state.second_factor.method, state.second_factor.since, len(found))
    return found, after


async def has_second_factor(ctx: Context, client_id: str) -> AccountSecurityState:
    state = await crm_security(ctx).state(client_id)
    if state is None:
        raise NotFound("Ce compte")
    if state.second_factor.method == SecondFactorMethod.NONE:
        raise Refused([INACTIVE])
    return state


async def login_of(ctx: Context, client_id: str) -> str:
    customer = await ctx.loaders.customer(client_id)
    return (customer.login if customer else None) or client_id


async def verified_shape(code: str) -> None:
    if not well_formed(code):
        raise Refused([INVALID_CODE])


async def guarded(
    ctx: Context, client_id: str, login: str, call: Callable[[], Awaitable[T | Refusal]]
) -> T:
    """A CRM write checking a code: the brute-force allowance spent first, the outcome counted."""
    brute_force = ctx.services.brute_force
    try:
        attempt = await brute_force.check_code(login, ctx.client_ip)
    except AccountLocked:
        raise Refused([LOCKED_BY_CODES]) from None
    found = await call()
    if isinstance(found, Refusal):
        await brute_force.remember_outcome(attempt, found)
        if found.status == 423:
            raise Refused([LOCKED_BY_CODES])
        if found.status == 409:
            raise Refused([INACTIVE])
        raise Refused([INVALID_CODE])
    await brute_force.remember_outcome(attempt, Authenticated(client_id, False, (client_id,)))
    return found


# ---- signing in ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Challenge:
    challenge: SignInChallenge
    method: SecondFactorMethod
    sent_to: str | None


async def challenge(
    ctx: Context, who: Authenticated, login: str, device: str | None = None
) -> Challenge:
    """A right password on an account with 2FA: the challenge (and the first code sent)."""
    opened = await ctx.services.strong_auth.open_sign_in(who, login, device)
    sent_to = None
    channel = CHANNELS.get(who.second_factor)
    if channel is not None:
        try:
            await spend_code_allowance(ctx, who.client_id)
            found = await crm_security(ctx).send_code(who.client_id, channel, "SIGN_IN")
        except CodesLimited:
            found = None  # a code sent a moment ago is still valid; « Renvoyer le code » later
        if found is not None and not isinstance(found, Refusal | CodeLimit):
            sent_to = masked_destination(found.sent_to)
    return Challenge(opened, who.second_factor, sent_to)


async def verify_sign_in(ctx: Context, token: str, code: str) -> IssuedSession:
    strong = ctx.services.strong_auth
    found = await strong.sign_in(token)
    if found is None:
        raise Refused([CHALLENGE_EXPIRED])
    who = found.authenticated
    if not well_formed(code):
        raise Refused([INVALID_CODE])
    await verified(ctx, who.client_id, found.login, code, "SIGN_IN")
    if not await strong.spend(token):
        raise Refused([CHALLENGE_EXPIRED])
    session = await open_session(ctx, who, SignInMethod.PASSWORD_AND_SECOND_FACTOR, found.device)
    recovery = len(code.strip()) != 6
    method = StepUpMethod.RECOVERY_CODE if recovery else PROOF_OF[who.second_factor]
    await strong.prove(f"sid:{session.sid}", method, ctx.services.settings.refresh_ttl_s)
    return session


# ---- one-time codes -----------------------------------------------------------------------------
async def send_one_time_code(
    ctx: Context, key: str, purpose: str, channel: CodeChannel, token: str | None
) -> Sent:
    values = {"purpose": purpose, "channel": channel.value}
    if purpose == "SIGN_IN":
        found = await ctx.services.strong_auth.sign_in(token or "")
        if found is None:
            raise Refused([CHALLENGE_EXPIRED])
        client_id = found.authenticated.client_id
    else:
        client_id = own_client_id(ctx)
        if token is not None and await ctx.services.strong_auth.step_up(token, holder(ctx)) is None:
            raise Refused([STEP_UP_EXPIRED])
    return await send_code_once(ctx, "sendOneTimeCode", client_id, key, channel, purpose, values)
