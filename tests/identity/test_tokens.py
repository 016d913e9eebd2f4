"""The bearer JWT: no token or a bad one resolves nothing (UNAUTHENTICATED) and calls no back-end."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import jwt
import pytest

from gateway.errors import Unauthenticated
from gateway.identity.download_links import Grant
from gateway.identity.tokens import TokenVerifier
from gateway.settings import Settings
from tests.support.gateway import PERSONAS, Gateway, codes


def forge(settings: Settings, **claims: object) -> str:
    now = int(time.time())
    payload = {
        "sub": PERSONAS["chris"],
        "role": "customer",
        "aud": "espace-client",
        "exp": now + 60,
        **claims,
    }
    return jwt.encode(
        {k: v for k, v in payload.items() if v is not None},
        settings.jwt_secret.get_secret_value(),
        algorithm="HS256",
    )


@pytest.mark.parametrize(
    "token",
    [
        None,
        "not-a-jwt",
        "wrong-secret",
        "expired",
        "wrong-audience",
        "no-exp",
        "bad-role",
        "alg-none",
    ],
)
async def test_missing_or_bad_tokens_resolve_nothing(gateway: Gateway, token: str | None) -> None:
    settings = gateway.settings
    tokens = {
        "not-a-jwt": "abc.def.ghi",
        "wrong-secret": jwt.encode(
            {"sub": "C0001001", "aud": "espace-client", "exp": int(time.time()) + 60},
            "x" * 40,
            algorithm="HS256",
        ),
        "expired": forge(settings, exp=int(time.time()) - 10),
        "wrong-audience": forge(settings, aud="autre-appli"),
        "no-exp": forge(settings, exp=None),
        "bad-role": forge(settings, role="admin"),
        "alg-none": jwt.encode(
            {"sub": "C0001001", "aud": "espace-client", "exp": int(time.time()) + 60},
            None,
            algorithm="none",
        ),
    }
    await gateway.clear_calls()
    body = await gateway.run("HomePage", token=tokens.get(token or ""))
    assert body["data"] is None and codes(body) == ["UNAUTHENTICATED"]
    assert sum(gateway.calls().values()) == 0


async def test_an_expired_session_says_so(gateway: Gateway) -> None:
    body = await gateway.run("HomePage", token=forge(gateway.settings, exp=int(time.time()) - 10))
    assert "expirée" in body["errors"][0]["message"]


async def test_a_verified_token_is_remembered_until_it_expires_then_refused() -> None:
    settings = Settings()
    verifier = TokenVerifier(settings)
    token = forge(settings, exp=int(time.time()) + 2)
    first = await verifier.verify(f"Bearer {token}")
    assert await verifier.verify(f"Bearer {token}") == first  # served from memory
    assert token in verifier.verified and len(verifier.verified) == 1
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")  # another string: verified
    with pytest.raises(Unauthenticated):
        await verifier.verify(f"Bearer {forged}")
    await asyncio.sleep(max(0.0, verifier.verified[token][1] - time.time()) + 0.05)
    with pytest.raises(Unauthenticated, match="expirée"):
        await verifier.verify(f"Bearer {token}")
    assert token not in verifier.verified


async def test_remembered_tokens_are_bounded() -> None:
    settings = Settings()
    verifier = TokenVerifier(settings, remember=3)
    tokens = [forge(settings, sub=f"C000100{i}") for i in range(5)]
    for token in tokens:
        await verifier.verify(f"Bearer {token}")
    assert list(verifier.verified) == tokens[2:]  # the oldest forgotten first


async def test_introspection_needs_no_token_outside_production(gateway: Gateway) -> None:
    body = await gateway.run("{ __schema { queryType { name } } }")
    assert body["data"] == {"__schema": {"queryType": {"name": "Query"}}}


async def test_a_token_of_an_unknown_client_is_unauthenticated(gateway: Gateway) -> None:
    body = await gateway.run("HomePage", as_="C0009999")
    assert body["data"] == {"viewer": None} and codes(body) == ["UNAUTHENTICATED"]


def test_the_token_command_prints_a_valid_token() -> None:
    import subprocess
    import sys

    printed = subprocess.run(
        [sys.executable, "-m", "gateway", "token", "C0001002", "--role", "staff"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    claims = jwt.decode(
        printed,
        Settings().jwt_secret.get_secret_value(),
        algorithms=["HS256"],
        audience="espace-client",
    )
    assert (claims["sub"], claims["role"]) == ("C0001002", "staff") and claims["exp"] > time.time()


def test_production_refuses_the_development_secret_and_the_mocks() -> None:
    urls = {
        "policy_admin_url": "http://pa",
        "claims_url": "http://c",
        "editique_url": "http://e",
        "crm_url": "http://crm",
    }
    key = "/run/secrets/gateway-signing-key.pem"
    with pytest.raises(ValueError, match="GATEWAY_JWT_SECRET"):
        Settings(env="production", jwt_private_key=key, **urls)
    secret = "a-real-secret-of-enough-length-0123456789"
    with pytest.raises(ValueError, match="GATEWAY_JWT_PRIVATE_KEY"):
        Settings(env="production", jwt_secret=secret, **urls)
    with pytest.raises(ValueError, match="CLAIMS_URL, EDITIQUE_URL must be set"):
        Settings(
            env="production",
            jwt_secret=secret,
            jwt_private_key=key,
            policy_admin_url="http://pa",
            crm_url="http://crm",
        )
    public = {"public_url": "https://espace-client.example"}
    real = Settings(env="production", jwt_secret=secret, jwt_private_key=key, **urls, **public)
    assert real.graphiql is False


def test_production_refuses_a_short_secret_and_links_built_from_the_host_header() -> None:
    urls = {
        "policy_admin_url": "http://pa",
        "claims_url": "http://c",
        "editique_url": "http://e",
        "crm_url": "http://crm",
        "public_url": "https://espace-client.example",
        "jwt_private_key": "/run/secrets/gateway-signing-key.pem",
    }
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Settings(env="production", jwt_secret="x", **urls)
    with pytest.raises(ValueError, match="at least 32 bytes"):  # it also signs links and cursors
        Settings(env="production", jwt_secret="x" * 31, jwks_url="https://idp/jwks", **urls)
    del urls["public_url"]
    with pytest.raises(ValueError, match="GATEWAY_PUBLIC_URL"):
        Settings(env="production", jwt_secret="s" * 32, **urls)
    assert Settings(env="development").public_url is None  # outside production: the request's


def test_the_demo_calendar_is_the_fixtures_day_only_with_in_process_mocks() -> None:
    from datetime import date

    from gateway.__main__ import demo_calendar
    from tests.support.gateway import TODAY

    assert demo_calendar(Settings()).today == TODAY
    assert demo_calendar(Settings(today=date(2030, 1, 1))).today == date(2030, 1, 1)
    assert demo_calendar(Settings(crm_url="http://crm.example")).today is None


# ---- tokens of an identity provider (JWKS) ------------------------------------------------------
def jwks_provider() -> tuple[dict[str, Any], list[int], Any, Any]:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    keys = [
        {**json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key())), "kid": "rsa-1"},
        {**json.loads(ECAlgorithm.to_jwk(ec_key.public_key())), "kid": "ec-1"},
    ]
    return {"keys": keys}, [], rsa_key, ec_key


async def jwks_verifier(delay_s: float = 0.0) -> tuple[TokenVerifier, list[int], Any, Any]:
    jwks, fetches, rsa_key, ec_key = jwks_provider()

    async def serve(request: httpx.Request) -> httpx.Response:
        fetches.append(1)
        await asyncio.sleep(delay_s)
        return httpx.Response(200, json=jwks)

    http = httpx.AsyncClient(transport=httpx.MockTransport(serve))
    return (
        TokenVerifier(Settings(jwks_url="https://idp.test/jwks"), http=http),
        fetches,
        rsa_key,
        ec_key,
    )


def signed(key: Any, alg: str, kid: str | None, **claims: object) -> str:
    payload = {"sub": PERSONAS["chris"], "aud": "espace-client", "exp": int(time.time()) + 60}
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode({**payload, **claims}, key, algorithm=alg, headers=headers)


async def test_identity_provider_tokens_with_a_wrong_kid_or_alg_are_unauthenticated() -> None:
    verifier, fetches, rsa_key, ec_key = await jwks_verifier()
    assert (
        await verifier.verify(f"Bearer {signed(rsa_key, 'RS256', 'rsa-1')}")
    ).subject == "C0001001"
    assert (
        await verifier.verify(f"Bearer {signed(ec_key, 'ES256', 'ec-1')}")
    ).subject == "C0001001"
    bad = [
        signed(rsa_key, "RS256", "unknown"),
        signed(rsa_key, "RS256", None),
        signed(ec_key, "ES256", "rsa-1"),  # an EC signature checked with the RSA key: TypeError
        signed(rsa_key, "RS256", "ec-1"),
        signed("s" * 32, "HS256", "rsa-1"),
        signed(rsa_key, "RS256", "rsa-1", exp=str(int(time.time()) + 60)),
        signed(rsa_key, "RS256", "rsa-1", iat="yesterday"),
        signed(rsa_key, "RS256", "rsa-1", nbf=True),
    ]
    for token in bad:
        with pytest.raises(Unauthenticated):
            await verifier.verify(f"Bearer {token}")
    assert len(fetches) == 1  # unknown kids did not make the provider be asked again at once


async def test_concurrent_unknown_kids_refresh_the_key_set_once() -> None:
    verifier, fetches, rsa_key, _ = await jwks_verifier(delay_s=0.05)
    tokens = [signed(rsa_key, "RS256", f"kid-{i}") for i in range(50)]
    results = await asyncio.gather(
        *(verifier.verify(f"Bearer {t}") for t in tokens), return_exceptions=True
    )
    assert all(isinstance(r, Unauthenticated) for r in results) and len(fetches) == 1


async def test_a_mismatched_identity_provider_token_is_401_not_500(gateway: Gateway) -> None:
    verifier, _, _, ec_key = await jwks_verifier()
    services = gateway.app.state.services
    services.verifier = verifier
    token = signed(ec_key, "ES256", "rsa-1")
    response = await gateway.http.post(
        "/graphql",
        json={"query": "{ viewer { id } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200 and codes(response.json()) == ["UNAUTHENTICATED"]
    link = services.links.sign(Grant("DOC20231020000311", "EDQ-1001", PERSONAS["chris"]))
    download = await gateway.http.get(
        f"/documents/{link}", headers={"Authorization": f"Bearer {token}"}
    )
    assert download.status_code == 401 and download.json()["code"] == "UNAUTHENTICATED"


async def test_hs256_tokens_need_numeric_dates(gateway: Gateway) -> None:
    for claims in ({"exp": str(int(time.time()) + 60)}, {"iat": "now"}, {"nbf": "0"}):
        body = await gateway.run("{ viewer { id } }", token=forge(gateway.settings, **claims))
        assert codes(body) == ["UNAUTHENTICATED"], claims
