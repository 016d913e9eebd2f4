"""The WebAuthn relying party (py_webauthn): passkey ceremonies, their challenges, their checks.

A ceremony is a challenge the gateway issued, under an opaque token, single use, for 5 minutes:

    passkey-ceremony:<sha256>       {purpose, challenge, sub, sid}   the ceremony (purpose
                                                                     `register`, `login`,
                                                                     `step-up`)
    passkey-ceremony-used:<sha256>  {}                               claimed (`SET NX`) by the
                                                                     one answer that spends it

A registration, and a step-up (a passkey assertion proving the signed-in customer before a
sensitive act), is bound to the session that asked for it (`sub` and `sid`): its token is worth
nothing to another session or another customer. A sign-in ceremony belongs to nobody until its
assertion is checked. Every ceremony asks for user verification (the biometric unlock), and a
registration for a discoverable credential; the client data must carry one of
`GATEWAY_WEBAUTHN_ORIGINS` and the relying-party id `GATEWAY_WEBAUTHN_RP_ID`. Signature counters
are checked here against the CRM's and then by the CRM itself (`adapters/crm/passkeys.py`), which
keeps them. Nothing here logs a challenge, a token or a key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from gateway.domain.passkeys import TRANSPORTS, NewPasskey, PasskeyOwner
from gateway.identity.tokens import Principal
from gateway.platform.store import Store
from gateway.settings import Settings

CEREMONY_TTL_S = 300
MAX_CREDENTIAL_JSON = 16_384
Purpose = Literal["register", "login", "step-up"]


class CeremonyInvalid(Exception):
    """The token names no live ceremony of this purpose and session (expired, spent, forged)."""


class CredentialRefused(Exception):
    """The authenticator's answer does not verify (origin, challenge, signature, counter…)."""


@dataclass(frozen=True, slots=True)
class Ceremony:
    token: str
    options_json: str  # WebAuthn Level 3 PublicKeyCredential{Creation,Request}OptionsJSON
    expires_at: datetime


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def credential_id_of(credential_json: str) -> str:
    """The credential id an AuthenticationResponseJSON names (`rawId`), base64url."""
    return bytes_to_base64url(parsed_assertion(credential_json).raw_id)


def parsed_assertion(credential_json: str) -> AuthenticationCredential:
    if len(credential_json) > MAX_CREDENTIAL_JSON:
        raise CredentialRefused("too long")
    try:
        return parse_authentication_credential_json(credential_json)
    except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
        raise CredentialRefused("not an AuthenticationResponseJSON") from exc


