"""The legacy documents: our copies, the examples they contain, and what the mocks serve."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from mocks import MockSystem
from mocks.contracts import CONTRACTS, openapi, schema_validator
from tests.conftest import admin
from tests.support.contract import ContractViolation, check_rest, check_soap, xsd

SHARED = Path(__file__).resolve().parents[3] / "shared" / "legacy"


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/legacy is not beside this clone")
def test_contracts_are_identical_to_the_shared_legacy_documents() -> None:
    shared = {p.name: p.read_bytes() for p in SHARED.iterdir() if p.is_file()}
    ours = {p.name: p.read_bytes() for p in CONTRACTS.iterdir() if p.is_file()}
    assert ours == shared


def examples(system: str) -> list[tuple[str, str, Any]]:
    """(where, schema reference, example value) for every response example of a document."""
    found = []
    doc = openapi(system)
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                if "$ref" in response:
                    response = doc["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                for media in (response.get("content") or {}).values():
                    candidates = list((media.get("examples") or {}).values())
                    if "example" in media:
                        candidates.append({"value": media["example"]})
                    for example in candidates:
                        if "$ref" in example:
                            example = doc["components"]["examples"][
                                example["$ref"].rsplit("/", 1)[1]
                            ]
                        found.append(
                            (f"{method.upper()} {path} {status}", media["schema"], example["value"])
                        )
    return found


@pytest.mark.parametrize("system", ["policy-admin", "claims", "crm"])
def test_every_example_of_the_documents_validates_against_its_schema(system: str) -> None:
    from jsonschema import Draft7Validator

    from mocks.contracts import to_json_schema

    definitions = {
        k: to_json_schema(v) for k, v in openapi(system)["components"]["schemas"].items()
    }
    checked = 0
    for where, schema, value in examples(system):
        validator = Draft7Validator({**to_json_schema(schema), "definitions": definitions})
        errors = list(validator.iter_errors(value))
        assert not errors, f"{system} {where}: {errors[0].message}"
        checked += 1
    assert checked >= 10


def test_soap_examples_of_editique_md_validate_against_the_xsd() -> None:
    text = (CONTRACTS / "editique.md").read_text("utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```xml\n")[1:]]
    assert len(blocks) >= 12
    for block in blocks:
        response = httpx.Response(
            500 if "Fault" in block else 200,
            content=block.encode(),
            headers={"content-type": "text/xml; charset=utf-8"},
        )
        if "<wsse:Security" in block:  # a request: validate its payload element
            from defusedxml import ElementTree

            body = ElementTree.fromstring(block.encode()).find(
                "{http://schemas.xmlsoap.org/soap/envelope/}Body"
            )
            xsd().validate(body[0])
        else:
            check_soap(response)


@pytest.mark.parametrize("system", ["policy-admin", "claims", "crm"])
async def test_openapi_json_is_the_legacy_document_and_is_never_logged(
    mocks: dict[str, MockSystem], system: str
) -> None:
    async with admin(mocks[system]) as client:
        await client.put("/_admin/faults", json={"error_rate": 1.0})
        served = await client.get("/openapi.json")
        assert served.status_code == 200 and served.json() == json.loads(
            json.dumps(openapi(system))
        )
        assert (await client.get("/_admin/calls")).json()["total"] == 0


def test_the_response_check_catches_a_broken_answer() -> None:
    request = httpx.Request("GET", "http://127.0.0.1:9001/api/v1/contrats/AA565656")
    broken = httpx.Response(
        200,
        json={"CODE_RETOUR": "0000", "LIB_RETOUR": "OK", "CONTRAT": {"NUM_CTR": 1}},
        request=request,
    )
    with pytest.raises(ContractViolation):
        check_rest("policy-admin", broken)
    bad_error = httpx.Response(
        404, json={"code": "X"}, request=httpx.Request("GET", "http://127.0.0.1:9001/api/v1/nope")
    )
    with pytest.raises(ContractViolation):
        check_rest("policy-admin", bad_error)
    assert schema_validator("claims", "Erreur").is_valid(
        {"code": "AUTHENTIFICATION", "message": "m", "horodatage": "24/11/2026 10:12:00"}
    )
