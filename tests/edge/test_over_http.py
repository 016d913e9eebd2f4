"""The gateway against the mocks as separate processes, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings
from mocks.processes import free_port, mock_servers, process
from tests.support.gateway import PERSONAS, TODAY, Gateway, operation


@pytest.fixture(scope="module")
def served_mocks() -> Iterator[dict[str, str]]:
    with mock_servers() as urls:
        yield urls


@pytest.fixture
async def remote_gateway(served_mocks: dict[str, str]) -> AsyncIterator[Gateway]:
    async with httpx.AsyncClient() as control:
        for url in served_mocks.values():
            await control.post(url + "/_admin/reset")
    settings = Settings(
        today=TODAY,
        policy_admin_url=served_mocks["policy-admin"],
        claims_url=served_mocks["claims"],
        editique_url=served_mocks["editique"],
        crm_url=served_mocks["crm"],
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert app.state.services.backends.in_process == {}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
        ) as client:
            yield Gateway(client, settings, {}, app)


async def test_home_page_over_http_matches_in_process(
    remote_gateway: Gateway, gateway: Gateway
) -> None:
    remote = await remote_gateway.run("HomePage", as_=PERSONAS["geralt"])
    local = await gateway.run("HomePage", as_=PERSONAS["geralt"])
    strip = lambda body: str(body).split("downloadUrl")[0]  # noqa: E731  (links are signed per issue time)
    assert "errors" not in remote and strip(remote) == strip(local)


async def test_home_page_latency_is_crm_then_everything_else_at_once(
    remote_gateway: Gateway, served_mocks: dict[str, str]
) -> None:
    async with httpx.AsyncClient() as control:
        for url in served_mocks.values():
            assert (
                await control.put(url + "/_admin/faults", json={"latency_ms": 100})
            ).status_code == 200
    await remote_gateway.run("HomePage", as_=PERSONAS["paul"])  # warm the connection pools
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        body = await remote_gateway.run("HomePage", as_=PERSONAS["paul"])
        timings.append(time.perf_counter() - started)
        assert "errors" not in body
    median = statistics.median(timings)
    print(
        f"HomePage with 100 ms back-ends: median {median * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms"
    )
    assert median < 0.260


def test_python_m_gateway_serve_answers_a_curl_like_request() -> None:
    port = free_port()
    token = subprocess.run(
        [sys.executable, "-m", "gateway", "token", PERSONAS["chris"]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with process(
        ["-m", "gateway", "serve", "--port", str(port)], [f"http://127.0.0.1:{port}/healthz"]
    ):
        response = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": operation("HomePage")},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        viewer = response.json()["data"]["viewer"]
        assert viewer["displayName"] == "Chris MARTIN" and len(viewer["contracts"]) == 3
        ide = httpx.get(f"http://127.0.0.1:{port}/graphql", headers={"Accept": "text/html"})
        assert ide.status_code == 200 and "graphiql" in ide.text.lower()


async def test_an_attachment_and_its_demande_reach_the_crm_over_http(
    remote_gateway: Gateway, served_mocks: dict[str, str]
) -> None:
    """The multipart upload and the demande go through the network client (http1), not ASGI."""
    from tests.support.demarches import HEALTH, PDF, create, uploaded

    attachment = await uploaded(remote_gateway)
    body = await create(
        remote_gateway,
        type="JUSTIF_REMB",
        contractId=HEALTH,
        beneficiaries=["Ciri RIVIÈRE"],
        attachmentIds=[attachment],
    )
    demande = body["data"]["createDemande"]["demande"]
    assert body["data"]["createDemande"]["userErrors"] == [], body
    sent = demande["reminder"]["attachments"]
    assert [(a["id"], a["sizeBytes"], a["mimeType"]) for a in sent] == [
        (attachment, len(PDF), "application/pdf")
    ]
    async with httpx.AsyncClient() as control:
        calls = (await control.get(served_mocks["crm"] + "/_admin/calls")).json()
    assert "POST /crm/api/pieces-jointes" in str(calls)
