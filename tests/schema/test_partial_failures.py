"""One failing back-end never blanks a page: its fields are null with a typed error naming it."""

from __future__ import annotations

from unittest.mock import ANY

import pytest

from tests.conftest import admin
from tests.support.gateway import PERSONAS, Gateway, codes


async def fail(gateway: Gateway, system: str, **faults: object) -> None:
    async with admin(gateway.mocks[system]) as control:
        response = await control.put("/_admin/faults", json=faults)
        assert response.status_code == 200


async def test_editique_down_leaves_the_rest_of_the_home_page(gateway: Gateway) -> None:
    await fail(gateway, "editique", error_rate=1.0, error_status=503)
    body = await gateway.run("HomePage", as_=PERSONAS["paul"])
    viewer = body["data"]["viewer"]
    assert viewer["documents"] is None
    assert (
        viewer["contracts"]
        and viewer["demandes"]["totalCount"] > 0
        and viewer["reglements"]["edges"]
    )
    [error] = body["errors"]
    assert error["path"] == ["viewer", "documents"]
    assert error["extensions"] == {
        "code": "BACKEND_UNAVAILABLE",
        "backend": "editique",
        "requestId": error["extensions"]["requestId"],
    }
    assert "http" not in error["message"] and "dev-" not in error["message"]


@pytest.mark.parametrize(
    ("system", "field"), [("policy-admin", "contracts"), ("crm", None), ("claims", "reglements")]
)
async def test_each_backend_failure_is_reported_at_its_fields(
    gateway: Gateway, system: str, field: str | None
) -> None:
    await fail(gateway, system, error_rate=1.0, error_status=500)
    body = await gateway.run("HomePage", as_=PERSONAS["geralt"])
    assert set(codes(body)) == {"BACKEND_UNAVAILABLE"}
    assert {e["extensions"]["backend"] for e in body["errors"]} == {system}
    if field is None:  # the CRM knows who the viewer is: without it there is no page
        assert body["data"]["viewer"] is None
    else:
        assert (
            body["data"]["viewer"][field] is None
            and body["data"]["viewer"]["displayName"] == "Geralt RIVIÈRE"
        )


async def test_hidden_technical_errors_and_rate_limits_are_typed(gateway: Gateway) -> None:
    await fail(gateway, "policy-admin", quirk_rate=1.0)
    body = await gateway.run("HomePage", as_=PERSONAS["chris"])
    assert body["data"]["viewer"]["contracts"] is None and codes(body) == ["BACKEND_UNAVAILABLE"]
    await fail(gateway, "policy-admin")
    await fail(gateway, "claims", quirk_rate=1.0)
    body = await gateway.run("HomePage", as_=PERSONAS["paul"])
    assert (
        codes(body) == ["RATE_LIMITED"] and body["errors"][0]["extensions"]["backend"] == "claims"
    )


async def test_a_hanging_backend_times_out_with_its_name(gateway: Gateway) -> None:
    gateway.app.state.services.backends.editique.transport.attempt_timeout = 0.2
    await fail(gateway, "editique", timeout_rate=1.0, hang_ms=2000)
    body = await gateway.run("HomePage", as_=PERSONAS["chris"])
    assert body["data"]["viewer"]["documents"] is None
    extensions = body["errors"][0]["extensions"]
    assert extensions == {"code": "BACKEND_TIMEOUT", "backend": "editique", "requestId": ANY}


async def test_an_unexpected_error_is_masked(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals at http://10.0.0.1 with dev-crm-token")

    monkeypatch.setattr(gateway.app.state.services.backends.crm, "demandes", broken)
    body = await gateway.run("HomePage", as_=PERSONAS["chris"])
    assert body["errors"][0]["message"] == "Erreur interne." and codes(body) == [
        "INTERNAL_SERVER_ERROR"
    ]
    assert "secret" not in str(body) and body["data"]["viewer"]["contracts"]
