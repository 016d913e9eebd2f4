"""Signing keys: an asymmetric key in production, its public half at /.well-known/jwks.json, so
another service verifies a gateway token with nothing but that document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.app import create_app
from gateway.settings import Settings
from mocks import build_mock
from tests.support.accounts import session, settings_of
from tests.support.gateway import TODAY, Gateway, codes


def pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@asynccontextmanager
async def gateway_with(settings: Settings) -> AsyncIterator[Gateway]:
    mocks = {n: build_mock(n) for n in ("policy-admin", "claims", "editique", "crm")}
    app = create_app(settings, mocks=mocks)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield Gateway(http, settings, mocks, app)  # type: ignore[arg-type]


async def test_an_es256_token_is_verified_by_another_service_with_the_jwks() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    async with gateway_with(Settings(today=TODAY, jwt_private_key=pem(key))) as gateway:
        opened = await session(gateway, "chris.martin@example.fr")
        published = (await gateway.http.get("/.well-known/jwks.json")).json()
        assert "errors" not in await settings_of(gateway, opened["accessToken"])
        dev_token = jwt.encode(
            {"sub": "C0001001", "aud": "espace-client", "exp": 4102444800},
            gateway.settings.jwt_secret.get_secret_value(),
            algorithm="HS256",
        )
        assert codes(await settings_of(gateway, dev_token)) == ["UNAUTHENTICATED"]
        header = jwt.get_unverified_header(opened["accessToken"])
        forged = jwt.encode(
            {"sub": "C0001002", "aud": "espace-client", "exp": 4102444800},
            ec.generate_private_key(ec.SECP256R1()),
            algorithm="ES256",
            headers={"kid": header["kid"]},
        )
        assert codes(await settings_of(gateway, forged)) == ["UNAUTHENTICATED"]
    # another service: only the published document, no secret
    (public,) = published["keys"]
    assert (public["kty"], public["alg"], public["kid"]) == ("EC", "ES256", header["kid"])
    assert "d" not in public  # never the private part
    verifying = jwt.PyJWKSet.from_dict(published)[header["kid"]]
    found = jwt.decode(
        opened["accessToken"], verifying.key, algorithms=["ES256"], audience="espace-client"
    )
    assert (found["sub"], found["role"]) == ("C0001001", "customer") and found["sid"]


async def test_an_rsa_key_read_from_a_file_signs_rs256(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    path.write_text(pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    async with gateway_with(Settings(today=TODAY, jwt_private_key=str(path))) as gateway:
        opened = await session(gateway, "geralt.riviere@example.fr")
        assert jwt.get_unverified_header(opened["accessToken"])["alg"] == "RS256"
        (public,) = (await gateway.http.get("/.well-known/jwks.json")).json()["keys"]
        assert public["kty"] == "RSA" and "d" not in public
        assert "errors" not in await settings_of(gateway, opened["accessToken"])


async def test_the_development_secret_is_never_published(gateway: Gateway) -> None:
    response = await gateway.http.get("/.well-known/jwks.json")
    assert response.json() == {"keys": []}
    assert jwt.get_unverified_header(gateway.token("C0001001"))["alg"] == "HS256"


async def test_identity_provider_tokens_keep_working_beside_the_gateways_own() -> None:
    from gateway.identity.sessions import Sessions
    from gateway.identity.signing_key import SigningKey
    from gateway.identity.tokens import TokenVerifier
    from gateway.platform.store import MemoryStore

    idp_key = ec.generate_private_key(ec.SECP256R1())
    idp_jwk = jwt.algorithms.ECAlgorithm.to_jwk(idp_key.public_key(), as_dict=True)
    idp_jwks = {"keys": [{**idp_jwk, "kid": "idp-1", "alg": "ES256", "use": "sig"}]}
    idp = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(200, json=idp_jwks))
    )
    settings = Settings(
        jwt_private_key=pem(ec.generate_private_key(ec.SECP256R1())),
        jwks_url="https://idp.example/jwks.json",
    )
    sessions = Sessions(MemoryStore(), SigningKey.from_settings(settings), settings)
    verifier = TokenVerifier(settings, http=idp, sessions=sessions)
    from_idp = jwt.encode(
        {"sub": "C0001002", "aud": "espace-client", "exp": 4102444800},
        idp_key,
        algorithm="ES256",
        headers={"kid": "idp-1"},
    )
    assert (await verifier.verify(f"Bearer {from_idp}")).subject == "C0001002"
    own = await sessions.open("C0001001")
    principal = await verifier.verify(f"Bearer {own.access_token}")
    sid = jwt.decode(own.access_token, options={"verify_signature": False})["sid"]
    assert (principal.subject, principal.session) == ("C0001001", sid)
    await idp.aclose()
