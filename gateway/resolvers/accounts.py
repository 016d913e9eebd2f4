"""Account use cases: register, activate, sign in, stay signed in, recover, secure, join accounts.

Order in every use case: the gateway's own checks (formats, confirmation, password policy), then
the rate limits (spent before the CRM is even called), then one CRM call, then the sessions.
What the customer can fix is a `Problem` (a typed userError); a back-end or store failure is a
`GatewayError`. Nothing here logs a password, a token, a reset link or an e-mail address.

Brute force (limits spent before the CRM is called): `identity/brute_force.py`.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import date

import structlog
from stdnum.fr import siret as siret_number

from gateway.adapters.crm.accounts import CrmAccounts, Refusal
from gateway.context import Context
from gateway.domain.accounts import (
    CompanyIdentity,
    IndividualIdentity,
    broken_password_rules,
)
from gateway.domain.records import Customer
from gateway.domain.security import SecondFactorMethod, SignInMethod
from gateway.errors import Forbidden, NotFound
from gateway.identity.brute_force import (
    LOGIN_PER_ID,
    REGISTER_PER_EMAIL,
    REGISTER_PER_IP,
    RESET_PER_EMAIL,
    RESET_PER_IP,
    AccountLocked,
    hashed,
)
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
    "Votre compte est verrouillé après 5 essais infructueux. Pour le débloquer, choisissez un "
    "nouveau mot de passe avec « Mot de passe oublié » : un lien vous sera envoyé par e-mail.",
)
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
    limits = ctx.services.rate_limits
    await limits.hit(REGISTER_PER_IP, "register-ip", ctx.client_ip, fail_open=False)
    await limits.hit(REGISTER_PER_EMAIL, "register-email", hashed(email), fail_open=False)
    refused = await crm(ctx).register(identity, email.strip())
    if refused is None:
        return []
    prefix = "individual" if isinstance(identity, IndividualIdentity) else "company"
    if refused.code == "IDENTITE_NON_RECONNUE":
        return [IDENTITY_NOT_RECOGNISED]
    if refused.code == "CONFLIT" and "email" in refused.fields:
        return [
            Problem(
                "email", "EMAIL_TAKEN", "Cette adresse e-mail est déjà celle d'un autre compte."
            )
        ]
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


async def login(ctx: Context, login: str, password: str, device: str | None = None) -> LoginResult:
    try:
        await ctx.services.brute_force.check_password(login, ctx.client_ip)
    except AccountLocked:
        return LoginResult(None, [LOCKED])
    if not (0 < len(login) <= 254 and 0 < len(password) <= 256):
        return LoginResult(None, [INVALID_CREDENTIALS])
    outcome = await crm(ctx).authenticate(login.strip(), password)
    await ctx.services.brute_force.remember_outcome(login, outcome)
    if isinstance(outcome, Refusal):
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
    limits = ctx.services.rate_limits
    await limits.hit(RESET_PER_IP, "reset-ip", ctx.client_ip, fail_open=False)
    await limits.hit(RESET_PER_EMAIL, "reset-email", hashed(cleaned), fail_open=False)
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
async def link_account(
    ctx: Context, login: str, password: str
) -> tuple[Customer | None, list[Problem]]:
    """Join another individual account (its login and password) to the viewer's."""
    client_id = own_client_id(ctx)
    try:
        await ctx.services.brute_force.check_password(login, ctx.client_ip)
    except AccountLocked:
        return None, [other_locked()]
    if not (0 < len(login) <= 254 and 0 < len(password) <= 256):
        return None, [INVALID_CREDENTIALS]
    joined = await crm(ctx).join(client_id, login.strip(), password)
    if isinstance(joined, Refusal):
        if joined.status in (401, 423):
            await ctx.services.brute_force.remember_outcome(login, joined)
            return None, [other_locked() if joined.status == 423 else INVALID_CREDENTIALS]
        if joined.status == 404:
            return None, [
                Problem(None, "LINK_REFUSED", "Votre compte doit être actif pour être rattaché.")
            ]
        return None, [
            Problem(
                "login",
                "LINK_REFUSED",
                "Seul le compte d'un autre particulier peut être rattaché au vôtre.",
            )
        ]
    await ctx.services.rate_limits.clear(LOGIN_PER_ID, "login", hashed(login))
    await ctx.services.sessions.remember_group(joined)
    return await ctx.loaders.customer(client_id), []


def other_locked() -> Problem:
    return Problem(
        "login",
        "LOCKED",
        "Ce compte est verrouillé après 5 essais infructueux. Pour le débloquer, choisissez-lui "
        "un nouveau mot de passe avec « Mot de passe oublié ».",
    )


async def group(ctx: Context, client_id: str) -> list[Customer]:
    """The other accounts joined with `client_id`'s (the CRM's own list), as customers."""
    members = await crm(ctx).group(client_id)
    found = await asyncio.gather(*(ctx.loaders.customer(m) for m in members if m != client_id))
    return [c for c in found if c is not None]


async def linked(ctx: Context, client_id: str) -> tuple[Customer, ...]:
    """The other accounts joined to the viewer's, as its sessions know them (none: `()`)."""
    members = await ctx.services.sessions.group(client_id)
    if len(members) <= 1:
        return ()
    found = await asyncio.gather(*(ctx.loaders.customer(m) for m in members if m != client_id))
    return tuple(c for c in found if c is not None and not c.is_company)
