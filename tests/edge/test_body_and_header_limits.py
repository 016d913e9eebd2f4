"""HTTP limits: bodies, JSON nesting, headers, slow clients; no personal answer is cached."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from gateway.edge.server_protocol import guarded_protocol
from tests.support.gateway import Gateway, codes


async def test_a_body_over_1_mb_is_refused_before_it_is_read(gateway: Gateway) -> None:
    await gateway.clear_calls()
    query = "{ viewer { id } }" + " " * 5_000_000
    started = time.perf_counter()
    response = await gateway.http.post("/graphql", json={"query": query})
    assert response.status_code == 413 and codes(response.json()) == ["PAYLOAD_TOO_LARGE"]
    assert time.perf_counter() - started < 1.0
    assert sum(gateway.calls().values()) == 0


async def test_a_chunked_body_is_cut_at_the_limit(gateway: Gateway) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"query": "{ __typename }", "variables": {"x": "'
        for _ in range(100):  # 6.4 MB, announced by no Content-Length
            sent += 1
            yield b"x" * 65_536
        yield b'"}}'

    response = await gateway.http.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


async def test_a_body_under_the_limit_is_served(gateway: Gateway) -> None:
    response = await gateway.http.post(
        "/graphql", json={"query": "{ __typename }", "variables": {"pad": "x" * 900_000}}
    )
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}


async def test_deeply_nested_variables_are_refused(gateway: Gateway) -> None:
    deep: object = "x"
    for _ in range(17):
        deep = {"a": deep}
    response = await gateway.http.post(
        "/graphql", json={"query": "{ __typename }", "variables": {"v": deep}}
    )
    assert response.status_code == 400 and codes(response.json()) == ["BAD_USER_INPUT"]


async def test_json_nested_past_any_parser_is_a_bad_request_not_a_crash(gateway: Gateway) -> None:
    body = '{"query": "{ __typename }", "variables": {"v": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    response = await gateway.http.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and codes(response.json()) == ["BAD_USER_INPUT"]


async def test_get_variables_nested_too_deep_are_a_bad_request_not_a_crash(
    gateway: Gateway,
) -> None:
    for variables in (
        '{"v": ' + "[" * 5_000 + "]" * 5_000 + "}",
        '{"v": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}',
    ):
        response = await gateway.http.get(
            "/graphql", params={"query": "{ __typename }", "variables": variables}
        )
        assert response.status_code == 400 and codes(response.json()) == ["BAD_USER_INPUT"]
    fine = await gateway.http.get(
        "/graphql", params={"query": "{ __typename }", "variables": '{"v": [1]}'}
    )
    assert fine.json() == {"data": {"__typename": "Query"}}


async def test_graphql_answers_are_never_stored_by_a_cache(gateway: Gateway) -> None:
    token = gateway.token("C0001002")
    answered = await gateway.http.post(
        "/graphql",
        json={"query": "{ viewer { displayName } }"},
        headers={"Authorization": f"Bearer {token}"},
    )
    refused = await gateway.http.post("/graphql", json={"query": "{ viewer { displayName } }"})
    got = await gateway.http.get("/graphql", params={"query": "{ __typename }"})
    for response in (answered, refused, got):
        assert response.headers["cache-control"] == "no-store", response.headers


async def test_multipart_is_left_to_its_handler(gateway: Gateway) -> None:
    response = await gateway.http.post(
        "/graphql",
        files={"file": ("a.pdf", b"%PDF" + b"x" * 2_000_000, "application/pdf")},
        data={"operations": json.dumps({"query": "{ __typename }"}), "map": "{}"},
    )
    assert response.status_code != 413


# --- uvicorn: headers and slow clients, on a real socket ---------------------------------------


async def hello(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"ok"})  # type: ignore[operator]


@contextlib.asynccontextmanager
async def server(
    header_timeout_s: float = 0.5, http: Any = None, app: Any = None
) -> AsyncIterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app or hello,
        host="127.0.0.1",
        port=port,
        http=http or guarded_protocol(max_header_bytes=16_384, header_timeout_s=header_timeout_s),
        timeout_keep_alive=1,
        log_level="warning",
        lifespan="off",
    )
    running = uvicorn.Server(config)
    task = asyncio.create_task(running.serve())
    for _ in range(500):  # started within 5 s
        if running.started:
            break
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        running.should_exit = True
        await task


async def exchange(port: int, request: bytes, wait_s: float = 2.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), wait_s)
    finally:
        writer.close()


async def test_headers_over_16_kib_are_refused() -> None:
    async with server() as port:
        big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 20_000 + b"\r\n\r\n"
        assert (await exchange(port, big)).startswith(b"HTTP/1.1 431")
        small = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        assert b"\r\nok\r\n" in await exchange(port, small)


async def test_uvicorn_run_by_hand_takes_the_limits_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_MAX_HEADER_BYTES", "512")
    async with server(http="gateway.edge.server_protocol:SettingsProtocol") as port:
        request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 600 + b"\r\n\r\n"
        assert (await exchange(port, request)).startswith(b"HTTP/1.1 431")


async def test_a_client_sending_its_headers_slowly_is_cut_off() -> None:
    async with server(header_timeout_s=0.5) as port:
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        closed = False
        for _ in range(20):  # one header line every 0.1 s, never finished
            writer.write(b"X-Slow: 1\r\n" if _ else b"GET / HTTP/1.1\r\n")
            await writer.drain()
            await asyncio.sleep(0.1)
            if reader.at_eof() or await read_eof(reader):
                closed = True
                break
        writer.close()
        assert closed and time.perf_counter() - started < 1.5


async def read_eof(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), 0.01) == b""
    except TimeoutError:
        return False


class CountedWrites:
    """A transport that records each write (one system call each on a real socket)."""

    def __init__(self, transport: asyncio.Transport, writes: list[bytes]) -> None:
        self.transport, self.writes = transport, writes

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self.transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


async def test_an_answer_leaves_in_one_write_and_a_bodyless_one_still_leaves() -> None:
    """Headers wait for the body (one system call, not two); a HEAD's headers, with no body to
    wait for, go at the end of the answer, also when the next request was pipelined behind it."""
    writes: list[bytes] = []

    class Counted(guarded_protocol(max_header_bytes=16_384, header_timeout_s=5)):  # type: ignore[misc]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(CountedWrites(transport, writes))  # type: ignore[arg-type]

    async with server(http=Counted) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        first = await asyncio.wait_for(reader.readuntil(b"ok\r\n0\r\n\r\n"), 2)  # chunked
        assert first.startswith(b"HTTP/1.1 200") and len(writes) == 1 and writes[0] == first
        writer.write(
            b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        rest = await asyncio.wait_for(reader.read(), 2)
        writer.close()
    head, _, get = rest.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and get.startswith(b"HTTP/1.1 200")
    assert get.endswith(b"ok\r\n0\r\n\r\n") and len(writes) == 3


async def test_an_event_streams_headers_leave_at_once_not_with_its_first_event() -> None:
    """A subscription's event stream may send nothing for minutes (no change): its status and
    headers leave at once, so that the client knows it is subscribed."""
    first_event = asyncio.Event()

    async def events(scope: dict, receive: object, send: Any) -> None:  # type: ignore[type-arg]
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await first_event.wait()
        await send({"type": "http.response.body", "body": b"event: complete\r\n\r\n"})

    async with server(app=events) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
        finally:
            first_event.set()
            writer.close()
    assert head.startswith(b"HTTP/1.1 200") and b"text/event-stream" in head


async def test_without_fast_paths_uvicorn_writes_its_answers_as_it_ships(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GATEWAY_FAST_PATHS=false: the protocol deployments run leaves uvicorn's response cycle
    alone (its headers, then its body); the limits stay."""
    monkeypatch.setenv("GATEWAY_FAST_PATHS", "false")
    writes: list[bytes] = []
    from gateway.edge import server_protocol

    class Counted(server_protocol.SettingsProtocol):  # type: ignore[misc,name-defined]
        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(CountedWrites(transport, writes))

    async with server(http=Counted) as port:
        answer = await exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"ok\r\n0\r\n\r\n")
    assert len(writes) >= 2 and writes[0].endswith(b"\r\n\r\n") and b"ok" not in writes[0]
