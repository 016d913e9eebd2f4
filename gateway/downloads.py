"""Signed, short-lived document links: `/documents/<token>` streams the PDF from the éditique.

The token names the document, its owner in the éditique and the person it was issued to, and
expires after `GATEWAY_DOWNLOAD_TTL_S` (5 minutes). It is signed with a key derived from the
gateway secret for this purpose only, so a session token can never serve as a link and back.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

import jwt

from .errors import NotFound, Unauthenticated
from .settings import Settings

AUDIENCE = "espace-client-download"


@dataclass(frozen=True, slots=True)
class Grant:
    document_id: str
    owner: str  # éditique idPersonne
    subject: str  # who the link was issued to


class DownloadLinks:
    def __init__(self, settings: Settings) -> None:
        secret = settings.jwt_secret.get_secret_value().encode()
        self.key = hmac.new(secret, b"document-download-links", hashlib.sha256).hexdigest()
        self.ttl = settings.download_ttl_s

    def sign(self, grant: Grant, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "doc": grant.document_id,
            "own": grant.owner,
            "sub": grant.subject,
            "aud": AUDIENCE,
            "iat": issued,
            "exp": issued + self.ttl,
        }
        return jwt.encode(claims, self.key, algorithm="HS256")

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
