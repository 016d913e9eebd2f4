"""schemathesis over each REST mock with its own OpenAPI document: no server error, no answer
that breaks the document (status, content type, headers, body schema)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from mocks import build_mock

# one process for the whole file: the last test reads the call logs the fuzzing above left
pytestmark = pytest.mark.serial

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "30"))
HEADERS = {
    "policy-admin": {"X-Api-Key": "dev-policy-admin-key"},
    "claims": {"Authorization": "Basic Z2F0ZXdheTpkZXYtY2xhaW1zLXBhc3N3b3Jk"},
    "crm": {"Authorization": "Bearer dev-crm-token"},
}
APPS = {name: build_mock(name) for name in HEADERS}
policy_admin = schemathesis.openapi.from_asgi("/openapi.json", APPS["policy-admin"])
claims = schemathesis.openapi.from_asgi("/openapi.json", APPS["claims"])
crm = schemathesis.openapi.from_asgi("/openapi.json", APPS["crm"])
FUZZ = settings(
    max_examples=EXAMPLES, suppress_health_check=list(HealthCheck), deadline=None, derandomize=True
)


@policy_admin.parametrize()
@FUZZ
def test_policy_admin_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=HEADERS["policy-admin"], checks=CHECKS)


@claims.parametrize()
@FUZZ
def test_claims_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=HEADERS["claims"], checks=CHECKS)


@crm.parametrize()
@FUZZ
def test_crm_conforms(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=HEADERS["crm"], checks=CHECKS)


@pytest.mark.parametrize("system", list(HEADERS))
def test_schemathesis_really_called_every_operation(system: str) -> None:
    """Runs after the fuzzing above (file order): the mocks' own call logs prove the traffic."""
    counts = APPS[system].log.counts
    documented = {route.key for route in APPS[system].routes}
    assert documented <= set(counts), documented - set(counts)
