"""The bearer JWT: no token or a bad one resolves nothing (UNAUTHENTICATED) and calls no back-end."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest

from gateway.auth import TokenVerifier
from gateway.errors import Unauthenticated
from gateway.settings import Settings
from tests.gateway.support import PERSONAS, Gateway, codes


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
    with pytest.raises(ValueError, match="GATEWAY_JWT_SECRET"):
        Settings(env="production", **urls)
    secret = "a-real-secret-of-enough-length-0123456789"
    with pytest.raises(ValueError, match="CLAIMS_URL, EDITIQUE_URL must be set"):
        Settings(
            env="production", jwt_secret=secret, policy_admin_url="http://pa", crm_url="http://crm"
        )
    assert Settings(env="production", jwt_secret=secret, **urls).graphiql is False


def test_the_demo_calendar_is_the_fixtures_day_only_with_in_process_mocks() -> None:
    from datetime import date

    from gateway.__main__ import demo_calendar
    from tests.gateway.support import TODAY

    assert demo_calendar(Settings()).today == TODAY
    assert demo_calendar(Settings(today=date(2030, 1, 1))).today == date(2030, 1, 1)
    assert demo_calendar(Settings(crm_url="http://crm.example")).today is None
