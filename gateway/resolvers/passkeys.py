"""Passkey use cases: add one (options, then the authenticator's answer), sign in with one
(the app's biometric unlock), list, rename, delete.

Order in every use case: the gateway's own checks (the name, the ceremony token, the JSON), then
the limits (spent before the CRM is asked), then the ceremony's checks (`identity/passkeys.py`),
then the CRM. A passkey is named in the graph by a digest of its credential id and found again in
the viewer's own list, so another customer's passkey reads as unknown. Every change (added,
renamed, deleted) posts `SECURITE_COMPTE` once, under a key of its own; the change stands even if
that alert cannot be posted (logged). A passwordless sign-in spends the sign-in limits of the IP
and of the credential (`identity/brute_force.py`), and opens a session only once the CRM recorded
the assertion's counter; that session is strongly authenticated (a passkey is a proof on its own).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import structlog

from gateway.adapters.crm.accounts import Refusal
from gateway.adapters.crm.passkeys import CrmPasskeys
from gateway.context import Context
from gateway.domain.accounts import AccountStatus
from gateway.domain.passkeys import MAX_PASSKEYS, StoredPasskey, name_problem
from gateway.domain.security import SignInMethod, StepUpMethod
from gateway.errors import NotFound
from gateway.identity.brute_force import LOGIN_PER_IP
from gateway.identity.passkeys import (
    Ceremony,
    CeremonyInvalid,
    CredentialRefused,
    RelyingParty,
    credential_id_of,
)
from gateway.identity.sessions import IssuedSession
from gateway.resolvers import step_up
from gateway.resolvers.accounts import LOCKED, own_client_id
from gateway.resolvers.devices import open_session
from gateway.resolvers.problems import Problem, Refused

log = structlog.get_logger("gateway.passkeys")

CEREMONY_SPENT = Problem(
    "ceremonyToken",
    "INVALID_TOKEN",
    "Cette demande a expiré ou a déjà servi : recommencez l'opération.",
)
PASSKEY_INVALID = Problem(
    "credentialJSON", "PASSKEY_INVALID", "La clé d'accès n'a pas pu être vérifiée."
)
PASSKEY_LIMIT = Problem(
    None,
    "PASSKEY_LIMIT",
    f"Nombre maximal de clés d'accès atteint ({MAX_PASSKEYS}) : supprimez-en une d'abord.",
)
ALREADY_REGISTERED = Problem(
    "credentialJSON", "ALREADY_REGISTERED", "Cette clé d'accès est déjà enregistrée."
)
UNKNOWN_PASSKEY = Problem("id", "UNKNOWN", "Cette clé d'accès est introuvable.")
PASSKEY_PER_CREDENTIAL = "5/15 minutes"  # failed sign-ins with one credential


def crm(ctx: Context) -> CrmPasskeys:
    return CrmPasskeys(ctx.services.backends.crm.transport)


def relying_party(ctx: Context) -> RelyingParty:
    return RelyingParty(ctx.services.store, ctx.services.settings)


def passkey_key(credential_id: str) -> str:
    """The graph's key of a passkey: 128 bits of the credential id's SHA-256 (ids run to 1 364
    characters, global ids to 100)."""
    raw = hashlib.sha256(credential_id.encode()).digest()[:16]
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# ---- reading -----------------------------------------------------------------------------------
async def passkeys_of(ctx: Context, client_id: str, status: AccountStatus) -> list[StoredPasskey]:
    if status in (AccountStatus.NONE, AccountStatus.PENDING_ACTIVATION):
        return []  # the CRM keeps passkeys of live accounts only
    return list(await crm(ctx).list(client_id))


async def own_passkey(ctx: Context, client_id: str, key: str) -> StoredPasskey:
    for found in await crm(ctx).list(client_id):
        if passkey_key(found.credential_id) == key:
            return found
    raise Refused([UNKNOWN_PASSKEY])


# ---- adding ------------------------------------------------------------------------------------
async def registration_options(ctx: Context) -> Ceremony:
    client_id = own_client_id(ctx)
    customer = await ctx.loaders.customer(client_id)
    if customer is None or customer.account_status == AccountStatus.NONE:
        raise NotFound("Ce compte")
    if customer.account_status == AccountStatus.LOCKED:
        raise Refused([LOCKED])
    existing = await crm(ctx).list(client_id)
    if len(existing) >= MAX_PASSKEYS:
        raise Refused([PASSKEY_LIMIT])
    return await relying_party(ctx).begin_registration(
        ctx.require_principal(),
        customer.login or client_id,
        customer.display_name,
        [k.credential_id for k in existing],
    )


async def register(ctx: Context, token: str, credential_json: str, name: str) -> StoredPasskey:
    client_id = own_client_id(ctx)
    why = name_problem(name)
    if why is not None:  # before the ceremony is spent: the customer fixes the name and goes on
        raise Refused([Problem("name", "INVALID", why)])
    try:
        new = await relying_party(ctx).finish_registration(
            ctx.require_principal(), token, credential_json
        )
    except CeremonyInvalid:
        raise Refused([CEREMONY_SPENT]) from None
    except CredentialRefused as exc:
        log.info("passkey_registration_refused", reason=str(exc))
        raise Refused([PASSKEY_INVALID]) from None
    added = await crm(ctx).register(client_id, new, name.strip())
    if isinstance(added, Refusal):
        raise Refused([crm_refusal(added)])
    await alert(
        ctx,
        client_id,
        "Nouvelle clé d'accès",
        f"La clé d'accès « {added.name} » a été ajoutée à votre compte. Si ce n'est pas vous, "
        "supprimez-la et changez votre mot de passe.",
    )
    return added


def crm_refusal(refused: Refusal) -> Problem:
    if refused.status == 423:
        return LOCKED
    if refused.status == 409 and "credentialId" in refused.fields:
        return ALREADY_REGISTERED
    if refused.status == 409:
        return PASSKEY_LIMIT
    if refused.status == 404:
        return UNKNOWN_PASSKEY
    return Problem(None, "REFUSED", "Le système de gestion a refusé cette clé d'accès.")


# ---- renaming and deleting ---------------------------------------------------------------------
async def rename(ctx: Context, key: str, name: str) -> StoredPasskey:
    client_id = own_client_id(ctx)
    why = name_problem(name)
    if why is not None:
        raise Refused([Problem("name", "INVALID", why)])
    found = await own_passkey(ctx, client_id, key)
    renamed = await crm(ctx).rename(client_id, found.credential_id, name.strip())
    if isinstance(renamed, Refusal):
        raise Refused([crm_refusal(renamed)])
    await alert(
        ctx,
        client_id,
        "Clé d'accès renommée",
        f"La clé d'accès « {found.name} » s'appelle désormais « {renamed.name} ».",
    )
    return renamed


async def delete(ctx: Context, key: str) -> None:
    client_id = own_client_id(ctx)
    found = await own_passkey(ctx, client_id, key)
    refused = await crm(ctx).delete(client_id, found.credential_id)
    if refused is not None:
        raise Refused([crm_refusal(refused)])
    await alert(
        ctx,
        client_id,
        "Clé d'accès supprimée",
        f"La clé d'accès « {found.name} » a été supprimée : elle n'ouvre plus votre compte.",
    )


async def alert(ctx: Context, client_id: str, title: str, message: str) -> None:
    """`SECURITE_COMPTE` for one change (`step_up.alert`: one key, repeated after a lost answer)."""
    await step_up.alert(ctx, client_id, message, title=title)


# ---- signing in --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PasskeyLogin:
    session: IssuedSession | None
    problems: list[Problem]


async def login_options(ctx: Context) -> Ceremony:
    return await relying_party(ctx).begin_login()


async def login(
    ctx: Context, token: str, credential_json: str, device: str | None = None
) -> PasskeyLogin:
    """A session from a verified assertion: no password, no second factor."""
    try:
        credential_id = credential_id_of(credential_json)
    except CredentialRefused:
        return PasskeyLogin(None, [PASSKEY_INVALID])
    limits = ctx.services.rate_limits
    await limits.hit(LOGIN_PER_IP, "login-ip", ctx.client_ip, fail_open=False)
    keyed = ctx.services.brute_force.keyed(credential_id)
    await limits.hit(PASSKEY_PER_CREDENTIAL, "login-passkey", keyed, fail_open=False)
    rp = relying_party(ctx)
    try:
        challenge = await rp.claim_login(token)
    except CeremonyInvalid:
        return PasskeyLogin(None, [CEREMONY_SPENT])
    owner = await crm(ctx).owner(credential_id)
    if owner is None:  # deleted, or never registered: the same answer as a bad signature
        return PasskeyLogin(None, [PASSKEY_INVALID])
    try:
        count = rp.check_assertion(challenge, credential_json, owner)
    except CredentialRefused as exc:
        log.info("passkey_assertion_refused", reason=str(exc))
        return PasskeyLogin(None, [PASSKEY_INVALID])
    if owner.locked:  # told only to the passkey's holder: the signature checked out
        return PasskeyLogin(None, [LOCKED])
    recorded = await crm(ctx).record_assertion(credential_id, count)
    if isinstance(recorded, Refusal):  # 409: a counter that went backwards (a clone)
        return PasskeyLogin(None, [LOCKED if recorded.status == 423 else PASSKEY_INVALID])
    await limits.clear(PASSKEY_PER_CREDENTIAL, "login-passkey", keyed)
    session = await open_session(ctx, recorded, SignInMethod.PASSKEY, device)
    await ctx.services.strong_auth.prove(
        f"sid:{session.sid}", StepUpMethod.PASSKEY, ctx.services.settings.refresh_ttl_s
    )
    return PasskeyLogin(session, [])
