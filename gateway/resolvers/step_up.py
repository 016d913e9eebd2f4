"""Step-up: a strong proof before a sensitive act, and the acts that need one.

Changing bank details, terminating a contract and changing the password call `require_strong`
(or `strong_problems`) before anything is written: without a proof of this session in the last 10
minutes they are refused with `STEP_UP_REQUIRED`, whose message names the proofs the account can
give, and no write reaches a back-end (the account's state is read to name them). The refusal
comes before the idempotency record is claimed, so the same `idempotencyKey` sent again after
`verifyStepUp` is the first attempt, and exactly-once holds as for any act.

`requestStepUp` opens a challenge for one of the account's `stepUpMethods` (and, for
EMAIL_CODE / SMS_CODE, has the CRM send a SENSITIVE_ACT code); `verifyStepUp` has the CRM check
the code (counted towards the lock, like the sign-in's codes, with the sign-in's brute-force
allowance spent first) and records the proof on the session (`identity/strong_auth.py`).

PASSKEY (offered when the account has a passkey): `requestStepUp` begins a WebAuthn ceremony
bound to this session, allowing only the account's own credentials, and the challenge carries its
`PublicKeyCredentialRequestOptionsJSON`; `verifyStepUp` spends that ceremony, checks the assertion
(`identity/passkeys.py`: origin, relying party, user verification, signature, counter) against a
credential of this account, and has the CRM record the new counter before the proof is recorded.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import structlog

from gateway.adapters.crm.accounts import Refusal
from gateway.adapters.crm.passkeys import CrmPasskeys
from gateway.adapters.crm.security import CodeLimit, CrmSecurity
from gateway.context import Context
from gateway.domain.accounts import Authenticated
from gateway.domain.security import (
    CODE_PATTERN,
    AccountSecurityState,
    CodeChannel,
    CodeSent,
    StepUpMethod,
    in_sentence,
    masked_destination,
    step_up_methods,
)
from gateway.errors import Forbidden, NotFound
from gateway.identity.brute_force import AccountLocked
from gateway.identity.passkeys import (
    Ceremony,
    CeremonyInvalid,
    CredentialRefused,
    RelyingParty,
    credential_id_of,
)
from gateway.identity.strong_auth import StepUpChallenge, holder_of
from gateway.platform.rate_limiter import TooManyRequests
from gateway.resolvers.idempotency import Idempotency, exactly_once
from gateway.resolvers.problems import Problem, Refused

log = structlog.get_logger("gateway.security")

CODES_PER_MINUTE = "1/minute"  # the CRM's one-time-code rate per account, spent here first
CODES_PER_HOUR = "5/hour"
INVALID_CODE = Problem("code", "INVALID_CODE", "Code incorrect ou expiré.")
LOCKED_BY_CODES = Problem(
    None,
    "LOCKED",
    "Votre compte est verrouillé après 5 essais infructueux. Pour le débloquer, choisissez un "
    "nouveau mot de passe avec « Mot de passe oublié » : un lien vous sera envoyé par e-mail.",
)
STEP_UP_EXPIRED = Problem(
    "challengeToken",
    "INVALID_TOKEN",
    "Cette confirmation a expiré ou a déjà servi : recommencez.",
)
CODE_METHODS = {StepUpMethod.EMAIL_CODE: CodeChannel.EMAIL, StepUpMethod.SMS_CODE: CodeChannel.SMS}


class CodesLimited(Refused):
    """TOO_MANY_CODES: nothing sent; another code may be asked in `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            [Problem(None, "TOO_MANY_CODES", "Trop de codes demandés : réessayez plus tard.")]
        )
        self.retry_after = retry_after


def crm_security(ctx: Context) -> CrmSecurity:
    return CrmSecurity(ctx.services.backends.crm.transport)


def holder(ctx: Context) -> str:
    return holder_of(ctx.require_principal(), ctx.request.headers.get("authorization"))


def own_client_id(ctx: Context) -> str:
    principal = ctx.require_principal()
    if principal.is_staff:
        raise Forbidden("Seul le client peut gérer son compte.")
    return principal.subject


def well_formed(code: str | None) -> bool:
    return code is not None and re.fullmatch(CODE_PATTERN, code.strip()) is not None


# ---- which proofs -------------------------------------------------------------------------------
async def available_methods(
    ctx: Context, client_id: str, state: AccountSecurityState | None = None
) -> list[StepUpMethod]:
    state = state or await crm_security(ctx).state(client_id)
    if state is None:
        raise NotFound("Ce compte")
    customer = await ctx.loaders.customer(client_id)
    return step_up_methods(state, has_mobile=bool(customer and customer.mobile))


def step_up_required(methods: list[StepUpMethod]) -> Problem:
    named = " ou ".join(in_sentence(m.label) for m in methods) or "un code reçu par e-mail"
    return Problem(
        None, "STEP_UP_REQUIRED", f"Confirmez votre identité pour cette opération : {named}."
    )


async def strong_problems(ctx: Context) -> list[Problem]:
    """[] when this session proved a strong authentication in the last 10 minutes; else the
    STEP_UP_REQUIRED problem naming the proofs the account can give (LOCKED: it can give none)."""
    client_id = own_client_id(ctx)
    if await ctx.services.strong_auth.valid_until(holder(ctx)) is not None:
        return []
    state = await crm_security(ctx).state(client_id)
    if state is not None and state.locked:
        return [LOCKED_BY_CODES]
    return [step_up_required(await available_methods(ctx, client_id, state))]


async def require_strong(ctx: Context) -> None:
    problems = await strong_problems(ctx)
    if problems:
        raise Refused(problems)


async def valid_until(ctx: Context) -> datetime | None:
    return await ctx.services.strong_auth.valid_until(holder(ctx))


# ---- codes sent ---------------------------------------------------------------------------------
async def spend_code_allowance(ctx: Context, client_id: str) -> None:
    """The CRM's rate of one-time codes, counted by the gateway before the CRM is asked."""
    limits = ctx.services.rate_limits
    try:
        await limits.hit(CODES_PER_MINUTE, "codes-minute", client_id, fail_open=False)
        await limits.hit(CODES_PER_HOUR, "codes-hour", client_id, fail_open=False)
    except TooManyRequests as exc:
        raise CodesLimited(exc.retry_after) from None


def sent_or_refused(found: CodeSent | Refusal | CodeLimit, field: str) -> CodeSent:
    if isinstance(found, CodeLimit):
        raise CodesLimited(found.retry_after)
    if isinstance(found, Refusal):
        if found.status == 423:
            raise Refused([LOCKED_BY_CODES])
        if found.status == 409 and "canal" in found.fields:
            raise Refused(
                [Problem(field, "INVALID", "Aucun code n'est envoyé par ce canal pour ce compte.")]
            )
        raise Refused([Problem(field, "INVALID", "Aucun code ne peut être envoyé pour ce compte.")])
    return found


@dataclass(frozen=True, slots=True)
class Sent:
    channel: CodeChannel
    sent_to: str  # masked
    expires_at: datetime

    def encoded(self) -> str:
        return json.dumps([self.channel.value, self.sent_to, self.expires_at.isoformat()])

    @classmethod
    def decoded(cls, value: str) -> Sent:
        channel, sent_to, expires = json.loads(value)
        return cls(CodeChannel(channel), sent_to, datetime.fromisoformat(expires))


async def send_code_once(
    ctx: Context,
    mutation: str,
    client_id: str,
    key: str,
    channel: CodeChannel,
    purpose: str,
    values: Mapping[str, object],
) -> Sent:
    """One code per (mutation, account, key): a retry with the same key sends nothing new
    (after a lost answer the CRM's outcome is unknown: the next retry sends a new code, which
    supersedes the one that may have gone)."""
    claim = await Idempotency(ctx.services.store).claim(mutation, client_id, key, values)

    async def perform() -> str:
        await spend_code_allowance(ctx, client_id)
        found = await crm_security(ctx).send_code(client_id, channel, purpose)
        sent = sent_or_refused(found, "channel")
        return Sent(sent.channel, masked_destination(sent.sent_to), sent.expires_at).encoded()

    async def reconcile(first_at: float) -> str | None:
        return None  # the CRM keeps no trace of a code sent that the gateway could look up

    return Sent.decoded(await exactly_once(claim, perform=perform, reconcile=reconcile))


# ---- requestStepUp / verifyStepUp ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StepUpRequest:
    challenge: StepUpChallenge
    sent_to: str | None
    passkey_options_json: str | None


async def request_step_up(ctx: Context, key: str, method: StepUpMethod) -> StepUpRequest:
    client_id = own_client_id(ctx)
    if method not in await available_methods(ctx, client_id):
        raise Refused(
            [Problem("method", "INVALID", "Cette preuve n'est pas disponible pour votre compte.")]
        )
    sent_to = options = None
    if method in CODE_METHODS:
        sent = await send_code_once(
            ctx,
            "requestStepUp",
            client_id,
            key,
            CODE_METHODS[method],
            "SENSITIVE_ACT",
            {"method": method.value},
        )
        sent_to = sent.sent_to
    ceremony = None
    if method == StepUpMethod.PASSKEY:
        ceremony = await passkey_ceremony(ctx, client_id)
        options = ceremony.options_json
    challenge = await ctx.services.strong_auth.open_step_up(
        holder(ctx), client_id, method, ceremony.token if ceremony else None
    )
    return StepUpRequest(challenge, sent_to, options)


async def verify_step_up(
    ctx: Context, token: str, code: str | None, passkey_json: str | None
) -> datetime:
    """Until when this session may do sensitive acts; `Refused` with what to fix otherwise."""
    client_id = own_client_id(ctx)
    strong = ctx.services.strong_auth
    challenge = await strong.step_up(token, holder(ctx))
    if challenge is None or challenge.subject != client_id:
        raise Refused([STEP_UP_EXPIRED])
    if challenge.method == StepUpMethod.PASSKEY:
        await passkey_proof(ctx, challenge, passkey_json)
    else:
        await checked_code(ctx, client_id, code, "SENSITIVE_ACT")
    if not await strong.spend(token):
        raise Refused([STEP_UP_EXPIRED])
    return await strong.prove(
        challenge.holder, challenge.method, ctx.services.settings.refresh_ttl_s
    )


async def checked_code(ctx: Context, client_id: str, code: str | None, purpose: str) -> int:
    """A code checked by the CRM (counted towards its lock), the sign-in's brute-force allowance
    spent first: the recovery codes left, or `Refused` (INVALID_CODE, LOCKED)."""
    if not well_formed(code):
        raise Refused([INVALID_CODE])
    assert code is not None
    customer = await ctx.loaders.customer(client_id)
    login = (customer.login if customer else None) or client_id
    return await verified(ctx, client_id, login, code, purpose)


async def verified(ctx: Context, client_id: str, login: str, code: str, purpose: str) -> int:
    brute_force = ctx.services.brute_force
    try:
        attempt = await brute_force.check_code(login, ctx.client_ip)
    except AccountLocked:
        raise Refused([LOCKED_BY_CODES]) from None
    found = await crm_security(ctx).verify(client_id, code.strip(), purpose)
    if isinstance(found, Refusal):
        await brute_force.remember_outcome(attempt, found)
        if found.status == 423:
            raise Refused([LOCKED_BY_CODES])
        if found.status == 401:
            raise Refused([INVALID_CODE])
        raise Refused([STEP_UP_EXPIRED])  # 409: nothing to verify for the account's method now
    await brute_force.remember_outcome(attempt, Authenticated(client_id, False, (client_id,)))
    return found


# ---- passkeys ----------------------------------------------------------------------------------
PASSKEY_REFUSED = Problem(
    "passkeyCredentialJSON", "PASSKEY_INVALID", "La clé d'accès n'a pas pu être vérifiée."
)


def relying_party(ctx: Context) -> RelyingParty:
    return RelyingParty(ctx.services.store, ctx.services.settings)


async def passkey_ceremony(ctx: Context, client_id: str) -> Ceremony:
    """Request options naming the account's own passkeys, bound to this session."""
    owned = await CrmPasskeys(ctx.services.backends.crm.transport).list(client_id)
    if not owned:
        raise Refused(
            [Problem("method", "INVALID", "Cette preuve n'est pas disponible pour votre compte.")]
        )
    principal = ctx.require_principal()
    return await relying_party(ctx).begin_step_up(principal, [k.credential_id for k in owned])


async def passkey_proof(
    ctx: Context, challenge: StepUpChallenge, credential_json: str | None
) -> None:
    """The AuthenticationResponseJSON checked against the challenge's ceremony, by a passkey of
    this account; the CRM records its counter. `Refused` otherwise (nothing recorded)."""
    if not credential_json or challenge.ceremony is None:
        raise Refused([PASSKEY_REFUSED])
    try:
        credential_id = credential_id_of(credential_json)
    except CredentialRefused:
        raise Refused([PASSKEY_REFUSED]) from None
    rp = relying_party(ctx)
    try:
        expected = await rp.claim_step_up(challenge.ceremony, ctx.require_principal())
    except CeremonyInvalid:
        raise Refused([STEP_UP_EXPIRED]) from None
    crm = CrmPasskeys(ctx.services.backends.crm.transport)
    owner = await crm.owner(credential_id)
    if owner is None or owner.client_id != challenge.subject:
        raise Refused([PASSKEY_REFUSED])
    try:
        count = rp.check_assertion(expected, credential_json, owner)
    except CredentialRefused as exc:
        log.info("step_up_passkey_refused", reason=str(exc))
        raise Refused([PASSKEY_REFUSED]) from None
    if owner.locked:
        raise Refused([LOCKED_BY_CODES])
    recorded = await crm.record_assertion(credential_id, count)
    if isinstance(recorded, Refusal):
        raise Refused([LOCKED_BY_CODES if recorded.status == 423 else PASSKEY_REFUSED])


# ---- the security alert -------------------------------------------------------------------------
async def alert(
    ctx: Context, client_id: str, message: str, title: str = "Sécurité de votre compte"
) -> None:
    """Post `SECURITE_COMPTE` once (the CRM's idempotence key, repeated after a lost answer). The
    change is done whatever happens here: a failure is logged, never the customer's problem.
    Every change of « Connexion et sécurité » posts through here (password, second factor,
    passkeys)."""
    body = {
        "evenement": "SECURITE_COMPTE",
        "titre": title,
        "message": f"{message} Si vous n'êtes pas à l'origine de ce changement, réinitialisez "
        "votre mot de passe et contactez-nous.",
        "lien": "/mon-compte/connexion-et-securite",
        "cleIdempotence": f"gw-sec-{uuid.uuid4().hex}",
    }
    try:
        await crm_security(ctx).notify(client_id, body)
    except Exception as exc:
        log.warning("security_alert_not_sent", error=type(exc).__name__)
