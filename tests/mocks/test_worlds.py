"""Fixture worlds: seed 0 is the checked-in one; other seeds are other populations the mocks load."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from fixtures.build import build_world, write_world
from mocks import build_mock
from mocks.contracts import FIXTURES, fixtures_anchor
from mocks.processes import ROOT

FORMATS = {  # the identifier formats of contracts/legacy/
    "clientId": r"C[0-9]{7}",
    "NUM_PERS": r"[0-9]{10}",
    "numDossier": r"[0-9]{9}",
    "refReglement": r"[A-Z]{4}[0-9]{13}",
    "refRemboursement": r"RMB[0-9]{14}",
    "idDocument": r"DOC[0-9]{14}",
    "idPersonne": r"EDQ-[0-9]+",
}


def values(node: Any, key: str) -> list[str]:
    if isinstance(node, dict):
        return [v for k, item in node.items() for v in ([item] if k == key else values(item, key))]
    if isinstance(node, list):
        return [v for item in node for v in values(item, key)]
    return []


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("world")
    write_world(directory, date(2027, 3, 15), 7)
    return directory


def test_seed_zero_is_the_checked_in_world() -> None:
    anchor = fixtures_anchor()
    for name, content in build_world(anchor, 0).items():
        checked_in = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
        assert {"anchor": anchor.isoformat(), **content} == checked_in, name


def test_another_world_loads_in_every_mock_with_the_documented_formats(other: Path) -> None:
    for system in ("policy-admin", "claims", "editique", "crm"):
        build_mock(system, other)  # validated against the legacy documents at load
    data = {n: json.loads((other / f"{n}.json").read_text("utf-8")) for n in ("crm", "claims")}
    data["pa"] = json.loads((other / "policy_admin.json").read_text("utf-8"))
    data["ed"] = json.loads((other / "editique.json").read_text("utf-8"))
    for key, pattern in FORMATS.items():
        found = [v for world in data.values() for v in values(world, key) if v is not None]
        assert found and all(re.fullmatch(pattern, v) for v in found), key


def test_another_world_has_references_that_encode_no_date(other: Path) -> None:
    claims = json.loads((other / "claims.json").read_text("utf-8"))
    editique = json.loads((other / "editique.json").read_text("utf-8"))
    refunds = [
        r
        for r in claims["remboursements"]
        if r["refRemboursement"][3:11] != "".join(reversed(r["dateReglement"].split("/")))
    ]
    documents = [
        d
        for d in editique["documents"]
        if d["idDocument"][3:11] != datetime.fromisoformat(d["dateEmission"]).strftime("%Y%m%d")
    ]
    assert len(refunds) > len(claims["remboursements"]) // 2
    assert len(documents) > len(editique["documents"]) // 2


def test_the_mocks_serve_the_world_named_by_mock_fixtures(other: Path) -> None:
    env = {**os.environ, "MOCK_FIXTURES": str(other)}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mocks.contracts import fixtures_anchor; print(fixtures_anchor())",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "2027-03-15"


def test_another_seed_is_another_population(other: Path) -> None:
    def people(directory: Path) -> tuple[set[str], set[str]]:
        clients = json.loads((directory / "crm.json").read_text("utf-8"))["clients"]
        return {c["clientId"] for c in clients}, {f"{c['prenom']} {c['nom']}" for c in clients}

    (ids, names), (default_ids, default_names) = people(other), people(FIXTURES)
    assert not ids & default_ids and not names & default_names