class RelyingParty:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.rp_id = settings.webauthn_rp_id
        self.rp_name = settings.webauthn_rp_name
        self.origins = list(settings.webauthn_origins)
        self._handle_key = hmac.new(
            settings.jwt_secret.get_secret_value().encode(), b"webauthn-user-handle", "sha256"
        ).digest()

    def user_handle(self, client_id: str) -> bytes:
        """The account's WebAuthn user id: stable, opaque (no customer number, no e-mail)."""
        return hmac.new(self._handle_key, client_id.encode(), hashlib.sha256).digest()[:32]

    # ---- ceremonies --------------------------------------------------------------------------
    async def _begin(
        self, purpose: Purpose, challenge: bytes, options_json: str, who: Principal | None
    ) -> Ceremony:
        token = secrets.token_urlsafe(32)
        record = {
            "purpose": purpose,
            "challenge": bytes_to_base64url(challenge),
            "sub": who.subject if who else None,
            "sid": who.session if who else None,
        }
        await self.store.put(f"passkey-ceremony:{digest(token)}", record, CEREMONY_TTL_S)
        expires = datetime.fromtimestamp(int(time.time()) + CEREMONY_TTL_S, UTC)
        return Ceremony(token, options_json, expires)

    async def _claim(self, token: str, purpose: Purpose, who: Principal | None) -> bytes:
        """The ceremony's challenge, spent by this call (a second claim of it is refused)."""
        if not 20 <= len(token) <= 128:
            raise CeremonyInvalid()
        key = digest(token)
        record = await self.store.get(f"passkey-ceremony:{key}")
        if record is None or record["purpose"] != purpose:
            raise CeremonyInvalid()
        if who is not None and (record["sub"], record["sid"]) != (who.subject, who.session):
            raise CeremonyInvalid()
        if not await self.store.put(
            f"passkey-ceremony-used:{key}", {}, CEREMONY_TTL_S, only_if_absent=True
        ):
            raise CeremonyInvalid()
        await self.store.delete(f"passkey-ceremony:{key}")
        return base64url_to_bytes(record["challenge"])

    async def begin_registration(
        self, who: Principal, user_name: str, display_name: str, existing: list[str]
    ) -> Ceremony:
        options = generate_registration_options(
            rp_id=self.rp_id,
            rp_name=self.rp_name,
            user_id=self.user_handle(who.subject),
            user_name=user_name,
            user_display_name=display_name,
            timeout=CEREMONY_TTL_S * 1000,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in existing
            ],
        )
        return await self._begin("register", options.challenge, options_to_json(options), who)

    async def finish_registration(
        self, who: Principal, token: str, credential_json: str
    ) -> NewPasskey:
        """The verified credential; `CeremonyInvalid` or `CredentialRefused` otherwise."""
        challenge = await self._claim(token, "register", who)
        if len(credential_json) > MAX_CREDENTIAL_JSON:
            raise CredentialRefused("too long")
        try:
            credential = parse_registration_credential_json(credential_json)
            verified = verify_registration_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origins,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
            raise CredentialRefused(type(exc).__name__) from exc
        credential_id = bytes_to_base64url(verified.credential_id)
        if not 22 <= len(credential_id) <= 1364:  # 16 to 1023 bytes, as the CRM stores them
            raise CredentialRefused("credential id length")
        transports = [t.value for t in credential.response.transports or []]
        return NewPasskey(
            credential_id=credential_id,
            public_key=bytes_to_base64url(verified.credential_public_key),
            sign_count=verified.sign_count,
            transports=tuple(dict.fromkeys(t for t in transports if t in TRANSPORTS)),
            aaguid=verified.aaguid.lower(),
        )

    async def begin_login(self) -> Ceremony:
        options = generate_authentication_options(
            rp_id=self.rp_id,
            timeout=CEREMONY_TTL_S * 1000,
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return await self._begin("login", options.challenge, options_to_json(options), None)

    async def claim_login(self, token: str) -> bytes:
        return await self._claim(token, "login", None)

    async def begin_step_up(self, who: Principal, credential_ids: list[str]) -> Ceremony:
        """Request options proving the signed-in customer with one of their own passkeys."""
        options = generate_authentication_options(
            rp_id=self.rp_id,
            timeout=CEREMONY_TTL_S * 1000,
            allow_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in credential_ids
            ],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return await self._begin("step-up", options.challenge, options_to_json(options), who)

    async def claim_step_up(self, token: str, who: Principal) -> bytes:
        return await self._claim(token, "step-up", who)

    def check_assertion(self, challenge: bytes, credential_json: str, owner: PasskeyOwner) -> int:
        """The assertion's new signature counter, once its signature, origin, relying party, user
        verification, user handle and counter (above the stored one) all check out."""
        credential = parsed_assertion(credential_json)
        handle = credential.response.user_handle
        if handle is not None and not hmac.compare_digest(
            handle, self.user_handle(owner.client_id)
        ):
            raise CredentialRefused("user handle of another account")
        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=self.rp_id,
                expected_origin=self.origins,
                credential_public_key=base64url_to_bytes(owner.public_key),
                credential_current_sign_count=owner.sign_count,
                require_user_verification=True,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
            raise CredentialRefused(type(exc).__name__) from exc
        return verified.new_sign_count
