"""Passkeys in domain terms: a WebAuthn credential as the CRM stores it, and the rules of its name.

No I/O. The gateway is the relying party and verifies every ceremony (`identity/passkeys.py`);
the CRM stores each credential as given (public key, signature counter) and refuses a counter
that does not increase. `credential_id` is the authenticator's own id, base64url without padding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MAX_PASSKEYS = 10
NAME_MAX = 50
# WebAuthn AuthenticatorTransport values the CRM stores (anything else it refuses)
TRANSPORTS = ("usb", "nfc", "ble", "smart-card", "hybrid", "internal")


@dataclass(frozen=True, slots=True)
class StoredPasskey:
    """One passkey of an account, as listed (no public key)."""

    credential_id: str
    name: str
    transports: tuple[str, ...]
    sign_count: int
    created_at: datetime
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewPasskey:
    """A credential whose registration the relying party verified, ready for the CRM."""

    credential_id: str
    public_key: str  # COSE_Key, base64url without padding
    sign_count: int
    transports: tuple[str, ...]
    aaguid: str  # lower case, all zeros when the authenticator gives none


@dataclass(frozen=True, slots=True)
class PasskeyOwner:
    """A credential found by its id for a passwordless sign-in: whose it is, and how to check it."""

    credential_id: str
    client_id: str
    is_company: bool
    locked: bool
    public_key: str
    sign_count: int


def name_problem(name: str) -> str | None:
    """Why a passkey name is refused (French), or None; spaces at both ends do not count."""
    cleaned = name.strip()
    if not cleaned:
        return "Donnez un nom à cette clé d'accès."
    if len(cleaned) > NAME_MAX:
        return f"Le nom compte au plus {NAME_MAX} caractères."
    if not cleaned.isprintable():
        return "Le nom ne peut contenir de caractère de contrôle."
    return None
