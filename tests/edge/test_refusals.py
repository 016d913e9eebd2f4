"""Every refusal of the HTTP edge has one shape: a client reads a body too large, an upload
without its preflight header and an overload the way it reads any GraphQL error, and no cache
keeps any of them."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.edge.middleware.admission import Admission
from gateway.edge.middleware.body_limits import HttpLimits
from gateway.edge.middleware.uploads import UploadGuard

MULTIPART = {"content-type": "multipart/form-data; boundary=x"}


class Served:
    """The app behind the edge: answers 200, or holds its requests until released."""

    def __init__(self, hold: bool = False) -> None:
        self.release = asyncio.Event()
        if not hold:
            self.release.set()
        self.started = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.started += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def client(app: ASGIApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test")


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
    limits = HttpLimits(Served(), max_body_bytes=100, max_json_depth=10)
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
    served = Served()
    async with client(UploadGuard(served, max_body=100)) as http:
        response = await http.post("/graphql", content=b"x" * 200, headers=headers)
    assert_refusal(response, status, code)
    assert served.started == 0


async def test_an_overloaded_process_answers_a_graphql_shaped_503() -> None:
    held = Served(hold=True)
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
