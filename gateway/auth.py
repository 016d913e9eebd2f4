"""Who is calling: the bearer JWT of the request.

Claims: `sub` = CRM client id (or a staff member's id), `role` = `customer` | `staff`,
`aud` = `espace-client`, `exp` required. In development tokens are HS256 with
`GATEWAY_JWT_SECRET`; with `GATEWAY_JWKS_URL` the identity provider's keys are fetched
asynchronously (PyJWT's own client would block the event loop) and cached by `kid`.

A token verified once is remembered until its `exp` (at most `VERIFIED_MAX` tokens by default, the oldest
forgotten first; all of them when the identity provider's keys are fetched again): a page's
requests carry the same token, and verifying it costs more than the rest of a cached page's
authentication and routing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import jwt

from .errors import Unauthenticated
from .settings import Settings

Role = Literal["customer", "staff"]
JWKS_REFRESH_S = 300
VERIFIED_MAX = 10_000
EXPIRED = "Session expirée, veuillez vous reconnecter."


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"


class TokenVerifier:
    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient | None = None,
        remember: int = VERIFIED_MAX,
    ) -> None:
        self.settings = settings
        self.remember = remember
        self.http = http
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self.verified: dict[str, tuple[Principal, float]] = {}  # token -> (principal, exp)

    def issue(self, subject: str, role: Role = "customer", ttl_s: int = 3600) -> str:
        """A development token (HS256), as `python -m gateway token` prints it."""
        now = int(time.time())
        claims = {
            "sub": subject,
            "role": role,
            "aud": self.settings.jwt_audience,
            "iat": now,
            "exp": now + ttl_s,
        }
        return jwt.encode(claims, self.settings.jwt_secret.get_secret_value(), algorithm="HS256")

    async def verify(self, authorization: str | None) -> Principal:
        if not authorization:
            raise Unauthenticated()
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("Jeton d'accès invalide.")
        known = self.verified.get(token)
        if known is not None:
            if time.time() < known[1]:
                return known[0]
            del self.verified[token]
            raise Unauthenticated(EXPIRED)
        principal, expires = await self._verify(token)
        if len(self.verified) >= self.remember:
            del self.verified[next(iter(self.verified))]
        self.verified[token] = (principal, expires)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            if self.settings.jwks_url:
                key: Any = await self._jwks_key(token)
                algorithms = list(self.settings.jwt_algorithms)
            else:
                key, algorithms = self.settings.jwt_secret.get_secret_value(), ["HS256"]
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.settings.jwt_audience,
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated(EXPIRED) from None
        except (jwt.PyJWTError, ValueError, KeyError):
            raise Unauthenticated("Jeton d'accès invalide.") from None
        role = claims.get("role", "customer")
        if role not in ("customer", "staff") or not isinstance(claims["sub"], str):
            raise Unauthenticated("Jeton d'accès invalide.")
        return Principal(claims["sub"], role), float(claims["exp"])

    async def _jwks_key(self, token: str) -> Any:
        kid = str(jwt.get_unverified_header(token).get("kid"))
        age = time.monotonic() - self._fetched_at
        if (
            kid not in self._keys and age > 1
        ) or age > JWKS_REFRESH_S:  # unknown kid: a rotation, at most 1/s
            await self._refresh()
        return self._keys[kid].key

    async def _refresh(self) -> None:
        assert self.settings.jwks_url
        client = self.http or httpx.AsyncClient(timeout=2)
        try:
            response = await client.get(self.settings.jwks_url)
            response.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(response.json()).keys
        except (httpx.HTTPError, jwt.PyJWTError, ValueError):
            raise Unauthenticated("Vérification du jeton impossible pour le moment.") from None
        finally:
            if self.http is None:
                await client.aclose()
        self._keys = {k.key_id: k for k in keys if k.key_id}
        self._fetched_at = time.monotonic()
        self.verified.clear()  # a key may have been withdrawn: verify every token again
