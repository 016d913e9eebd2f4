"""Signed, short-lived document links: `/documents/<token>` streams the PDF from the éditique.

The token names the document, its owner in the éditique and the person it was issued to, and
expires after `GATEWAY_DOWNLOAD_TTL_S` (5 minutes). It is signed with a key derived from the
gateway secret for this purpose only, so a session token can never serve as a link and back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import jwt

from gateway.errors import NotFound, Unauthenticated
from gateway.settings import Settings

AUDIENCE = "espace-client-download"
# The JOSE header PyJWT writes for HS256 (sorted keys, compact), base64url: the same for every link.
HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=")
# PyJWT's `json.dumps(claims, separators=(",", ":"))`, with its encoder built once, not per link
COMPACT = json.JSONEncoder(separators=(",", ":"))


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@dataclass(frozen=True, slots=True)
class Grant:
    document_id: str
    owner: str  # éditique idPersonne
    subject: str  # who the link was issued to


class DownloadLinks:
    def __init__(self, settings: Settings) -> None:
        secret = settings.jwt_secret.get_secret_value().encode()
        self.key = hmac.new(secret, b"document-download-links", hashlib.sha256).hexdigest()
        self._mac = hmac.new(self.key.encode(), digestmod=hashlib.sha256)
        self.ttl = settings.download_ttl_s

    def sign(self, grant: Grant, now: float | None = None) -> str:
        """The HS256 JWT `jwt.encode(claims, self.key, algorithm="HS256")` returns, byte for byte
        (a test holds it to that), without PyJWT's per-call key inspection (PEM/DER sniffing),
        which is half the cost of a link signed by PyJWT: a HomePage signs one per document. `check` verifies
        with PyJWT."""
        issued = int(now if now is not None else time.time())
        claims = {
            "doc": grant.document_id,
            "own": grant.owner,
            "sub": grant.subject,
            "aud": AUDIENCE,
            "iat": issued,
            "exp": issued + self.ttl,
        }
        signing_input = HEADER + b"." + _b64(COMPACT.encode(claims).encode())
        mac = self._mac.copy()
        mac.update(signing_input)
        return (signing_input + b"." + _b64(mac.digest())).decode()

    def check(self, token: str) -> Grant:
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=["HS256"],
                audience=AUDIENCE,
                options={"require": ["exp", "doc", "own", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("Ce lien de téléchargement a expiré.") from None
        except jwt.PyJWTError:
            raise NotFound("Ce document") from None
        return Grant(claims["doc"], claims["own"], claims["sub"])
