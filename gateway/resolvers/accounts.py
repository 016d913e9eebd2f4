"""Account use cases: register, activate, sign in, stay signed in, recover, secure, join accounts.

Order in every use case: the gateway's own checks (formats, confirmation, password policy), then
the rate limits (spent before the CRM is even called), then one CRM call (a join: the other
account's password check, then the join), then the sessions.
What the customer can fix is a `Problem` (a typed userError); a back-end or store failure is a
`GatewayError`. Nothing here logs a password, a token, a reset link or an e-mail address.

Brute force (limits spent before the CRM is called, bound to devices): `identity/brute_force.py`.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import date

import structlog
from stdnum.fr import siret as siret_number

from gateway.adapters.crm.accounts import CrmAccounts, Refusal
from gateway.context import Context
from gateway.domain.accounts import (
    AccountStatus,
    CompanyIdentity,
    IndividualIdentity,
    broken_password_rules,
    same_person,
)
from gateway.domain.records import Customer
from gateway.domain.security import SecondFactorMethod, SignInMethod
from gateway.errors import BackendError, Forbidden, NotFound
from gateway.identity import devices
from gateway.identity.brute_force import AccountLocked
from gateway.identity.sessions import IssuedSession
from gateway.resolvers import second_factor, step_up
from gateway.resolvers.devices import open_session
from gateway.resolvers.problems import Problem, Refused
from gateway.resolvers.profile import normalised_email

log = structlog.get_logger("gateway.accounts")

TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,128}$")
CUSTOMER_NUMBER = re.compile(r"^[0-9]{8}$")
SITE_NUMBER = re.compile(r"^[0-9]{4}$")
CONFIDENTIAL_CODE = re.compile(r"^[A-Z0-9]{8}$")

INVALID_CREDENTIALS = Problem(None, "INVALID_CREDENTIALS", "Identifiant ou mot de passe incorrect.")
LOCKED = Problem(
    None,
    "LOCKED",
    "Votre compte est bloqué après plusieurs essais infructueux. Pour le débloquer, choisissez un "
    "nouveau mot de passe avec « Mot de passe oublié » : un lien vous sera envoyé par e-mail.",
)  # the CRM's lock and the gateway's own hold on strangers: one answer, they tell nothing apart
INVALID_TOKEN = Problem(
    "token",
    "INVALID_TOKEN",
    "Ce lien n'est plus valable (expiré, déjà utilisé ou remplacé par un lien plus récent). "
    "Demandez-en un nouveau.",
)
SESSION_ENDED = Problem(
    "refreshToken", "SESSION_ENDED", "Votre session a pris fin, veuillez vous reconnecter."
)
IDENTITY_NOT_RECOGNISED = Problem(
    None,
    "IDENTITY_NOT_RECOGNISED",
    "Les informations saisies ne correspondent à aucun adhérent. Vérifiez-les sur votre carte "
    "ou votre courrier de bienvenue.",
)


def crm(ctx: Context) -> CrmAccounts:
    return CrmAccounts(ctx.services.backends.crm.transport)


# ---- the gateway's own checks -------------------------------------------------------------------
def password_problems(password: str, confirmation: str, field: str) -> list[Problem]:
    problems = [Problem(field, "WEAK_PASSWORD", rule) for rule in broken_password_rules(password)]
    if confirmation != password:
        problems.append(
            Problem(f"{field}Confirmation", "MISMATCH", "Les deux mots de passe sont différents.")
        )
    return problems


def email_problems(email: str, confirmation: str) -> list[Problem]:
    cleaned = email.strip()
    if normalised_email(cleaned) is None:
        return [Problem("email", "INVALID", "Adresse e-mail invalide.")]
    if confirmation.strip().lower() != cleaned.lower():
        return [
            Problem("emailConfirmation", "MISMATCH", "Les deux adresses e-mail sont différentes.")
        ]
    return []


def individual_problems(who: IndividualIdentity, today: date) -> list[Problem]:
    problems = []
    if not CUSTOMER_NUMBER.match(who.customer_number):
        problems.append(
            Problem(
                "individual.customerNumber",
                "INVALID",
                "Le numéro d'adhérent compte 8 chiffres.",
            )
        )
    if not who.last_name.strip() or len(who.last_name) > 80:
        problems.append(Problem("individual.lastName", "REQUIRED", "Indiquez votre nom."))
    if not who.first_name.strip() or len(who.first_name) > 60:
        problems.append(Problem("individual.firstName", "REQUIRED", "Indiquez votre prénom."))
    if who.birth_date >= today:
        problems.append(
            Problem("individual.birthDate", "INVALID", "La date de naissance est invalide.")
        )
    return problems


def company_problems(who: CompanyIdentity) -> list[Problem]:
    problems = []
    if not CUSTOMER_NUMBER.match(who.customer_number):
        problems.append(
            Problem("company.customerNumber", "INVALID", "Le numéro d'adhérent compte 8 chiffres.")
        )
    if not SITE_NUMBER.match(who.site_number):
        problems.append(
            Problem("company.siteNumber", "INVALID", "Le numéro de site compte 4 chiffres.")
        )
    if not siret_number.is_valid(who.siret):
        problems.append(
            Problem("company.siret", "INVALID", "Ce numéro SIRET n'est pas valide (14 chiffres).")
        )
    if not CONFIDENTIAL_CODE.match(who.confidential_code):
        problems.append(
            Problem(
                "company.confidentialCode",
                "INVALID",
                "Le code confidentiel compte 8 lettres ou chiffres.",
            )
        )
    return problems


# ---- registration and activation ---------------------------------------------------------------
REGISTRATION_FIELDS = {
    "numeroAdherent": "customerNumber",
    "nom": "lastName",
    "prenom": "firstName",
    "dateNaissance": "birthDate",
    "numeroSite": "siteNumber",
    "siret": "siret",
    "codeConfidentiel": "confidentialCode",
}


async def register(
    ctx: Context,
    identity: IndividualIdentity | CompanyIdentity | None,
    email: str,
    email_confirmation: str,
    terms_accepted: bool,
) -> list[Problem]:
    problems: list[Problem] = []
    if identity is None:
        problems.append(
            Problem(
                None,
                "REQUIRED",
                "Indiquez l'identité d'un particulier ou celle d'une entreprise (l'une des deux).",
            )
        )
    elif isinstance(identity, IndividualIdentity):
        problems += individual_problems(identity, ctx.today)
    else:
        problems += company_problems(identity)
    problems += email_problems(email, email_confirmation)
    if not terms_accepted:
        problems.append(
            Problem(
                "termsAccepted",
                "TERMS_NOT_ACCEPTED",
                "Acceptez les conditions générales d'utilisation pour créer votre compte.",
            )
        )
    if problems or identity is None:
        return problems
    await ctx.services.brute_force.check_registration(email, ctx.client_ip)
    refused = await crm(ctx).register(identity, email.strip())
    if refused is None:
        return []
    prefix = "individual" if isinstance(identity, IndividualIdentity) else "company"
    if refused.code == "IDENTITE_NON_RECONNUE":
        return [IDENTITY_NOT_RECOGNISED]
    if refused.code == "CONFLIT" and "email" in refused.fields:
        # the same answer as a registration made: whether an address is some account's login is
        # nobody's business (the frontends say « si cette adresse peut être utilisée, vous
        # recevrez un e-mail »); the address's owner gets nothing, the registrant no link
        return []
    if refused.code == "CONFLIT":
        return [
            Problem(
                None,
                "ALREADY_REGISTERED",
                "Un compte existe déjà pour cet adhérent : connectez-vous, ou utilisez « Mot de "
                "passe oublié ».",
            )
        ]
    return crm_invalid(refused, prefix)


def crm_invalid(refused: Refusal, prefix: str) -> list[Problem]:
    fields = [REGISTRATION_FIELDS.get(f) for f in refused.fields]
    named = [f"{prefix}.{f}" if f else None for f in fields] or [None]
    return [Problem(f, "INVALID", "Cette valeur est refusée.") for f in named]


async def activate(ctx: Context, token: str, password: str, confirmation: str) -> list[Problem]:
    return await with_token(ctx, token, password, confirmation, reset=False)


async def reset_password(
    ctx: Context, token: str, password: str, confirmation: str
) -> list[Problem]:
    """A new password from the e-mailed link: unlocks the account and ends all its sessions."""
    return await with_token(ctx, token, password, confirmation, reset=True)


async def with_token(
    ctx: Context, token: str, password: str, confirmation: str, *, reset: bool
) -> list[Problem]:
    problems = [] if TOKEN.match(token) else [INVALID_TOKEN]
    problems += password_problems(password, confirmation, "password")
    if problems:
        return problems
    accounts = crm(ctx)
    done = await (accounts.reset if reset else accounts.activate)(token, password)
    if isinstance(done, Refusal):
        if done.code == "JETON_INVALIDE":
            return [INVALID_TOKEN]
        if done.code == "MOT_DE_PASSE_FAIBLE":
            return [weak_by_crm("password")]
        return [Problem(None, "INVALID", "Cette demande est refusée.")]
    if reset:
        await ctx.services.sessions.end_others(done, keep=None)
        await ctx.services.sessions.unprove(done)  # its group reads it again once it signs in
        found = await ctx.loaders.customer(done)
        if found is not None and found.login:
            await ctx.services.brute_force.forget_failures(found.login)
        await step_up.alert(ctx, done, "Le mot de passe de votre compte a été réinitialisé.")
    return []


def weak_by_crm(field: str) -> Problem:
    return Problem(
        field, "WEAK_PASSWORD", "Le mot de passe ne respecte pas les règles de sécurité."
    )


# ---- signing in --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LoginResult:
    session: IssuedSession | None
    problems: list[Problem]
    challenge: second_factor.Challenge | None = None  # with 2FA: the second step, no session


def device_id(ctx: Context, given: str | None = None) -> str | None:
    """The id the app or browser keeps for this device (`identity/devices.py`)."""
    return devices.device_id(ctx.request.headers, given)


async def at_least(started: float, floor_s: float) -> None:
    """A refusal is answered no sooner than `floor_s` after the attempt began, whichever way it
    was decided (the gateway's own allowance or the CRM): its timing tells nothing."""
    await asyncio.sleep(max(0.0, floor_s - (time.monotonic() - started)))


async def login(ctx: Context, login: str, password: str, device: str | None = None) -> LoginResult:
    started = time.monotonic()
    floor = ctx.services.settings.login_refusal_floor_s
    brute_force = ctx.services.brute_force
    try:
        attempt = await brute_force.check_password(login, ctx.client_ip, device_id(ctx, device))
    except AccountLocked:
        await at_least(started, floor)
        return LoginResult(None, [LOCKED])
    if not (0 < len(login) <= 254 and 0 < len(password) <= 256):
        await at_least(started, floor)
        return LoginResult(None, [INVALID_CREDENTIALS])
    outcome = await crm(ctx).authenticate(login.strip(), password)
    await brute_force.remember_outcome(attempt, outcome)
    if isinstance(outcome, Refusal):
        await at_least(started, floor)
        return LoginResult(None, [LOCKED if outcome.status == 423 else INVALID_CREDENTIALS])
    if outcome.second_factor != SecondFactorMethod.NONE:
        waiting = await second_factor.challenge(ctx, outcome, login.strip(), device)
        return LoginResult(None, [second_factor.SECOND_FACTOR_REQUIRED], waiting)
    session = await open_session(ctx, outcome, SignInMethod.PASSWORD, device)
    return LoginResult(session, [])


async def verify_second_factor(ctx: Context, token: str, code: str) -> LoginResult:
    try:
        return LoginResult(await second_factor.verify_sign_in(ctx, token, code), [])
    except Refused as refused:
        return LoginResult(None, refused.problems)


async def refresh(ctx: Context, refresh_token: str) -> LoginResult:
    session = await ctx.services.sessions.refresh(refresh_token)
    return LoginResult(session, [] if session else [SESSION_ENDED])


async def logout(ctx: Context, refresh_token: str) -> None:
    await ctx.services.sessions.logout(refresh_token)


# ---- recovering --------------------------------------------------------------------------------
_pending: set[asyncio.Task[None]] = set()


async def request_password_reset(ctx: Context, email: str) -> list[Problem]:
    """Same answer, same time, account or not: the CRM is asked after the answer is sent."""
    cleaned = email.strip()
    if normalised_email(cleaned) is None:
        return [Problem("email", "INVALID", "Adresse e-mail invalide.")]
    await ctx.services.brute_force.check_reset_request(cleaned, ctx.client_ip, device_id(ctx))
    task = asyncio.create_task(ask_for_reset(crm(ctx), cleaned))
    _pending.add(task)
    task.add_done_callback(_pending.discard)
    return []


async def ask_for_reset(accounts: CrmAccounts, email: str) -> None:
    try:
        await accounts.forgot_password(email)
    except Exception as exc:  # the customer was answered already; they may ask again
        log.warning("password_reset_request_failed", error=type(exc).__name__)


async def reset_requests_settled() -> None:
    """Wait for the reset requests still on their way to the CRM (tests, shutdown)."""
    if _pending:
        await asyncio.gather(*_pending, return_exceptions=True)


# ---- securing ----------------------------------------------------------------------------------
def own_client_id(ctx: Context) -> str:
    principal = ctx.require_principal()
    if principal.is_staff:
        raise Forbidden("Seul le client peut gérer son compte.")
    return principal.subject


async def change_password(ctx: Context, current: str, new: str, confirmation: str) -> list[Problem]:
    """The signed-in customer's new password; every other session of the account ends."""
    client_id = own_client_id(ctx)
    problems = password_problems(new, confirmation, "newPassword")
    if not current:
        problems.insert(
            0, Problem("currentPassword", "REQUIRED", "Indiquez votre mot de passe actuel.")
        )
    elif new == current:
        problems.append(
            Problem("newPassword", "INVALID", "Le nouveau mot de passe doit différer de l'actuel.")
        )
    if problems:
        return problems
    problems = await step_up.strong_problems(ctx)  # nothing is sent without a recent proof
    if problems:
        return problems
    refused = await crm(ctx).change_password(client_id, current, new)
    if refused is None:
        await ctx.services.sessions.end_others(client_id, keep=ctx.require_principal().session)
        await step_up.alert(ctx, client_id, "Le mot de passe de votre compte a été changé.")
        return []
    if refused.status == 423:
        return [LOCKED]
    if refused.status == 401:
        return [Problem("currentPassword", "INVALID_CREDENTIALS", "Mot de passe actuel incorrect.")]
    if refused.code == "MOT_DE_PASSE_FAIBLE":
        return [weak_by_crm("newPassword")]
    if refused.status == 404:
        raise NotFound("Ce compte")
    return [Problem("newPassword", "INVALID", "Ce mot de passe est refusé.")]


# ---- joining accounts --------------------------------------------------------------------------
LINK_REFUSED = Problem(
    "login", "LINK_REFUSED", "Seul le compte d'un autre particulier peut être rattaché au vôtre."
)
NOT_SAME_PERSON = Problem(
    "login",
    "LINK_REFUSED",
    "Seuls vos propres comptes peuvent être réunis : ce compte est au nom d'une autre personne "
    "(nom, prénom et date de naissance).",
)


async def link_account(
    ctx: Context, login: str, password: str
) -> tuple[Customer | None, list[Problem]]:
    """Join another account of the same person (its login and password) to the viewer's.

    The CRM checks neither who holds the other account nor anything but its password, and joins
    transitively: the other account's password is checked first (it names its client), the two
    clients must be one person, and only then does the CRM join them."""
    client_id = own_client_id(ctx)
    brute_force = ctx.services.brute_force
    try:  # the other account's allowances, with the viewer's device
        attempt = await brute_force.check_password(login, ctx.client_ip, device_id(ctx))
    except AccountLocked:
        return None, [other_locked()]
    if not (0 < len(login) <= 254 and 0 < len(password) <= 256):
        return None, [INVALID_CREDENTIALS]
    accounts = crm(ctx)
    other = await accounts.authenticate(login.strip(), password)
    await brute_force.remember_outcome(attempt, other)
    if isinstance(other, Refusal):
        return None, [other_locked() if other.status == 423 else INVALID_CREDENTIALS]
    if other.is_company or other.client_id == client_id:
        return None, [LINK_REFUSED]
    mine, theirs = await asyncio.gather(
        ctx.loaders.customer(client_id), ctx.loaders.customer(other.client_id)
    )
    if mine is None or theirs is None or not same_person(mine, theirs):
        return None, [NOT_SAME_PERSON]
    joined = await accounts.join(client_id, login.strip(), password)
    if isinstance(joined, Refusal):
        if joined.status in (401, 423):
            await brute_force.remember_outcome(attempt, joined)
            return None, [other_locked() if joined.status == 423 else INVALID_CREDENTIALS]
        if joined.status == 404:
            return None, [
                Problem(None, "LINK_REFUSED", "Votre compte doit être actif pour être rattaché.")
            ]
        return None, [LINK_REFUSED]
    sessions = ctx.services.sessions
    await sessions.prove(other.client_id)
    for member in joined:
        await sessions.note_group(member, joined)
    return mine, []


async def unlink_account(
    ctx: Context, customer_number: str
) -> tuple[Customer | None, list[Problem]]:
    """Take an account (by its numéro d'adhérent) out of the viewer's group; the viewer's own
    number: the viewer's account leaves the group."""
    client_id = own_client_id(ctx)
    mine = await ctx.loaders.customer(client_id)
    if mine is None:
        raise NotFound("Ce compte")
    accounts = crm(ctx)
    others = [m for m in await accounts.group(client_id) if m != client_id]
    found = await asyncio.gather(*(ctx.loaders.customer(m) for m in others))
    members = [c for c in found if c is not None]
    wanted = customer_number.strip()
    target = next((c for c in (mine, *members) if c.customer_number == wanted), None)
    if target is None or not members:
        return None, [
            Problem(
                "customerNumber",
                "NOT_LINKED",
                "Ce numéro d'adhérent n'est pas celui d'un compte réuni au vôtre.",
            )
        ]
    left = await accounts.leave(client_id, target.client_id)
    if isinstance(left, Refusal) and left.status not in (400, 404):  # 400/404: already out
        return None, [Problem("customerNumber", "INVALID", "Cette demande est refusée.")]
    if not isinstance(left, Refusal):
        await ctx.services.sessions.note_group(client_id, left)
        await ctx.services.sessions.note_group(target.client_id, (target.client_id,))
    return mine, []


def other_locked() -> Problem:
    return Problem(
        "login",
        "LOCKED",
        "Ce compte est bloqué après plusieurs essais infructueux. Pour le débloquer, choisissez-lui "
        "un nouveau mot de passe avec « Mot de passe oublié ».",
    )


async def crm_group(ctx: Context, client_id: str) -> tuple[str, ...]:
    """The CRM's group of `client_id` now (read once per request, briefly cached)."""
    return await ctx.loaders.once(("crm.group", client_id), crm(ctx).group, client_id)


async def joined(ctx: Context, client_id: str) -> list[tuple[Customer, bool]]:
    """The other accounts the CRM joins to `client_id`'s now, each with whether the viewer reads
    it: the same person, an active account, not seen locked, its own credentials proven since its
    last password reset. Nothing is remembered beyond the CRM's answer: its group, never a union.
    The CRM is asked only for an account it last said is joined to others (at its sign-in, a
    join): most viewers have no group and cost no call."""
    if not await ctx.services.sessions.grouped(client_id):
        return []
    members = [m for m in await crm_group(ctx, client_id) if m != client_id]
    if not members:
        return []
    sessions, brute_force = ctx.services.sessions, ctx.services.brute_force
    mine, *found = await asyncio.gather(
        ctx.loaders.customer(client_id), *(ctx.loaders.customer(m) for m in members)
    )
    proven = await asyncio.gather(*(sessions.proven(m) for m in members))
    result = []
    for customer, proof in zip(found, proven, strict=True):
        if customer is None:
            continue
        readable = (
            proof
            and mine is not None
            and same_person(mine, customer)
            and customer.account_status == AccountStatus.ACTIVE
            and not (customer.login and await brute_force.seen_locked(customer.login))
        )
        result.append((customer, readable))
    return result


async def group(ctx: Context, client_id: str) -> list[tuple[Customer, bool]]:
    """The other accounts joined with `client_id`'s (the CRM's own list), as customers, each with
    whether its contracts show."""
    return await joined(ctx, client_id)


async def linked(ctx: Context, client_id: str) -> tuple[Customer, ...]:
    """The other accounts whose data the viewer reads (none: `()`). The CRM cannot say: the
    viewer's own accounts only (the page is served, never wider)."""
    try:
        found = await joined(ctx, client_id)
    except BackendError as exc:
        log.warning("joined_accounts_unknown", error=exc.code)
        return ()
    return tuple(c for c, readable in found if readable)
