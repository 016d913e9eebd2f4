from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import httpx
import pytest

from mocks import MockSystem, build_mock
from tests.support.contract import validating_client

if TYPE_CHECKING:
    from tests.support.gateway import Gateway


@pytest.fixture
def mocks() -> dict[str, MockSystem]:
    """A fresh set of the four mock back-ends, in their start-up state."""
    return {name: build_mock(name) for name in ("policy-admin", "claims", "editique", "crm")}


@pytest.fixture
async def policy_admin(mocks: dict[str, MockSystem]) -> AsyncIterator[httpx.AsyncClient]:
    async with validating_client(
        "policy-admin",
        mocks["policy-admin"],
        "http://127.0.0.1:9001",
        headers={"X-Api-Key": "dev-policy-admin-key"},
    ) as client:
        yield client


@pytest.fixture
async def claims(mocks: dict[str, MockSystem]) -> AsyncIterator[httpx.AsyncClient]:
    async with validating_client(
        "claims", mocks["claims"], "http://127.0.0.1:9002", auth=("gateway", "dev-claims-password")
    ) as client:
        yield client


@pytest.fixture
async def editique(mocks: dict[str, MockSystem]) -> AsyncIterator[httpx.AsyncClient]:
    async with validating_client(
        "editique",
        mocks["editique"],
        "http://127.0.0.1:9003",
        headers={"Content-Type": "text/xml; charset=utf-8"},
    ) as client:
        yield client


@pytest.fixture
async def crm(mocks: dict[str, MockSystem]) -> AsyncIterator[httpx.AsyncClient]:
    async with validating_client(
        "crm",
        mocks["crm"],
        "http://127.0.0.1:9004",
        headers={"Authorization": "Bearer dev-crm-token"},
    ) as client:
        yield client


def admin(mock: MockSystem) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=mock), base_url="http://127.0.0.1")


async def faults(gateway: Gateway, system: str, **settings: object) -> None:
    """Set a mock's fault injection (`/_admin/faults`): error rate, latency, timeouts…"""
    async with admin(gateway.mocks[system]) as control:
        assert (await control.put("/_admin/faults", json=settings)).status_code == 200


@pytest.fixture
async def gateway(mocks: dict[str, MockSystem]) -> AsyncIterator[Gateway]:
    """The gateway in process, against fresh in-process mocks, business calendar pinned."""
    from gateway.app import create_app
    from gateway.settings import Settings
    from tests.support.gateway import TODAY, Gateway

    settings = Settings(today=TODAY)
    app = create_app(settings, mocks=mocks)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield Gateway(client, settings, mocks, app)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server for the module's tests (skipped where none is installed)."""
    from tests.support.redis import REDIS_MISSING, redis_server

    if REDIS_MISSING:
        pytest.skip("redis-server is not installed")
    with redis_server(tmp_path_factory.mktemp("redis")) as (url, _):
        yield url
