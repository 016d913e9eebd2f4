"""`pip install .` (no extra) runs the gateway against real back-ends; the mocks come with `[mocks]`.

The base install is simulated in a subprocess that cannot import any module whose distribution
only an extra brings (computed from the installed metadata), so a gateway import of `jsonschema`,
`fpdf`, `pytest`… fails here as it would in the production image.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from gateway.identity.tokens import TokenVerifier
from gateway.settings import Settings
from mocks.processes import ROOT, free_port, mock_servers, pointing_at, process
from tests.support.gateway import PERSONAS, operation

PROJECT = "espace-client-gateway"

# Runs `python -m gateway ARGS…` where only the base install's modules can be imported.
BASE_INSTALL = r"""
import importlib, importlib.abc, json, pkgutil, runpy, sys

blocked = set(json.loads(sys.argv[1]))

class OnlyTheBaseInstall(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, OnlyTheBaseInstall())
import gateway
for module in pkgutil.walk_packages(gateway.__path__, "gateway."):
    importlib.import_module(module.name)  # every module of the gateway, not only those serve uses
sys.argv = ["gateway", *sys.argv[2:]]
runpy.run_module("gateway", run_name="__main__", alter_sys=True)
"""


def base_distributions() -> set[str]:
    """The project's distribution and everything its requirements bring, extras excluded."""
    seen: set[tuple[str, str]] = set()
    todo = [(PROJECT, "")]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        try:
            requirements = md.requires(name) or []
        except md.PackageNotFoundError:  # a requirement for another platform
            continue
        for line in requirements:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
                continue
            todo.append((requirement.name, ""))
            todo.extend((requirement.name, wanted) for wanted in requirement.extras)
    return {canonicalize_name(name) for name, _ in seen}


def extra_only_modules() -> list[str]:
    base = base_distributions()
    return sorted(
        module
        for module, distributions in md.packages_distributions().items()
        if not any(canonicalize_name(d) in base for d in distributions)
    )


@pytest.fixture(scope="module")
def blocked() -> str:
    modules = extra_only_modules()
    assert {"jsonschema", "fpdf", "pytest"} <= set(modules)  # what the mocks and tests bring
    assert "uvicorn" not in modules and "strawberry" not in modules
    return json.dumps(modules)


@pytest.fixture(scope="module")
def served_mocks() -> Iterator[dict[str, str]]:
    with mock_servers() as urls:
        yield urls


def test_base_install_serves_a_home_page_from_real_back_ends(
    blocked: str, served_mocks: dict[str, str]
) -> None:
    port = free_port()
    env = {
        **pointing_at(served_mocks),
        "GATEWAY_TODAY": "2026-11-24",
    }
    token = TokenVerifier(Settings()).issue(PERSONAS["paul"], "customer")
    args = ["-c", BASE_INSTALL, blocked, "serve", "--port", str(port), "--no-access-log"]
    with process(args, [f"http://127.0.0.1:{port}/healthz"], env=env):
        response = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            json={"query": operation("HomePage")},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
    body = response.json()
    assert "errors" not in body and body["data"]["viewer"]["displayName"] == "Paul BERTRAND"


def test_base_install_without_back_end_urls_says_which_extra_brings_the_mocks(
    blocked: str,
) -> None:
    env = {
        k: v
        for k, v in __import__("os").environ.items()
        if k not in {"POLICY_ADMIN_URL", "CLAIMS_URL", "EDITIQUE_URL", "CRM_URL"}
    }
    done = subprocess.run(
        [sys.executable, "-c", BASE_INSTALL, blocked, "serve", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "CRM_URL" in done.stderr and "pip install 'espace-client-gateway[mocks]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_wheel_carries_the_graphiql_assets_and_the_mocks_data(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if built.returncode != 0 and "setuptools" in built.stderr and "find" in built.stderr.lower():
        pytest.skip(f"no package index to build with: {built.stderr.strip()[-300:]}")
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for fixture in ("crm", "claims", "editique", "policy_admin"):
        assert f"mocks/data/fixtures/{fixture}.json" in names
    for document in ("crm.openapi.yaml", "editique.wsdl", "policy-admin.openapi.yaml"):
        assert f"mocks/data/legacy/{document}" in names
    assert {
        "gateway/edge/static/graphiql.html",
        "gateway/edge/static/graphiql/manifest.json",
        "gateway/engine/trusted_documents.json",  # production runs persisted-only
        "gateway/observability/operation_names.txt",  # the metrics' safelist
    } <= names
    manifest = json.loads((ROOT / "gateway/edge/static/graphiql/manifest.json").read_text("utf-8"))
    for asset in manifest["files"]:
        assert f"gateway/edge/static/graphiql/{asset['path']}" in names
