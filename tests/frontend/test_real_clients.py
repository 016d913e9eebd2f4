"""The frontends' own tools against the gateway: the documented `codegen.ts` run by graphql-codegen,
and Apollo Client and urql sending every document to a persisted-only `python -m gateway serve`.

They need node and this folder's packages (`npm ci --prefix tests/frontend`, from the npm
registry); without them the tests are skipped with that reason. The suite never downloads them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from mocks.processes import free_port, process
from tests.support.gateway import OPERATIONS, PERSONAS

KIT = Path(__file__).resolve().parent
ROOT = KIT.parents[1]
FIXTURES = ROOT / "tests" / "engine" / "persisted_fixtures"
CODEGEN_BLOCK = re.compile(r"```ts\n(import type \{ CodegenConfig \}.*?)```", re.DOTALL)

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (KIT / "node_modules" / "@apollo" / "client").is_dir(),
    reason="needs node and the frontend kit: npm ci --prefix tests/frontend (npm registry)",
)


def documented_codegen_configs() -> list[tuple[str, str]]:
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in CODEGEN_BLOCK.findall(page.read_text("utf-8")):
            found.append((page.relative_to(ROOT).as_posix(), block))
    return found


def frontend(tmp_path: Path, codegen_ts: str) -> Path:
    """A frontend as the docs describe it: the schema, its documents, the config, the packages."""
    app = tmp_path / "web"
    shutil.copytree(OPERATIONS, app / "src" / "operations")
    shutil.copy(ROOT / "schema.graphql", app / "schema.graphql")
    (app / "codegen.ts").write_text(codegen_ts)
    (app / "node_modules").symlink_to(KIT / "node_modules")
    return app


def codegen(app: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KIT / "node_modules" / ".bin" / "graphql-codegen"), "--config", "codegen.ts"],
        cwd=app,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_documented_codegen_config_runs_as_written(tmp_path: Path) -> None:
    configs = documented_codegen_configs()
    assert {page for page, _ in configs} >= {"docs/persisted-documents.md", "docs/graph.md"}
    for index, (page, config) in enumerate(configs):
        app = frontend(tmp_path / str(index), config)
        run = codegen(app)
        assert run.returncode == 0, f"{page}: {run.stdout}{run.stderr}"
        assert "File" in (app / "src" / "gql" / "graphql.ts").read_text("utf-8")  # Upload mapped
    index = [page for page, _ in configs].index("docs/persisted-documents.md")
    persisted = tmp_path / str(index) / "web" / "src" / "gql" / "persisted-documents.json"
    assert json.loads(persisted.read_text("utf-8")) == json.loads(
        (FIXTURES / "codegen-persisted-documents.json").read_text("utf-8")
    )


@pytest.fixture(scope="module")
def codegen_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    page = (ROOT / "docs" / "persisted-documents.md").read_text("utf-8")
    app = frontend(tmp_path_factory.mktemp("codegen"), CODEGEN_BLOCK.findall(page)[0])
    run = codegen(app)
    assert run.returncode == 0, run.stdout + run.stderr
    return app / "src" / "gql" / "persisted-documents.json"


@pytest.fixture(scope="module")
def persisted_only_gateway(codegen_manifest: Path) -> Iterator[str]:
    port = free_port()
    env = {
        "GATEWAY_PERSISTED_ONLY": "true",
        "GATEWAY_TRUSTED_DOCUMENTS": str(codegen_manifest),
    }
    with process(
        ["-m", "gateway", "serve", "--port", str(port), "--no-access-log"],
        [f"http://127.0.0.1:{port}/livez"],
        env=env,
        timeout=120,
    ):
        yield f"http://127.0.0.1:{port}/graphql"


def test_apollo_client_and_urql_run_every_document_on_a_persisted_only_gateway(
    persisted_only_gateway: str, codegen_manifest: Path
) -> None:
    token = subprocess.run(
        [sys.executable, "-m", "gateway", "token", PERSONAS["geralt"]],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()
    run = subprocess.run(
        [
            "node",
            "clients.mjs",
            persisted_only_gateway,
            token,
            str(OPERATIONS),
            str(codegen_manifest),
        ],
        cwd=KIT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    assert run.returncode == 0, run.stderr
    requests = [json.loads(line) for line in run.stdout.splitlines()]
    per_client = Counter(request["client"] for request in requests)
    assert per_client == {
        "apollo-client persisted-query link": 33,
        "apollo-client HttpLink": 33,
        "urql persistedExchange": 33,
        "urql fetchExchange": 33,
        "apollo-client with codegen's hashes": 33,
    }
    refused = [
        (request["document"], request["client"], request["codes"])
        for request in requests
        if {"PERSISTED_QUERY_NOT_IN_LIST", "PERSISTED_QUERY_NOT_FOUND"} & set(request["codes"])
    ]
    assert refused == []
    home = {r["client"]: r for r in requests if r["document"] in ("HomePage.graphql", "HomePage")}
    for client in ("apollo-client persisted-query link", "urql fetchExchange"):
        assert home[client]["codes"] == [] and home[client]["typename"] == "Individual"
    hashes = [
        r["sent"]["extensions"]["persistedQuery"]["sha256Hash"]
        for r in requests
        if r["client"] == "apollo-client with codegen's hashes"
    ]
    assert all(h.startswith("sha256:") for h in hashes) and len(hashes) == 33
