"""Every refusal of the HTTP edge has one shape: a client reads a body too large, an upload
without its preflight header and an overload the way it reads any GraphQL error, and no cache
keeps any of them."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from gateway.edge.middleware.admission import Admission
from gateway.edge.middleware.body_limits import HttpLimits
from gateway.edge.middleware.uploads import UploadGuard
from tests.support.asgi import Held, client

MULTIPART = {"content-type": "multipart/form-data; boundary=x"}


def assert_refusal(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status
    body = orjson.loads(response.content)
    assert body == {
        "data": None,
        "errors": [{"message": body["errors"][0]["message"], "extensions": {"code": code}}],
    }
    assert body["errors"][0]["message"]  # something to show the customer
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(response.content))
    assert response.headers["cache-control"] == "no-store"


async def test_a_body_over_the_limit_is_a_graphql_shaped_413() -> None:
    limits = HttpLimits(Held(hold=False), max_body_bytes=100, max_json_depth=10)
    async with client(limits) as http:
        response = await http.post("/graphql", content=b'{"query": "' + b"x" * 200 + b'"}')
    assert_refusal(response, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        (MULTIPART, 400, "CSRF_PREFLIGHT_REQUIRED"),  # a cross-site form could send it
        ({**MULTIPART, "apollo-require-preflight": "1"}, 413, "PAYLOAD_TOO_LARGE"),
    ],
)
async def test_a_refused_upload_is_a_graphql_shaped_error(
    headers: dict[str, str], status: int, code: str
) -> None:
    served = Held(hold=False)
    async with client(UploadGuard(served, max_body=100)) as http:
        response = await http.post("/graphql", content=b"x" * 200, headers=headers)
    assert_refusal(response, status, code)
    assert served.started == 0


async def test_an_overloaded_process_answers_a_graphql_shaped_503() -> None:
    held = Held()
    admission = Admission(held, limit=1, queue=0, wait_s=0)
    async with client(admission) as http:
        working = asyncio.create_task(http.post("/graphql", json={"query": "{ __typename }"}))
        for _ in range(400):
            if held.started:
                break
            await asyncio.sleep(0.005)
        response = await http.post("/graphql", json={"query": "{ __typename }"})
        held.release.set()
        assert (await working).status_code == 200
    assert_refusal(response, 503, "OVERLOADED")
    assert response.headers["retry-after"] == "1"
