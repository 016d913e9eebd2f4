"""Passkey mutations: add (options, then the authenticator's answer), sign in without a password,
rename, delete. The rules live in `resolvers/passkeys.py`.

`generatePasskeyLoginOptions` and `loginWithPasskey` need no token (they are among the gate's
anonymous fields, and `[Anyone]` here); the others are the signed-in customer's own (`[Customer]`).
"""

from __future__ import annotations

import strawberry

from gateway.domain.passkeys import StoredPasskey
from gateway.errors import NotFound
from gateway.identity.passkeys import Ceremony
from gateway.resolvers import passkeys
from gateway.resolvers.accounts import LoginResult
from gateway.resolvers.problems import Problem
from gateway.schema.common import Info
from gateway.schema.ids import from_global
from gateway.schema.payloads import payload
from gateway.schema.permissions import Anyone, Customer
from gateway.schema.security.passkeys import (
    DeletePasskeyPayload,
    Passkey,
    PasskeyCeremony,
    PasskeyCeremonyPayload,
    PasskeyLoginInput,
    PasskeyPayload,
    RegisterPasskeyInput,
    RenamePasskeyInput,
)
from gateway.schema.security.sessions import SessionPayload, session_payload
from gateway.schema.user_errors import UserError

MAX_DEVICE_ID = 128


def ceremony_payload(found: Ceremony | None, errors: list[UserError]) -> PasskeyCeremonyPayload:
    return PasskeyCeremonyPayload(
        ceremony=PasskeyCeremony.of(found) if found else None, user_errors=errors
    )


def passkey_payload(found: StoredPasskey | None, errors: list[UserError]) -> PasskeyPayload:
    return PasskeyPayload(passkey=Passkey(stored=found) if found else None, user_errors=errors)


def key_of(global_id: str) -> str:
    """The key of a passkey's global id ("" for an id of anything else: then it is unknown)."""
    try:
        return from_global(global_id, "Passkey")[1]
    except NotFound:
        return ""


@strawberry.type(description="Passkeys: the app's biometric unlock.")
class PasskeysMutation:
    @strawberry.mutation(
        description="Options to create a passkey (signed in).", permission_classes=[Customer]
    )
    async def generate_passkey_registration_options(self, info: Info) -> PasskeyCeremonyPayload:
        return await payload(ceremony_payload, passkeys.registration_options(info.context))

    @strawberry.mutation(
        description="Add the passkey the authenticator created.", permission_classes=[Customer]
    )
    async def register_passkey(self, info: Info, input: RegisterPasskeyInput) -> PasskeyPayload:
        return await payload(
            passkey_payload,
            passkeys.register(
                info.context, input.ceremony_token, input.credential_json, input.name
            ),
        )

    @strawberry.mutation(
        description="Options to sign in with a passkey (no token).", permission_classes=[Anyone]
    )
    async def generate_passkey_login_options(self, info: Info) -> PasskeyCeremonyPayload:
        return await payload(ceremony_payload, passkeys.login_options(info.context))

    @strawberry.mutation(
        description="Sign in with a passkey (no token): no password, no second factor.",
        permission_classes=[Anyone],
    )
    async def login_with_passkey(self, info: Info, input: PasskeyLoginInput) -> SessionPayload:
        if input.device_id is not None and not 0 < len(input.device_id) <= MAX_DEVICE_ID:
            problems = [Problem("deviceId", "INVALID", "Identifiant d'appareil invalide.")]
            return session_payload(LoginResult(None, problems))
        found = await passkeys.login(
            info.context, input.ceremony_token, input.credential_json, input.device_id
        )
        return session_payload(LoginResult(found.session, found.problems))

    @strawberry.mutation(description="Rename a passkey.", permission_classes=[Customer])
    async def rename_passkey(self, info: Info, input: RenamePasskeyInput) -> PasskeyPayload:
        return await payload(
            passkey_payload, passkeys.rename(info.context, key_of(input.id), input.name)
        )

    @strawberry.mutation(description="Delete a passkey.", permission_classes=[Customer])
    async def delete_passkey(self, info: Info, id: strawberry.ID) -> DeletePasskeyPayload:
        async def work() -> strawberry.ID:
            await passkeys.delete(info.context, key_of(id))
            return id

        return await payload(
            lambda deleted, errors: DeletePasskeyPayload(deleted_id=deleted, user_errors=errors),
            work(),
        )
