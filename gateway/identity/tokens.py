"""Who is calling: the bearer JWT of the request.

Claims: `sub` = CRM client id (or a staff member's id), `role` = `customer` | `staff`,
`aud` = `espace-client`, `exp` required; `sid` when the gateway's own login issued it (then the
session must still live: `sessions.py`). The gateway's own tokens are checked with its key
(`keys.py`: HS256 with `GATEWAY_JWT_SECRET` in development, the public half of
`GATEWAY_JWT_PRIVATE_KEY` otherwise, recognised by its `kid`); with `GATEWAY_JWKS_URL` an
identity provider's tokens are accepted too, its keys fetched asynchronously (PyJWT's own client
would block the event loop) and cached by `kid`. The key set is fetched the way the back-ends are
reached (`egress.Client`: the `GATEWAY_BACKEND_*` CA and client certificate, the standard proxy
variables).

A token verified once is remembered until its `exp` (at most `VERIFIED_MAX` tokens, the oldest
forgotten first; all of them when the identity provider's keys are fetched again): a page's
requests carry the same token, and verifying its signature costs more than the rest of a cached
page's authentication and routing. The session of a remembered token is still checked on every
request (`sessions.check`, itself cached a few seconds), so a revoked session stops working.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import httpx
import jwt
import orjson

from gateway.adapters.transport.egress import Client, Egress, ExchangeFailed
from gateway.errors import Unauthenticated
from gateway.identity.signing_key import SigningKey
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.identity.sessions import Sessions

Role = Literal["customer", "staff"]
JWKS_REFRESH_S = 300
JWKS_TIMEOUT_S = 2.0
JWKS_UNKNOWN_KID_REFRESH_S = 10  # a rotation shows within seconds; random kids cannot drive fetches
TIME_CLAIMS = ("exp", "nbf", "iat")
VERIFIED_MAX = 10_000
EXPIRED = "Session expirée, veuillez vous reconnecter."


class Answer(Protocol):
    @property
    def status_code(self) -> int: ...
    @property
    def content(self) -> bytes: ...


class Fetcher(Protocol):
    """What fetches the key set: an `egress.Client`, or a test's httpx client."""

    async def request(self, method: str, url: str) -> Answer: ...


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role
    session: str | None = None  # `sid`: a session opened by the gateway's login

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"


class TokenVerifier:
    def __init__(
        self,
        settings: Settings,
        http: Fetcher | None = None,
        sessions: Sessions | None = None,
        remember: int = VERIFIED_MAX,
    ) -> None:
        self.settings = settings
        self.remember = remember
        self.http = http
        self.sessions = sessions
        self.key = sessions.key if sessions else SigningKey.from_settings(settings)
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._refreshing = asyncio.Lock()
        self.verified: dict[str, tuple[Principal, float]] = {}  # token -> (principal, exp)

    def issue(self, subject: str, role: Role = "customer", ttl_s: int = 3600) -> str:
        """A token without session, as `python -m gateway token` prints it (development)."""
        now = int(time.time())
        claims = {
            "sub": subject,
            "role": role,
            "aud": self.settings.jwt_audience,
            "iat": now,
            "exp": now + ttl_s,
        }
        return self.key.sign(claims)

    async def verify(self, authorization: str | None) -> Principal:
        if not authorization:
            raise Unauthenticated()
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("Jeton d'accès invalide.")
        known = self.verified.get(token)
        if known is not None:
            if time.time() >= known[1]:
                del self.verified[token]
                raise Unauthenticated(EXPIRED)
            principal = known[0]
        else:
            principal, expires = await self._verify(token)
            if len(self.verified) >= self.remember:
                del self.verified[next(iter(self.verified))]
            self.verified[token] = (principal, expires)
        if principal.session is not None and self.sessions is not None:  # a revoked session is
            await self.sessions.check(
                principal.session, principal.subject
            )  # refused, remembered or not
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            key: Any
            if self.key.asymmetric and jwt.get_unverified_header(token).get("kid") == self.key.kid:
                key, algorithms = self.key.verifying, [self.key.algorithm]
            elif self.settings.jwks_url:
                key, algorithms = await self._jwks_key(token)
            elif not self.key.asymmetric:
                key, algorithms = self.key.verifying, ["HS256"]
            else:
                raise Unauthenticated("Jeton d'accès invalide.")
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.settings.jwt_audience,
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated(EXPIRED) from None
        except (jwt.PyJWTError, ValueError, KeyError, TypeError):
            raise Unauthenticated("Jeton d'accès invalide.") from None
        role, sid = claims.get("role", "customer"), claims.get("sid")
        if (
            role not in ("customer", "staff")
            or not isinstance(claims["sub"], str)
            or not isinstance(sid, str | None)
            or not all(numeric(claims[name]) for name in TIME_CLAIMS if name in claims)
        ):
            raise Unauthenticated("Jeton d'accès invalide.")
        if sid is not None and self.sessions is None:
            raise Unauthenticated("Jeton d'accès invalide.")
        return Principal(claims["sub"], role, sid), float(claims["exp"])

    async def _jwks_key(self, token: str) -> tuple[Any, list[str]]:
        """The identity provider's key named by the token's `kid`, and the one algorithm the
        token may use: the one its header names, if it is allowed and is that key's algorithm
        (an RS256 key never checks an ES256 or HS256 token). An unknown `kid` refreshes the key
        set once (single flight), at most every `JWKS_UNKNOWN_KID_REFRESH_S`."""
        header = jwt.get_unverified_header(token)
        kid, alg = header.get("kid"), header.get("alg")
        if not isinstance(kid, str) or alg not in self.settings.jwt_algorithms:
            raise Unauthenticated("Jeton d'accès invalide.")
        age = time.monotonic() - self._fetched_at
        if age > JWKS_REFRESH_S or (kid not in self._keys and age > JWKS_UNKNOWN_KID_REFRESH_S):
            await self._refresh_once(self._fetched_at)
        found = self._keys.get(kid)
        if found is None or found.algorithm_name != alg:
            raise Unauthenticated("Jeton d'accès invalide.")
        return found.key, [alg]

    async def _refresh_once(self, seen: float) -> None:
        """One refresh for every request that found the key set stale at `seen`."""
        async with self._refreshing:
            if self._fetched_at != seen:  # another request refreshed it meanwhile
                return
            await self._refresh()

    async def _refresh(self) -> None:
        assert self.settings.jwks_url
        own = None if self.http else Client(None, egress=Egress.from_settings(self.settings))
        client = self.http or own
        assert client is not None
        self._fetched_at = time.monotonic()  # a failing provider is asked again only later
        try:
            async with asyncio.timeout(JWKS_TIMEOUT_S):
                response = await client.request("GET", self.settings.jwks_url)
            if response.status_code != 200:
                raise ValueError(f"JWKS answered {response.status_code}")
            keys = jwt.PyJWKSet.from_dict(orjson.loads(response.content)).keys
        except (TimeoutError, ExchangeFailed, httpx.HTTPError, jwt.PyJWTError, ValueError):
            raise Unauthenticated("Vérification du jeton impossible pour le moment.") from None
        finally:
            if own is not None:
                await own.aclose()
        self._keys = {k.key_id: k for k in keys if k.key_id}
        self._fetched_at = time.monotonic()
        self.verified.clear()  # a key may have been withdrawn: verify every token again


def numeric(value: object) -> bool:
    """`exp`, `nbf`, `iat` are NumericDate (RFC 7519): a number, never a string or a boolean."""
    return isinstance(value, int | float) and not isinstance(value, bool)
