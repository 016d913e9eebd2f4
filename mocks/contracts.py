"""The legacy contract documents (`contracts/legacy/`) and fixture loading validated against them.

A broken fixture fails loudly at start-up with its file, its record and the field at fault: the
records are checked against the very schemas of the OpenAPI documents the mocks serve.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

# symbolic links to the project's contracts/legacy/ and fixtures/: a wheel carries the files themselves
DATA = Path(__file__).resolve().parent / "data"
CONTRACTS = DATA / "legacy"
# MOCK_FIXTURES: the directory of another world (`fixtures/build.py --seed N --out DIR`)
FIXTURES = Path(os.environ.get("MOCK_FIXTURES") or DATA / "fixtures")

DOCUMENTS = {
    "policy-admin": "policy-admin.openapi.yaml",
    "claims": "claims.openapi.yaml",
    "crm": "crm.openapi.yaml",
}


class FixtureError(Exception):
    """A fixture file that does not hold what its system's contract says."""


@cache
def openapi(system: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((CONTRACTS / DOCUMENTS[system]).read_text("utf-8"))
    return loaded


@cache
def openapi_bytes(system: str) -> bytes:
    return json.dumps(openapi(system), ensure_ascii=False).encode()


def fixtures_anchor(directory: Path | None = None) -> date:
    """The day the fixtures were built for (their `anchor`)."""
    data = json.loads(((directory or FIXTURES) / "crm.json").read_text("utf-8"))
    return date.fromisoformat(data["anchor"])


def wsdl_text() -> str:
    return (CONTRACTS / "editique.wsdl").read_text("utf-8")


def to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema → JSON Schema draft 7 (`nullable`, `example` and friends)."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: to_json_schema(v)
        for k, v in node.items()
        if k not in ("example", "examples", "nullable")
    }
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/definitions/")
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        if "allOf" in out or "$ref" in out:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


@cache
def schema_validator(system: str, name: str) -> Draft7Validator:
    schemas = copy.deepcopy(openapi(system)["components"]["schemas"])
    definitions = {key: to_json_schema(value) for key, value in schemas.items()}
    return Draft7Validator({"$ref": f"#/definitions/{name}", "definitions": definitions})


Validate = Callable[[dict[str, Any]], None]
_LOADED: dict[tuple[Path, int, int], dict[str, Any]] = {}


def load_fixture(name: str, directory: Path | None, validate: Validate) -> dict[str, Any]:
    """A private copy of fixture `name`, parsed and validated once per version of the file."""
    path = (directory or FIXTURES) / f"{name}.json"
    try:
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in _LOADED:
            data = json.loads(path.read_text("utf-8"))
            if not isinstance(data, dict):
                raise FixtureError(f"{path}: a JSON object is expected")
            validate(data)
            _LOADED[key] = data
    except (OSError, ValueError) as exc:
        raise FixtureError(f"{path}: {exc}") from exc
    return copy.deepcopy(_LOADED[key])


def check(path: str, records: Any, system: str, schema: str, key: str | None = None) -> None:
    """Validate each record of a fixture list against a component schema of `system`."""
    if not isinstance(records, list):
        raise FixtureError(f"{path}: a list is expected")
    validator = schema_validator(system, schema)
    for index, record in enumerate(records):
        error = next(iter(validator.iter_errors(record)), None)
        if error is not None:
            where = record.get(key, index) if key and isinstance(record, dict) else index
            field = "/".join(str(p) for p in error.absolute_path) or "(record)"
            raise FixtureError(f"{path}[{where}] field {field}: {error.message}")


def require(path: str, data: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if key not in data:
            raise FixtureError(f"{path}: missing key {key!r}")
