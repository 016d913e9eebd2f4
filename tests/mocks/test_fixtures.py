"""Fixtures: personas with their documented identifiers everywhere, volumes, loud failures."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from mocks import build_mock
from mocks.contracts import FIXTURES, FixtureError

PERSONAS = {  # clientId: (NUM_PERS, claims id, éditique id)
    "C0001001": ("0004517823", "A7781001", "EDQ-1001"),
    "C0001002": ("0004517824", "A7781002", "EDQ-1002"),
    "C0001003": ("0004517825", "A7781003", "EDQ-1003"),
    "C0009001": ("0009000001", "E9000001", "EDQ-9001"),
}


def load(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))


def test_personas_have_their_documented_identifiers_in_every_system() -> None:
    crm, pa, ed = load("crm"), load("policy_admin"), load("editique")
    clients = {c["clientId"]: c for c in crm["clients"]}
    persons = {p["NUM_PERS"] for p in pa["personnes"]}
    edq = {p["idPersonne"] for p in ed["personnes"]}
    for client_id, (num_pers, claims_id, edq_id) in PERSONAS.items():
        assert clients[client_id]["identifiants"] == {
            "policyAdmin": num_pers,
            "prestations": claims_id,
            "editique": edq_id,
        }
        assert num_pers in persons and edq_id in edq
    assert {"0004517901", "0004517902"} <= persons


def test_volumes_the_rules_need() -> None:
    claims, pa, ed, crm = load("claims"), load("policy_admin"), load("editique"), load("crm")
    anchor = date.fromisoformat(claims["anchor"])
    lefevre = [d for d in claims["dossiers"] if d["numContrat"] in ("81000001", "81000002")]
    lefevre_reglements = [
        r for r in claims["reglements"] if r["numContrat"] in ("81000001", "81000002")
    ]
    assert len(pa["affilies"]["81000001"]) + len(pa["affilies"]["81000002"]) >= 25
    assert len(lefevre) >= 60 and len(lefevre_reglements) >= 600
    years = {int(r["dateReglement"][-4:]) for r in lefevre_reglements}
    assert max(years) - min(years) >= 4
    old = [
        r
        for r in lefevre_reglements
        if date(int(r["dateReglement"][-4:]), 1, 1) < anchor - timedelta(days=3 * 366)
    ]
    assert old, "règlements older than 3 years must exist for the window to matter"
    assert len([r for r in claims["remboursements"] if r["numContrat"] == "AA565656"]) >= 40
    collector = next(p for p in pa["personnes"] if p["NUM_PERS"] == "0004517828")
    assert len(collector["CONTRATS"]) == 30
    statuses = {d["statut"] for d in crm["demandes"]}
    assert statuses == {"RECU", "EN_COURS", "TRAITE", "REJETE", "CLOTURE"}
    assert {d["suivi"] for d in crm["demandes"]} == {True, False}
    assert any(d["reclamation"] for d in crm["demandes"]) and any(
        d["rappel"]["piecesJointes"] for d in crm["demandes"]
    )
    assert {d["typeDocument"] for d in ed["documents"]} == {
        "LSIT",
        "LINF",
        "DECP",
        "ATTA",
        "CTPY",
        "AECH",
        "CREP",
    }


def test_hard_data_is_present() -> None:
    claims, crm, pa = load("claims"), load("crm"), load("policy_admin")
    clients = {c["clientId"]: c for c in crm["clients"]}
    assert clients["C0001004"]["email"] is None and clients["C0001004"]["mobile"] is None
    assert (
        clients["C0001004"]["nom"] == "D'ARCY-LEFÈVRE" and clients["C0001004"]["prenom"] == "Élodie"
    )
    longest = clients["C0001005"]
    assert len(f"{longest['prenom']} {longest['nom']}") == 60
    assert {a["statut"] for a in crm["comptes"]} >= {"VERROUILLE", "EN_ATTENTE_ACTIVATION", "AUCUN"}
    assert any(r["montantBrut"] == "1234567,89" for r in claims["reglements"])
    assert any(r["montantComplementaire"] == "0,00" for r in claims["remboursements"])
    assert any(c["CD_STATUT"] == "R" for c in pa["contrats"])
    assert any(c["DT_EFFET"] == "00000000" or c["DT_RESIL"] == "00000000" for c in pa["contrats"])


@pytest.mark.parametrize(
    ("system", "file", "edit", "message"),
    [
        (
            "claims",
            "claims",
            lambda d: d["reglements"][3].update(montantBrut="12.50"),
            "claims.json reglements",
        ),
        (
            "policy-admin",
            "policy_admin",
            lambda d: d["contrats"][0].update(DT_EFFET="2015-03-12"),
            "field DT_EFFET",
        ),
        (
            "crm",
            "crm",
            lambda d: d["clients"][0].update(mobile="0634876409"),
            "clients[C0001001] field mobile",
        ),
        ("editique", "editique", lambda d: d["documents"][0].update(bloc="AUTRE"), "field bloc"),
    ],
)
def test_a_broken_fixture_fails_loudly_with_file_and_field(
    tmp_path: Path, system: str, file: str, edit: object, message: str
) -> None:
    for path in FIXTURES.glob("*.json"):
        shutil.copy(path, tmp_path / path.name)
    data = json.loads((tmp_path / f"{file}.json").read_text("utf-8"))
    edit(data)  # type: ignore[operator]
    (tmp_path / f"{file}.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    with pytest.raises(FixtureError, match=message.replace("[", r"\[").replace("]", r"\]")):
        build_mock(system, tmp_path)
