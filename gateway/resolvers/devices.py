"""Devices and sessions (« Appareils connectés »): opening a session for a sign-in, the alert of a
sign-in from a new device, the list of the account's sessions, ending one or all the others.

Every way in (`login`, `verifySecondFactor`, `loginWithPasskey`) opens its session here, labelled
with the device the user agent names and the way it was opened. A sign-in with a device id the
account never used posts `CONNEXION_NOUVEL_APPAREIL` once: its CRM idempotence key is derived from
the account and the device, so a repeat after a lost answer, a second gateway process or a sign-in
racing this one is the same notification, never a second one; the device is recorded as known once
the CRM has it. The sign-in stands even if the alert cannot be posted (logged; the next sign-in
from that device posts it, under the same key).

Ending a session deletes it in the shared store: every process refuses its access tokens within
`GATEWAY_SESSION_CHECK_S`, its refresh token at once.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import structlog

from gateway.adapters.crm.security import CrmSecurity
from gateway.context import Context
from gateway.domain.accounts import Authenticated
from gateway.domain.security import SignInMethod
from gateway.errors import BackendError, Forbidden
from gateway.identity import devices
from gateway.identity.sessions import Device, IssuedSession, OpenSession
from gateway.resolvers import events
from gateway.resolvers.problems import Problem, Refused

log = structlog.get_logger("gateway.devices")

CURRENT_SESSION = Problem(
    "id", "CURRENT_SESSION", "Pour cet appareil, utilisez « Se déconnecter »."
)
UNKNOWN_SESSION = Problem("id", "UNKNOWN", "Cette session est introuvable ou déjà terminée.")


def session_key(sid: str) -> str:
    """The graph's key of a session: 128 bits of its id's SHA-256 (the id itself stays inside the
    tokens of that session)."""
    raw = hashlib.sha256(sid.encode()).digest()[:16]
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# ---- signing in ---------------------------------------------------------------------------------
async def open_session(
    ctx: Context, who: Authenticated, method: SignInMethod, given_device: str | None = None
) -> IssuedSession:
    """The session of a successful sign-in, and the new-device alert when it is one."""
    label = devices.device_label(ctx.request.headers.get("user-agent"))
    session = await ctx.services.sessions.open(
        who.client_id, who.group, Device(label, method.value)
    )
    device = devices.device_id(ctx.request.headers, given_device)
    if device is not None:
        await signed_in_from(ctx, who.client_id, device, label)
    events.after_sign_in(ctx, who.client_id)  # what happened since they last looked, posted
    return session


async def signed_in_from(ctx: Context, client_id: str, device: str, label: str) -> None:
    store = ctx.services.store
    seen = await devices.seen(store, client_id, device)
    if seen == devices.Seen.NEW:
        body = {
            "evenement": "CONNEXION_NOUVEL_APPAREIL",
            "titre": "Connexion depuis un nouvel appareil",
            "message": f"Une connexion à votre espace client a eu lieu depuis un nouvel appareil "
            f"({label}). Si ce n'est pas vous, changez votre mot de passe et déconnectez cet "
            "appareil dans « Connexion et sécurité ».",
            "lien": "/connexion-et-securite",
            "cleIdempotence": f"gw-dev-{devices.device_digest(client_id, device)[:48]}",
        }
        try:
            await CrmSecurity(ctx.services.backends.crm.transport).notify(client_id, body)
        except BackendError as exc:  # the sign-in stands; the next one posts it again
            log.warning("new_device_alert_not_posted", error=type(exc).__name__)
            return
    if seen != devices.Seen.KNOWN:
        await devices.remember(store, client_id, device)


# ---- « Appareils connectés » --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ListedSession:
    key: str
    open: OpenSession
    current: bool


def own_subject(ctx: Context) -> tuple[str, str | None]:
    principal = ctx.require_principal()
    if principal.is_staff:
        raise Forbidden("Seul le client peut gérer ses appareils.")
    return principal.subject, principal.session


async def sessions_of(ctx: Context, client_id: str) -> list[ListedSession]:
    """The account's open sessions, last seen first; the viewer's own marked `current`."""
    principal = ctx.principal
    current = principal.session if principal and principal.subject == client_id else None
    found = await ctx.services.sessions.open_sessions(client_id)
    return [ListedSession(session_key(s.sid), s, s.sid == current) for s in found]


async def end_session(ctx: Context, key: str) -> None:
    client_id, current = own_subject(ctx)
    for listed in await ctx.services.sessions.open_sessions(client_id):
        if session_key(listed.sid) == key:
            if listed.sid == current:
                raise Refused([CURRENT_SESSION])
            await ctx.services.sessions.end(listed.sid)
            return
    raise Refused([UNKNOWN_SESSION])


async def end_other_sessions(ctx: Context) -> int:
    client_id, current = own_subject(ctx)
    return await ctx.services.sessions.end_others(client_id, keep=current)
