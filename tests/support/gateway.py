"""The gateway under test: in process, over fresh in-process mocks, calendar pinned to the fixtures."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gateway.identity.tokens import TokenVerifier
from gateway.settings import Settings
from mocks import MockSystem
from mocks.contracts import FIXTURES, fixtures_anchor

OPERATIONS = Path(__file__).resolve().parents[2] / "contracts" / "operations"
TODAY = fixtures_anchor()
PERSONAS = {
    "chris": "C0001001",
    "geralt": "C0001002",
    "paul": "C0001003",
    "brico": "C0009001",
    "elodie": "C0001004",
    "collector": "C0001006",
    "lefevre": "C0009002",
}


def operation(name: str) -> str:
    return (OPERATIONS / f"{name}.graphql").read_text("utf-8")  # name may be "folder/Name"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return data


@dataclass
class Gateway:
    http: httpx.AsyncClient
    settings: Settings
    mocks: dict[str, MockSystem]
    app: Any
    strong: dict[str, str] = field(default_factory=dict)  # tokens that stepped up (security.py)

    def token(self, subject: str, role: str = "customer") -> str:
        if role == "customer" and subject in self.strong:
            return self.strong[subject]
        return TokenVerifier(self.settings).issue(subject, role)  # type: ignore[arg-type]

    async def run(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        as_: str | None = None,
        role: str = "customer",
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """POST a GraphQL document (an operation name of contracts/operations, or its text)."""
        query = operation(document) if "{" not in document else document
        headers = dict(headers or {})
        if token is not None or as_ is not None:
            headers["Authorization"] = f"Bearer {token or self.token(as_ or '', role)}"
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def clear_calls(self) -> None:
        """Forget the back-ends' call logs and the gateway's cache: the next request starts cold."""
        for mock in self.mocks.values():
            mock.log.clear()
        await self.app.state.services.backends.cache.clear()

    def calls(self) -> Counter[str]:
        """Back-end calls since the last clear, per system."""
        return Counter({name: sum(mock.log.counts.values()) for name, mock in self.mocks.items()})

    def call_keys(self) -> list[tuple[str, str, str, str]]:
        return [
            (name, c.method, c.path, c.query)
            for name, mock in self.mocks.items()
            for c in mock.log.calls
        ]

    @property
    def audit(self) -> list[dict[str, Any]]:
        return list(self.app.state.services.audit.events)


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


def signing_key() -> str:
    """A fresh EC P-256 private key (PEM): production signs sessions with an asymmetric key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


PRODUCTION = {
    "env": "production",
    "jwt_secret": "a-production-secret-of-more-than-32-bytes-0123456789",
    "jwt_private_key": signing_key(),
    "public_url": "https://espace-client.example",
    "policy_admin_url": "http://127.0.0.1:9",
    "claims_url": "http://127.0.0.1:9",
    "editique_url": "http://127.0.0.1:9",
    "crm_url": "http://127.0.0.1:9",
}


@asynccontextmanager
async def serve(mocks: dict[str, MockSystem], **overrides: Any) -> AsyncIterator[Gateway]:
    """The gateway with settings of the test's own (`**PRODUCTION` for production's), in process."""
    from gateway.app import create_app

    settings = Settings(today=TODAY, **overrides)
    app = create_app(settings, mocks=mocks)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield Gateway(client, settings, mocks, app)


@contextmanager
def cursors_signed_with(secret: str) -> Iterator[None]:
    """Within the block, `cursor()`/`position()` use the key a gateway with `secret` uses."""
    from gateway.schema.ids import cursor_key, derive_cursor_key

    token = cursor_key.set(derive_cursor_key(secret))
    try:
        yield
    finally:
        cursor_key.reset(token)
