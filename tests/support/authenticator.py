"""A software passkey authenticator, as a phone's platform authenticator answers a browser.

It reads the gateway's WebAuthn Level 3 options JSON and answers what `PublicKeyCredential.toJSON()`
gives a web page: a `RegistrationResponseJSON` (ES256 key on P-256 made with `cryptography`, "none"
attestation, attested credential data in CBOR) or an `AuthenticationResponseJSON` (the signature
over authenticator data and the client data's hash). Flags UP and UV (the biometric check passed),
a signature counter that increases with each assertion. `clone()` copies a credential with its
key and counter, as a cloned authenticator would hold it. Nothing here is the gateway's code: the
gateway verifies these answers with py_webauthn.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, encode_cbor

UP, UV, AT = 0x01, 0x04, 0x40
AAGUID = bytes.fromhex("fbfc3007154e4ecc8c0b6e020557d7bd")  # the CRM document's example model


@dataclass
class Credential:
    id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    counter: int = 0

    @property
    def id_b64(self) -> str:
        return bytes_to_base64url(self.id)


def cose_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    numbers = key.public_key().public_numbers()
    return encode_cbor(
        {
            1: 2,  # kty: EC2
            3: -7,  # alg: ES256
            -1: 1,  # crv: P-256
            -2: numbers.x.to_bytes(32, "big"),
            -3: numbers.y.to_bytes(32, "big"),
        }
    )


def client_data(kind: str, challenge: str, origin: str) -> bytes:
    return json.dumps(
        {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False},
        separators=(",", ":"),
    ).encode()


@dataclass
class SoftAuthenticator:
    origin: str = "http://localhost"
    credentials: dict[str, Credential] = field(default_factory=dict)
    flags: int = UP | UV

    def create(
        self, options_json: str, *, origin: str | None = None, credential_id: bytes | None = None
    ) -> str:
        """`navigator.credentials.create()` for the gateway's creation options, as JSON (a
        `credential_id` of the test's choosing plays an authenticator reusing its ids)."""
        options: dict[str, Any] = json.loads(options_json)
        rp_id = options["rp"]["id"]
        excluded = {c["id"] for c in options.get("excludeCredentials", [])}
        if excluded & set(self.credentials):
            raise ValueError("InvalidStateError: this authenticator already holds a passkey here")
        credential = Credential(
            id=credential_id or secrets.token_bytes(20),
            key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=rp_id,
            user_handle=base64url_to_bytes(options["user"]["id"]),
        )
        self.credentials[credential.id_b64] = credential
        attested = AAGUID + struct.pack(">H", len(credential.id)) + credential.id
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([self.flags | AT])
            + struct.pack(">I", credential.counter)
            + attested
            + cose_key(credential.key)
        )
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        data = client_data("webauthn.create", options["challenge"], origin or self.origin)
        return json.dumps(
            {
                "id": credential.id_b64,
                "rawId": credential.id_b64,
                "type": "public-key",
                "authenticatorAttachment": "platform",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": bytes_to_base64url(data),
                    "attestationObject": bytes_to_base64url(attestation),
                    "transports": ["internal", "hybrid"],
                },
            }
        )

    def get(
        self, options_json: str, credential_id: str | None = None, *, origin: str | None = None
    ) -> str:
        """`navigator.credentials.get()`: the passkey the customer picks (the only one held when
        `credential_id` is None) signs the gateway's challenge; its counter moves up by one."""
        options: dict[str, Any] = json.loads(options_json)
        chosen = self.credentials[credential_id or next(iter(self.credentials))]
        if options["rpId"] != chosen.rp_id:
            raise ValueError("NotAllowedError: no passkey for this relying party")
        chosen.counter += 1
        auth_data = (
            hashlib.sha256(chosen.rp_id.encode()).digest()
            + bytes([self.flags])
            + struct.pack(">I", chosen.counter)
        )
        data = client_data("webauthn.get", options["challenge"], origin or self.origin)
        signature = chosen.key.sign(
            auth_data + hashlib.sha256(data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return json.dumps(
            {
                "id": chosen.id_b64,
                "rawId": chosen.id_b64,
                "type": "public-key",
                "authenticatorAttachment": "platform",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": bytes_to_base64url(data),
                    "authenticatorData": bytes_to_base64url(auth_data),
                    "signature": bytes_to_base64url(signature),
                    "userHandle": bytes_to_base64url(chosen.user_handle),
                },
            }
        )

    def clone(self) -> SoftAuthenticator:
        """Another device holding copies of these credentials (same keys, same counters)."""
        held = {name: replace(c) for name, c in self.credentials.items()}  # keys are immutable
        return SoftAuthenticator(self.origin, held, self.flags)
