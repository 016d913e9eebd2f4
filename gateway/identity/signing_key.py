"""The key the gateway signs its access tokens with, and the public half it publishes.

* development: HS256 with `GATEWAY_JWT_SECRET` (a shared secret: only the gateway can verify);
* production: an asymmetric private key, `GATEWAY_JWT_PRIVATE_KEY` (PEM text, or the path of a
  PEM file): an EC P-256 key signs ES256, an RSA key (2048 bits or more) RS256. Its public key is
  served at `/.well-known/jwks.json` with a `kid` (the RFC 7638 thumbprint), so another service
  verifies a gateway token without sharing any secret.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway.settings import Settings

THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: SHA-256 of the required members, sorted, without whitespace."""
    members = {k: jwk[k] for k in THUMBPRINT_MEMBERS[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":")).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def read_pem(value: str) -> bytes:
    text = value.strip()
    return text.encode() if text.startswith("-----BEGIN") else Path(text).read_bytes()


@dataclass(frozen=True)
class SigningKey:
    algorithm: str  # HS256, ES256 or RS256
    signing: Any  # the secret, or the private key
    verifying: Any  # the secret, or the public key
    kid: str | None = None
    public_jwk: dict[str, Any] | None = None

    @property
    def asymmetric(self) -> bool:
        return self.algorithm != "HS256"

    @classmethod
    def from_settings(cls, settings: Settings) -> SigningKey:
        if settings.jwt_private_key is None:
            secret = settings.jwt_secret.get_secret_value()
            return cls("HS256", secret, secret)
        private = load_pem_private_key(read_pem(settings.jwt_private_key.get_secret_value()), None)
        if isinstance(private, ec.EllipticCurvePrivateKey) and private.curve.name == "secp256r1":
            algorithm, jwk = "ES256", ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
        elif isinstance(private, rsa.RSAPrivateKey) and private.key_size >= 2048:
            algorithm, jwk = "RS256", RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
        else:
            raise ValueError("GATEWAY_JWT_PRIVATE_KEY: an EC P-256 or an RSA ≥ 2048-bit key")
        kid = thumbprint(jwk)
        public = {**jwk, "kid": kid, "alg": algorithm, "use": "sig"}
        return cls(algorithm, private, private.public_key(), kid, public)

    def sign(self, claims: dict[str, Any]) -> str:
        headers = {"kid": self.kid} if self.kid else None
        return jwt.encode(claims, self.signing, algorithm=self.algorithm, headers=headers)

    def jwks(self) -> dict[str, Any]:
        """The public keys other services verify gateway tokens with (none for a shared secret)."""
        return {"keys": [self.public_jwk] if self.public_jwk else []}
