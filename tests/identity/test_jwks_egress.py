"""The identity provider's key set is fetched the way the back-ends are reached: over HTTPS with the
`GATEWAY_BACKEND_*` CA and client certificate (here, a provider on 127.0.0.1 that asks for one)."""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.errors import Unauthenticated
from gateway.identity.tokens import TokenVerifier
from gateway.settings import Settings
from tests.support.gateway import PERSONAS
from tests.support.tls import Pki

KEY = ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki.made_in(tmp_path_factory.mktemp("pki"))


@pytest.fixture
async def provider(pki: Pki) -> AsyncIterator[str]:
    """A JWKS over HTTPS that only a client with a certificate of the PKI's CA may read."""
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(KEY.public_key(), as_dict=True)
    keys = {"keys": [{**jwk, "kid": "idp-1", "alg": "ES256", "use": "sig"}]}

    async def jwks(_: web.Request) -> web.Response:
        return web.json_response(keys)

    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", jwks)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
    context.load_cert_chain(str(pki.cert("server")), str(pki.key("server")))
    context.verify_mode = ssl.CERT_REQUIRED
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    yield f"https://127.0.0.1:{port}/.well-known/jwks.json"
    await runner.cleanup()


def token() -> str:
    claims = {"sub": PERSONAS["paul"], "aud": "espace-client", "exp": int(time.time()) + 60}
    return jwt.encode(claims, KEY, algorithm="ES256", headers={"kid": "idp-1"})


def tls(pki: Pki, ca: Path, client: bool) -> dict[str, Path]:
    files = {"backend_ca_file": ca}
    if client:
        files |= {"backend_cert_file": pki.cert("client"), "backend_key_file": pki.key("client")}
    return files


async def test_provider_tokens_are_accepted_when_its_keys_come_over_mutual_tls(
    pki: Pki, provider: str
) -> None:
    verifier = TokenVerifier(Settings(jwks_url=provider, **tls(pki, pki.ca, client=True)))
    assert (await verifier.verify(f"Bearer {token()}")).subject == PERSONAS["paul"]


@pytest.mark.parametrize(
    ("ca", "client"),
    [("ca", False), ("stranger_ca", True)],
    ids=["without-our-client-certificate", "provider-of-an-unknown-ca"],
)
async def test_provider_tokens_are_unauthenticated_when_its_keys_cannot_be_fetched_safely(
    pki: Pki, provider: str, ca: str, client: bool
) -> None:
    files = tls(pki, pki.ca if ca == "ca" else pki.stranger_ca, client)
    verifier = TokenVerifier(Settings(jwks_url=provider, **files))
    with pytest.raises(Unauthenticated):
        await verifier.verify(f"Bearer {token()}")
