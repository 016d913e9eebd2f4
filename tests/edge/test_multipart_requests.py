"""Multipart requests the GraphQL multipart request spec does not describe, and those of callers
who may not upload: typed refusals (never a 500), counted by the rate limits, nothing parsed for
a caller without a session, and only `uploadAttachment` ever runs from one."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.edge.middleware import uploads
from mocks.base import MockSystem
from tests.support.demarches import GERALT, PDF, UPLOAD, posts
from tests.support.gateway import Gateway, codes, serve

PREFERENCES = """
mutation Smuggled($file: Upload!, $input: PreferencesInput!) { ...uploadAttachment }
fragment uploadAttachment on Mutation {
  updatePreferences(input: $input) { userErrors { code } }
}
"""
PREFERENCES_INPUT = {
    "paperless": True,
    "consents": {"groupOffers": True, "targetedCommunication": True, "satisfactionSurveys": True},
}


def deep(levels: int) -> Any:
    value: Any = None
    for _ in range(levels):
        value = {"a": value}
    return value


async def send(
    gateway: Gateway,
    operations: Any,
    files_map: Any = None,
    *,
    token: bool = True,
    file: bool = True,
) -> tuple[int, dict[str, Any]]:
    """A multipart POST with these parts as given (a str is sent as is, anything else as JSON)."""
    as_text = lambda part: part if isinstance(part, str) else json.dumps(part)  # noqa: E731
    data = {"operations": as_text(operations)}
    data["map"] = as_text({"0": ["variables.file"]} if files_map is None else files_map)
    headers = {"Apollo-Require-Preflight": "true"}
    if token:
        headers["Authorization"] = f"Bearer {gateway.token(GERALT)}"
    response = await gateway.http.post(
        "/graphql",
        data=data,
        files={"0": ("facture.pdf", PDF, "application/pdf")} if file else None,
        headers=headers,
    )
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.status_code, response.json()


def upload_operations(**variables: Any) -> dict[str, Any]:
    return {"query": UPLOAD, "variables": {"file": None, **variables}}


MALFORMED = {
    "map as a JSON list": (upload_operations(), [["variables.file"]]),
    "operations as a JSON list (a batch)": ([upload_operations()], {"0": ["0.variables.file"]}),
    "operations not JSON": ("{query: mutation", None),
    "map not JSON": (upload_operations(), "0=variables.file"),
    "variables nested 900 deep": (upload_operations(deep=deep(900)), None),
    "map nested 900 deep": (upload_operations(), {"0": deep(900)}),
    "map pointing nowhere": (upload_operations(), {"0": ["variables.nowhere.file"]}),
    "map pointing at the document": (upload_operations(), {"0": ["query"]}),
    "map pointing at a missing file": (upload_operations(), {"1": ["variables.file"]}),
    "map of a non-list": (upload_operations(), {"0": "variables.file"}),
    "variables as a list": ({"query": UPLOAD, "variables": [None]}, {"0": ["variables.0"]}),
    "query as a number": ({"query": 12, "variables": {"file": None}}, None),
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_malformed_multipart_request_is_a_typed_400_without_a_traceback(
    gateway: Gateway, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    operations, files_map = MALFORMED[case]
    with caplog.at_level(logging.INFO):
        status, body = await send(gateway, operations, files_map)

    assert status == 400 and codes(body) == ["BAD_REQUEST"], body
    assert len(body["errors"][0]["message"]) < 120
    assert posts(gateway, route="/pieces-jointes") == 0
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.fixture
async def tight_gateway(mocks: dict[str, MockSystem]) -> AsyncIterator[Gateway]:
    async with serve(
        mocks, rate_limit_client="3/minute", rate_limit_anonymous="3/minute"
    ) as gateway:
        yield gateway


async def test_malformed_multipart_requests_spend_the_rate_limits(tight_gateway: Gateway) -> None:
    answers = [await send(tight_gateway, "not json") for _ in range(5)]

    assert [status for status, _ in answers] == [400, 400, 400, 429, 429]
    assert codes(answers[-1][1]) == ["RATE_LIMITED"]


async def test_anonymous_multipart_requests_spend_the_rate_limits(tight_gateway: Gateway) -> None:
    answers = [await send(tight_gateway, upload_operations(), token=False) for _ in range(5)]

    assert [status for status, _ in answers] == [401, 401, 401, 429, 429]


async def test_an_anonymous_multipart_request_is_refused_before_its_document_is_parsed(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No anonymous field takes a file: the form is not read, the document never parsed."""
    parsed: list[str] = []
    real = uploads.parse_within
    monkeypatch.setattr(
        uploads, "parse_within", lambda query, *rest: parsed.append(query) or real(query, *rest)
    )
    large = "mutation($file: Upload!) { " + "uploadAttachment(file: $file) { __typename } " * 2000
    status, body = await send(
        gateway, {"query": large + "}", "variables": {"file": None}}, token=False
    )

    assert status == 401 and codes(body) == ["UNAUTHENTICATED"]
    assert parsed == []
    assert posts(gateway, route="/pieces-jointes") == 0


async def test_a_text_part_over_1_mib_is_refused_before_it_is_parsed(gateway: Gateway) -> None:
    query = "mutation($file: Upload!) { " + "uploadAttachment(file: $file) { __typename } " * 25_000
    status, body = await send(gateway, {"query": query + "}", "variables": {"file": None}})

    assert status == 413 and codes(body) == ["PAYLOAD_TOO_LARGE"]
    assert posts(gateway, route="/pieces-jointes") == 0


async def test_a_fragment_named_upload_attachment_cannot_carry_another_mutation(
    gateway: Gateway,
) -> None:
    operations = {"query": PREFERENCES, "variables": {"file": None, "input": PREFERENCES_INPUT}}
    status, body = await send(gateway, operations)

    assert codes(body) == ["BAD_REQUEST"] and body["data"] is None, (status, body)
    assert not [c for c in gateway.mocks["crm"].log.calls if c.path.endswith("/preferences")]


async def test_an_upload_beside_another_mutation_is_refused(gateway: Gateway) -> None:
    query = """mutation Both($file: Upload!, $input: PreferencesInput!) {
      uploadAttachment(file: $file) { attachment { id } }
      updatePreferences(input: $input) { userErrors { code } }
    }"""
    operations = {"query": query, "variables": {"file": None, "input": PREFERENCES_INPUT}}
    _, body = await send(gateway, operations)

    assert codes(body) == ["BAD_REQUEST"]
    assert posts(gateway, route="/pieces-jointes") == 0


async def test_the_selected_operation_decides_not_the_first_one(gateway: Gateway) -> None:
    query = (
        UPLOAD
        + "\n"
        + PREFERENCES.replace("fragment uploadAttachment", "fragment f").replace(
            "...uploadAttachment", "...f"
        )
    )
    operations = {
        "query": query,
        "operationName": "Smuggled",
        "variables": {"file": None, "input": PREFERENCES_INPUT},
    }
    _, body = await send(gateway, operations)

    assert codes(body) == ["BAD_REQUEST"]
    assert not [c for c in gateway.mocks["crm"].log.calls if c.path.endswith("/preferences")]


async def test_a_well_formed_upload_still_runs(gateway: Gateway) -> None:
    status, body = await send(gateway, upload_operations())

    assert status == 200 and body["data"]["uploadAttachment"]["attachment"]["id"], body
