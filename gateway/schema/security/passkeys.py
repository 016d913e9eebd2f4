"""Passkeys in the graph: `Passkey`, the WebAuthn ceremonies (`PasskeyCeremony`), the inputs and
payloads of their mutations (`passkey_mutations.py`).

WebAuthn travels as JSON strings, never as GraphQL objects: `PasskeyCeremony.optionsJSON` is the
Level 3 `PublicKeyCredentialCreationOptionsJSON` or `PublicKeyCredentialRequestOptionsJSON`, and
`credentialJSON` the `RegistrationResponseJSON` or `AuthenticationResponseJSON` of
`PublicKeyCredential.toJSON()`.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from gateway.domain.passkeys import StoredPasskey
from gateway.identity.passkeys import Ceremony
from gateway.resolvers.passkeys import passkey_key
from gateway.schema.ids import to_global
from gateway.schema.node import Node
from gateway.schema.user_errors import UserError


@strawberry.type(description="A passkey (WebAuthn credential): the app's biometric unlock.")
class Passkey(Node):
    stored: strawberry.Private[StoredPasskey]

    @strawberry.field(description="Opaque global id.")
    def id(self) -> strawberry.ID:
        return to_global("Passkey", passkey_key(self.stored.credential_id))

    @strawberry.field(
        description="WebAuthn credential id (base64url), to tell which passkey this device holds."
    )
    def credential_id(self) -> str:
        return self.stored.credential_id

    @strawberry.field(description="Name shown to the customer.")
    def name(self) -> str:
        return self.stored.name

    @strawberry.field(
        description="WebAuthn transports as registered (`internal`, `hybrid`, `usb`…); empty when "
        "unknown."
    )
    def transports(self) -> list[str]:
        return list(self.stored.transports)

    @strawberry.field(description="When it was added.")
    def created_at(self) -> datetime:
        return self.stored.created_at

    @strawberry.field(description="Last sign-in or step-up with it; null when never used.")
    def last_used_at(self) -> datetime | None:
        return self.stored.last_used_at


@strawberry.type(description="A WebAuthn ceremony started by the gateway.")
class PasskeyCeremony:
    token: str = strawberry.field(
        description="Opaque, single use: send it back with the credential."
    )
    options_json: str = strawberry.field(
        name="optionsJSON",
        description="JSON string: PublicKeyCredentialCreationOptionsJSON (registration) or "
        "PublicKeyCredentialRequestOptionsJSON (sign-in), WebAuthn Level 3.",
    )
    expires_at: datetime = strawberry.field(description="End of the ceremony (5 minutes).")

    @classmethod
    def of(cls, ceremony: Ceremony) -> PasskeyCeremony:
        return cls(
            token=ceremony.token,
            options_json=ceremony.options_json,
            expires_at=ceremony.expires_at,
        )


@strawberry.type(description="Result of starting a WebAuthn ceremony.")
class PasskeyCeremonyPayload:
    ceremony: PasskeyCeremony | None = strawberry.field(
        description="The ceremony; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


@strawberry.input(description="A new passkey, as the authenticator made it.")
class RegisterPasskeyInput:
    ceremony_token: str = strawberry.field(
        description="`PasskeyCeremony.token` of the registration options."
    )
    credential_json: str = strawberry.field(
        name="credentialJSON",
        description="JSON string: RegistrationResponseJSON (WebAuthn Level 3, "
        "PublicKeyCredential.toJSON()).",
    )
    name: str = strawberry.field(description="Name for the customer, 1 to 50 characters.")


@strawberry.input(description="A passwordless sign-in.")
class PasskeyLoginInput:
    ceremony_token: str = strawberry.field(
        description="`PasskeyCeremony.token` of the sign-in options."
    )
    credential_json: str = strawberry.field(
        name="credentialJSON",
        description="JSON string: AuthenticationResponseJSON (WebAuthn Level 3, "
        "PublicKeyCredential.toJSON()).",
    )
    device_id: str | None = strawberry.field(
        default=None, description="The id the app or browser keeps for this device."
    )


@strawberry.input(description="A new name for a passkey.")
class RenamePasskeyInput:
    id: strawberry.ID = strawberry.field(description="The passkey.")
    name: str = strawberry.field(description="1 to 50 characters.")


@strawberry.type(description="Result of adding or renaming a passkey.")
class PasskeyPayload:
    passkey: Passkey | None = strawberry.field(description="The passkey; null when refused.")
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")


@strawberry.type(description="Result of deleting a passkey.")
class DeletePasskeyPayload:
    deleted_id: strawberry.ID | None = strawberry.field(
        description="The id of the deleted passkey; null when refused."
    )
    user_errors: list[UserError] = strawberry.field(description="What to fix; empty on success.")
