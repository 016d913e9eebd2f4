"""Every refusal of the HTTP edge has one shape: a client reads a body too large, an upload
without its preflight header and an overload the way it reads any GraphQL error, and no cache
keeps any of them."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from collections.abc import Iterator

import httpx
import orjson
import pytest

from gateway.edge.middleware.admission import Admission
from gateway.edge.middleware.body_limits import HttpLimits
from gateway.edge.middleware.uploads import UploadGuard
from mocks.processes import free_port, process
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


# --- over real HTTP: the refusal is read by a client still sending its body --------------------

NODE_UPLOAD = """
const form = new FormData();
const query = "mutation ($file: Upload!) { uploadAttachment(file: $file) { attachment { id } } }";
form.append("operations", JSON.stringify({query, variables: {file: null}}));
form.append("map", JSON.stringify({"0": ["variables.file"]}));
form.append("0", new Blob([new Uint8Array(1024 * 1024)], {type: "application/pdf"}), "scan.pdf");
const response = await fetch(process.argv[1], {method: "POST", body: form});
console.log(JSON.stringify({status: response.status, body: await response.json()}));
"""


@pytest.fixture(scope="module")
def served_gateway() -> Iterator[str]:
    """`python -m gateway serve` in its own process: uvicorn's sockets, as a client meets them."""
    port = free_port()
    with process(
        ["-m", "gateway", "serve", "--port", str(port), "--no-access-log"],
        [f"http://127.0.0.1:{port}/livez"],
        timeout=120,  # a loaded machine: the in-process mocks load their fixtures first
    ):
        yield f"http://127.0.0.1:{port}/graphql"


def test_an_upload_without_its_csrf_header_reads_the_400_not_a_broken_pipe(
    served_gateway: str,
) -> None:
    """As Node's fetch does it: the whole request written, then the answer read. 4 MB is more
    than the sockets' buffers hold: answered and closed unread, the write fails (EPIPE, reset)
    before the client reads anything."""
    request = httpx.Request(
        "POST",
        served_gateway,
        files={"0": ("scan.pdf", b"%PDF" + b"x" * 4 * 1024 * 1024, "application/pdf")},
        data={"operations": '{"query": "{ __typename }"}', "map": '{"0": []}'},
    )
    head = f"POST /graphql HTTP/1.1\r\nHost: {request.url.netloc.decode()}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in request.headers.items() if name != "host"
    )
    port = request.url.port or 80
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(head.encode() + b"\r\n" + request.read())
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
            chunk = sock.recv(65_536)
            if not chunk:
                break
            answer += chunk
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 400 ")
    assert b"connection: close" not in status.lower()  # read to its end: the connection can stay
    assert orjson.loads(body)["errors"][0]["extensions"] == {"code": "CSRF_PREFLIGHT_REQUIRED"}


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not on the PATH")
def test_a_node_client_without_the_csrf_header_reads_the_400(served_gateway: str) -> None:
    run = subprocess.run(
        ["node", "--input-type=module", "-e", NODE_UPLOAD, served_gateway],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 0, run.stderr  # "fetch failed" (EPIPE) when the body is not read
    answer = orjson.loads(run.stdout)
    assert answer["status"] == 400
    assert answer["body"]["errors"][0]["extensions"] == {"code": "CSRF_PREFLIGHT_REQUIRED"}


async def test_the_csrf_refusal_reads_no_more_than_the_upload_limit() -> None:
    """A client streaming an endless body without the header is answered once the limit is read,
    and the connection is closed: the gateway never reads more than an upload's size for it."""
    read = 0

    async def receive() -> dict[str, object]:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": b"x" * 40, "more_body": True}

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/graphql",
        "headers": [(b"content-type", b"multipart/form-data; boundary=x")],
    }
    await UploadGuard(Held(hold=False), max_body=100)(scope, receive, send)
    assert read == 3  # 120 bytes: past the limit, no more
    assert sent[0]["status"] == 400
    assert (b"connection", b"close") in sent[0]["headers"]  # type: ignore[operator]
