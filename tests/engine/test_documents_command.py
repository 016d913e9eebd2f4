"""`python -m gateway documents build|check PATH`, run as a frontend team runs it."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

from gateway.engine import documents_command
from gateway.engine.documents import sha256
from tests.support.gateway import OPERATIONS

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "persisted_fixtures"


def documents(*args: str) -> subprocess.CompletedProcess[str]:
    """The command as `python -m gateway documents …` runs it, in this process (a process of its
    own costs seconds of imports: `test_the_command_runs_as_a_module` starts one)."""
    parser = argparse.ArgumentParser(prog="python -m gateway documents")
    documents_command.add_arguments(parser)
    out, err = io.StringIO(), io.StringIO()
    code = documents_command.run(parser.parse_args(list(args)), out, err)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def as_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "documents", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_runs_as_a_module_and_exits_with_its_verdict(tmp_path: Path) -> None:
    (tmp_path / "Broken.graphql").write_text("query Broken {\n  viewer { nope }\n}\n")
    checked = as_module("check", str(tmp_path))
    assert checked.returncode == 1
    assert checked.stdout.startswith(f"{tmp_path / 'Broken.graphql'}:2:12: Cannot query field")
    assert as_module("check", str(OPERATIONS)).returncode == 0


def recorded(tmp_path: Path) -> Path:
    """A folder of the 33 documents the real tools were run on (the fixtures' own)."""
    folder = tmp_path / "operations"
    for path in json.loads((FIXTURES / "client-requests.json").read_text("utf-8")):
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text((OPERATIONS / path).read_text("utf-8"), "utf-8")
    return folder


def test_build_writes_what_codegen_writes_and_an_apollo_manifest(tmp_path: Path) -> None:
    operations = recorded(tmp_path)
    codegen = documents("build", str(operations), "--format", "codegen", "--forms", "codegen")
    assert codegen.returncode == 0, codegen.stderr
    assert json.loads(codegen.stdout) == json.loads(
        (FIXTURES / "codegen-persisted-documents.json").read_text("utf-8")
    )
    assert "33 documents, 33 entries (codegen)" in codegen.stderr
    output = tmp_path / "manifest.json"
    apollo = documents("build", str(operations), "--output", str(output))
    assert apollo.returncode == 0 and apollo.stdout == ""
    assert apollo.stderr == (
        "33 documents, 132 entries (file, printed, typename, codegen) as an Apollo "
        f"persisted-query manifest in {output}\n"
    )
    manifest = json.loads(output.read_text("utf-8"))
    assert manifest["format"] == "apollo-persisted-query-manifest"
    assert len(manifest["operations"]) == 132


def test_check_passes_the_frontends_documents_and_the_tools_manifests(tmp_path: Path) -> None:
    for path, kind in [
        (recorded(tmp_path), "33 documents"),
        (FIXTURES / "apollo-persisted-query-manifest.json", "33 manifest entries"),
        (FIXTURES / "codegen-persisted-documents.json", "33 manifest entries"),
    ]:
        checked = documents("check", str(path))
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout == (
            f"{kind} checked against the schema and the operation limits: 33 pass, 0 fail\n"
        )
    every = documents("check", str(OPERATIONS))  # the later documents too
    assert every.returncode == 0 and every.stdout.endswith(" 0 fail\n"), every.stdout


def test_check_names_each_document_that_would_fail_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "Broken.graphql").write_text("query Broken {\n  viewer { nope }\n}\n")
    (tmp_path / "Fine.graphql").write_text("query Fine { viewer { contracts { id } } }\n")
    (tmp_path / "Typo.graphql").write_text("query Typo { viewer { id }\n")
    checked = documents("check", str(tmp_path))
    assert checked.returncode == 1
    lines = checked.stdout.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'Broken.graphql'}:2:12: Cannot query field 'nope'")
    assert lines[1].startswith(f"{tmp_path / 'Typo.graphql'}:2:1: Syntax Error")
    assert lines[-1] == (
        "3 documents checked against the schema and the operation limits: 1 pass, 2 fail"
    )


def test_check_refuses_a_manifest_whose_hash_a_client_would_not_send(tmp_path: Path) -> None:
    body = "query Greeting { __typename }"
    manifest = tmp_path / "persisted-documents.json"
    manifest.write_text(json.dumps({"sha256:" + sha256(body + " "): body}))
    checked = documents("check", str(manifest))
    assert checked.returncode == 1
    assert f"its hash is not its body's sha256 ({sha256(body)})" in checked.stdout


def test_check_of_something_that_is_no_manifest_exits_2(tmp_path: Path) -> None:
    other = tmp_path / "package.json"
    other.write_text('{"name": "web", "version": "1.0.0", "private": true}')
    checked = documents("check", str(other))
    assert checked.returncode == 2
    assert "neither an Apollo persisted-query manifest" in checked.stderr
    assert documents("check", str(tmp_path / "missing")).returncode == 2
