"""`@defer` over real HTTP (uvicorn, mock processes): with éditique slow, the first part leaves
before éditique answers, and the documents follow in their own part, as a client reads them."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mocks.processes import gateway_server, mock_servers, pointing_at
from tests.support.gateway import PERSONAS, TODAY, operation
from tests.support.incremental import ACCEPT, Deferred, Parts

EDITIQUE_MS = 900
CLIENTS = Path(__file__).with_name("clients") / "deferred_home_page.mjs"
# where the frontends' npm packages may be installed on this machine (never fetched by a test)
NODE_MODULES = [
    *filter(None, [os.environ.get("GATEWAY_FRONTEND_NODE_MODULES")]),
    "/tmp/peers-hive/hive/node_modules",
    "/tmp/frontend-kit/node_modules",
]
PACKAGES = ("@apollo/client", "@urql/core", "graphql", "rxjs")


def frontend_packages() -> Path | None:
    for folder in map(Path, NODE_MODULES):
        if all((folder / name / "package.json").is_file() for name in PACKAGES):
            return folder
    return None


@pytest.fixture(scope="module")
def served_mocks() -> Iterator[dict[str, str]]:
    with mock_servers() as urls:
        yield urls


@pytest.fixture(scope="module", params=["true", "false"], ids=["fast-paths", "stock"])
def served_gateway(
    request: pytest.FixtureRequest, served_mocks: dict[str, str]
) -> Iterator[tuple[str, dict[str, str]]]:
    env = {
        **pointing_at(served_mocks),
        "GATEWAY_TODAY": TODAY.isoformat(),
        "GATEWAY_FAST_PATHS": request.param,
        "GATEWAY_CACHE": "false",  # every request asks éditique again
    }
    with gateway_server(env) as base:
        yield base, env


def token(client_id: str, env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "token", client_id],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
    ).stdout.strip()


@pytest.fixture
async def client(
    served_gateway: tuple[str, dict[str, str]], served_mocks: dict[str, str]
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    base, env = served_gateway
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        for url in served_mocks.values():
            (await http.post(url + "/_admin/reset")).raise_for_status()
        yield http, token(PERSONAS["geralt"], env)


async def slow_editique(http: httpx.AsyncClient, mocks: dict[str, str], **more: Any) -> None:
    faults = {"latency_ms": EDITIQUE_MS, **more}
    (await http.put(mocks["editique"] + "/_admin/faults", json=faults)).raise_for_status()


def labelled(answer: Parts) -> dict[str, tuple[float, dict[str, Any]]]:
    return {
        entry["label"]: (part.at, entry)
        for part in answer.parts[1:]
        for entry in part.body.get("incremental", [])
    }


async def test_the_home_page_shows_before_editique_answers_and_the_documents_follow(
    client: tuple[httpx.AsyncClient, str], served_mocks: dict[str, str]
) -> None:
    http, bearer = client
    await Deferred(http).post(operation("live/HomePageDeferred"), bearer)  # warm connections
    await slow_editique(http, served_mocks)
    answer = await Deferred(http).post(operation("live/HomePageDeferred"), bearer)
    first = answer.parts[0]
    print(
        f"éditique at {EDITIQUE_MS} ms: first part at {first.at * 1000:.0f} ms, "
        + ", ".join(f"{k} at {at * 1000:.0f} ms" for k, (at, _) in labelled(answer).items())
    )
    assert first.at < EDITIQUE_MS / 1000 / 2, "the first part waited for éditique"
    viewer = first.body["data"]["viewer"]
    assert viewer["displayName"] == "Geralt RIVIÈRE" and "errors" not in first.body
    assert viewer["contracts"] and viewer["demandes"]["edges"]
    assert "documents" not in viewer and "reglements" not in viewer
    parts = labelled(answer)
    at, documents = parts["documents"]
    assert at >= EDITIQUE_MS / 1000 and documents["data"]["documents"]["edges"]
    assert parts["reglements"][0] < at  # claims answered long before éditique
    assert answer.parts[-1].body["hasNext"] is False


async def test_editique_failing_is_an_error_in_the_documents_part_only(
    client: tuple[httpx.AsyncClient, str], served_mocks: dict[str, str]
) -> None:
    http, bearer = client
    await slow_editique(http, served_mocks, latency_ms=0, error_rate=1.0, error_status=503)
    answer = await Deferred(http).post(operation("live/HomePageDeferred"), bearer)
    assert "errors" not in answer.parts[0].body
    parts = labelled(answer)
    documents = parts["documents"][1]
    assert documents["data"] == {"documents": None}
    assert [e["extensions"]["code"] for e in documents["errors"]] == ["BACKEND_UNAVAILABLE"]
    assert "errors" not in parts["reglements"][1]
    assert answer.parts[-1].body["hasNext"] is False


async def test_apollo_client_and_urql_show_the_home_page_then_the_documents(
    client: tuple[httpx.AsyncClient, str],
    served_mocks: dict[str, str],
    served_gateway: tuple[str, dict[str, str]],
    tmp_path: Path,
) -> None:
    node, packages = shutil.which("node"), frontend_packages()
    if node is None or packages is None:
        pytest.skip(f"needs node and {', '.join(PACKAGES)} in one of {NODE_MODULES}")
    http, bearer = client
    await slow_editique(http, served_mocks)
    (tmp_path / "node_modules").symlink_to(packages)  # ES modules resolve from the script's folder
    script = tmp_path / CLIENTS.name
    shutil.copy(CLIENTS, script)
    document = Path(__file__).parents[2] / "contracts/operations/live/HomePageDeferred.graphql"
    base, _ = served_gateway
    run = await asyncio.create_subprocess_exec(
        node,
        str(script),
        base + "/graphql",
        bearer,
        str(document),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(run.communicate(), 60)
    assert run.returncode == 0, stderr.decode()
    lines = stdout.decode().splitlines()
    assert len(lines) == 2
    for line in lines:
        answer = json.loads(line)
        results = answer["results"]
        print(answer["client"], results)
        first, last = results[0], results[-1]
        assert first["at"] < EDITIQUE_MS / 2, "the page waited for éditique"
        assert first["displayName"] == "Geralt RIVIÈRE" and first["contracts"] == 1
        assert first["demandes"] == 3 and first["documents"] is None
        assert last["at"] >= EDITIQUE_MS and last["documents"] == 3 and last["reglements"] == 3
        assert not any(r["errors"] for r in results)


async def test_a_client_leaving_after_the_first_part_leaves_the_gateway_serving(
    client: tuple[httpx.AsyncClient, str], served_mocks: dict[str, str]
) -> None:
    http, bearer = client
    await slow_editique(http, served_mocks)
    query = {"query": operation("live/HomePageDeferred")}
    headers = {"Authorization": f"Bearer {bearer}", "Accept": ACCEPT}
    async with http.stream("POST", "/graphql", json=query, headers=headers) as answer:
        first = await anext(answer.aiter_bytes())  # then the connection is closed, unread
        assert first.startswith(b"---")
    answer2 = await Deferred(http).post(operation("live/HomePageDeferred"), bearer)
    assert answer2.parts[-1].body["hasNext"] is False
    assert (await http.get("/healthz")).status_code == 200
