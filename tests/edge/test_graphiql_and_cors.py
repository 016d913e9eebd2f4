"""GraphiQL works with no internet (its files served by the gateway), and CORS follows the allow-list."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from gateway.app import create_app
from gateway.edge.graphiql import ASSETS, PREFIX
from gateway.settings import Settings
from mocks import MockSystem
from tests.support.gateway import TODAY, Gateway, signing_key

ALLOWED = "https://espace-client.example.fr"
OTHER = "https://evil.example.com"
HTML = {"Accept": "text/html"}


@asynccontextmanager
async def served(settings: Settings, mocks: dict[str, Any]) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, mocks=mocks)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client


def references(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]*)"', page)


async def test_graphiql_page_references_only_the_gateways_own_files(gateway: Gateway) -> None:
    response = await gateway.http.get("/graphql", headers=HTML)
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    urls = references(response.text)
    assert len([u for u in urls if u.startswith(PREFIX)]) == 6  # 4 scripts, 2 stylesheets
    assert all(u.startswith(PREFIX) or u.startswith("data:") for u in urls), urls
    assert "unpkg" not in response.text and "cdn" not in response.text.lower()
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "http" not in policy


async def test_graphiql_assets_are_npms_files_cached_a_year_as_immutable(gateway: Gateway) -> None:
    page = (await gateway.http.get("/graphql", headers=HTML)).text
    tags = re.findall(r'(?:src|href)="(/graphiql/[^"]+)" integrity="sha256-([^"]+)"', page)
    manifest = json.loads((ASSETS / "manifest.json").read_text("utf-8"))
    assert len(tags) == len(manifest["files"]) == 6
    for url, integrity in tags:
        response = await gateway.http.get(url)  # httpx asks for gzip and inflates it
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-encoding"] == "gzip"
        assert re.search(r"@\d+\.\d+\.\d+/", url)  # a versioned URL: content never changes
        assert base64.b64encode(hashlib.sha256(response.content).digest()).decode() == integrity
        expected = "text/javascript" if url.endswith(".js") else "text/css"
        assert response.headers["content-type"].startswith(expected)


async def test_graphiql_assets_revalidate_and_serve_uncompressed(gateway: Gateway) -> None:
    url = PREFIX + "react@18.2.0/react.production.min.js"
    plain = await gateway.http.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == (ASSETS / "react@18.2.0/react.production.min.js").read_bytes()
    again = await gateway.http.get(url, headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert (await gateway.http.get(PREFIX + "react@18.2.0/../../settings.py")).status_code == 404
    assert (await gateway.http.get(PREFIX + "graphiql@3.8.3/LICENSE")).status_code == 404


async def test_the_playground_opens_with_how_to_get_a_token(gateway: Gateway) -> None:
    page = (await gateway.http.get("/graphql", headers=HTML)).text
    assert "python -m gateway token C0001003" in page and '"Authorization": "Bearer' in page


def test_vendored_files_are_those_the_manifest_recorded_from_npm() -> None:
    manifest = json.loads((ASSETS / "manifest.json").read_text("utf-8"))
    pinned = {(p["name"], p["version"]) for p in manifest["packages"]}
    assert ("graphiql", "3.8.3") in pinned and ("react", "18.2.0") in pinned
    for package in manifest["packages"]:
        assert package["integrity"].startswith("sha512-")  # npm's tarball integrity
    for entry in manifest["files"]:
        body = (ASSETS / entry["path"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == entry["sha256"], entry["path"]
        assert len(body) == entry["bytes"]


async def test_production_serves_neither_graphiql_nor_its_files(
    mocks: dict[str, MockSystem],
) -> None:
    settings = Settings(
        env="production",
        jwt_secret="a-production-secret-of-enough-length-0123456789",  # type: ignore[arg-type]
        jwt_private_key=signing_key(),  # type: ignore[arg-type]
        public_url="https://espace-client.example",
        today=TODAY,
        policy_admin_url="http://policy-admin.invalid",
        claims_url="http://claims.invalid",
        editique_url="http://editique.invalid",
        crm_url="http://crm.invalid",
    )
    async with served(settings, mocks) as client:
        page = await client.get("/graphql", headers=HTML)
        assert "GraphiQL" not in page.text
        asset = await client.get(PREFIX + "react@18.2.0/react.production.min.js")
        assert asset.status_code == 404


# CORS


PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}
QUERY = {"query": "{ __typename }"}


async def test_an_allowed_origin_gets_the_cors_headers(mocks: dict[str, MockSystem]) -> None:
    async with served(Settings(today=TODAY, cors_origins=(ALLOWED,)), mocks) as client:
        response = await client.post("/graphql", json=QUERY, headers={"Origin": ALLOWED})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == ALLOWED
        assert "access-control-allow-credentials" not in response.headers
        assert "X-Request-Id" in response.headers["access-control-expose-headers"]
        preflight = await client.options("/graphql", headers={"Origin": ALLOWED, **PREFLIGHT})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ALLOWED
        assert "POST" in preflight.headers["access-control-allow-methods"]
        allowed_headers = preflight.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed_headers and "content-type" in allowed_headers


async def test_another_origin_gets_no_cors_headers(mocks: dict[str, MockSystem]) -> None:
    async with served(Settings(today=TODAY, cors_origins=(ALLOWED,)), mocks) as client:
        response = await client.post("/graphql", json=QUERY, headers={"Origin": OTHER})
        assert "access-control-allow-origin" not in response.headers
        preflight = await client.options("/graphql", headers={"Origin": OTHER, **PREFLIGHT})
        assert preflight.status_code == 400
        assert "access-control-allow-origin" not in preflight.headers


async def test_no_origin_is_allowed_by_default(mocks: dict[str, MockSystem]) -> None:
    async with served(Settings(today=TODAY), mocks) as client:
        response = await client.post("/graphql", json=QUERY, headers={"Origin": ALLOWED})
        assert "access-control-allow-origin" not in response.headers
        preflight = await client.options("/graphql", headers={"Origin": ALLOWED, **PREFLIGHT})
        assert "access-control-allow-origin" not in preflight.headers


def test_cors_origins_are_read_comma_separated_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_CORS_ORIGINS", f"{ALLOWED}, http://localhost:5173")
    assert Settings().cors_origins == (ALLOWED, "http://localhost:5173")


@pytest.mark.parametrize("value", ["*", "https://app.example.fr/", "app.example.fr", "ftp://x.fr"])
def test_a_cors_origin_that_is_not_an_origin_is_refused_at_start_up(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("GATEWAY_CORS_ORIGINS", value)
    with pytest.raises(ValidationError, match="GATEWAY_CORS_ORIGINS"):
        Settings()


def test_gzip_is_what_the_gateway_sends() -> None:
    body = (ASSETS / "graphiql@3.8.3/graphiql.min.js").read_bytes()
    from gateway.edge.graphiql import assets

    found = assets()[PREFIX + "graphiql@3.8.3/graphiql.min.js"]
    assert gzip.decompress(found.gzipped) == body and len(found.gzipped) < len(body) / 3
