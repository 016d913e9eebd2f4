"""The back-end HTTP client (`gateway/adapters/transport/egress.py`, aiohttp) against scripted
servers on 127.0.0.1: the bytes it sends, the answers it reads (lengths, chunks, end of
connection), keep-alive, the limits it keeps, and every way an exchange can fail, with its cause.
(TLS and proxies: `tests/edge/test_egress_tls.py`.)"""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.adapters.transport import egress
from gateway.adapters.transport.egress import Client, Egress, EgressMisconfigured, ExchangeFailed
from gateway.settings import Settings

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Server"], Awaitable[None]]


@dataclass
class Request:
    head: bytes
    body: bytes

    @property
    def line(self) -> str:
        return self.head.split(b"\r\n", 1)[0].decode()

    def header(self, name: str) -> str | None:
        for row in self.head.split(b"\r\n")[1:]:
            key, _, value = row.decode("latin-1").partition(":")
            if key.lower() == name.lower():
                return value.strip()
        return None


@dataclass
class Server:
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    open_now: int = 0
    most_open: int = 0

    async def read(self, reader: asyncio.StreamReader) -> Request | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        request = Request(head, b"")
        length = int(request.header("content-length") or 0)
        request.body = await reader.readexactly(length)
        self.requests.append(request)
        return request


def answer(body: bytes, status: str = "200 OK", headers: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body


@asynccontextmanager
async def scripted(handler: Handler) -> AsyncIterator[Server]:
    server = Server()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        server.open_now += 1
        server.most_open = max(server.most_open, server.open_now)
        try:
            await handler(reader, writer, server)
        finally:
            server.open_now -= 1
            writer.close()

    listening = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    server.port = listening.sockets[0].getsockname()[1]
    async with listening:
        yield server


async def keep_answering(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server
) -> None:
    """Answer every request of the connection with its own request line."""
    while (request := await server.read(reader)) is not None:
        writer.write(answer(request.line.encode(), headers="X-Seen: yes\r\n"))
        await writer.drain()


async def test_a_get_sends_one_clean_request_and_reads_status_headers_and_body() -> None:
    async with scripted(keep_answering) as server:
        client = Client(f"http://127.0.0.1:{server.port}/prefix/", {"X-Api-Key": "k"})
        reply = await client.request(
            "GET",
            "/api/v1/contrats/recherche",
            params={"numAffilie": "A 1@x", "actif": True, "vide": None},
            headers={"traceparent": "00-abc-def-01"},
        )
        await client.aclose()
    request = server.requests[0]
    assert request.line == (
        "GET /prefix/api/v1/contrats/recherche?numAffilie=A%201%40x&actif=true&vide= HTTP/1.1"
    )
    assert request.header("host") == f"127.0.0.1:{server.port}"
    assert request.header("x-api-key") == "k" and request.header("traceparent") == "00-abc-def-01"
    assert request.header("content-length") is None  # a GET without a body says nothing of one
    assert reply.status_code == 200 and reply.content == request.line.encode()
    assert reply.headers["x-seen"] == "yes" and reply.headers.get("X-SEEN") == "yes"
    assert "Content-Length" in reply.headers and "missing" not in reply.headers


async def test_a_post_carries_its_json_or_bytes_with_their_length() -> None:
    async with scripted(keep_answering) as server:
        client = Client(f"http://127.0.0.1:{server.port}")
        await client.request("POST", "/demandes", json={"type": "ATTESTATION", "n": 1})
        await client.request(
            "POST", "/ws", content=b"<soap/>", headers={"Content-Type": "text/xml"}
        )
        await client.request("DELETE", "/x")
        await client.aclose()
    sent_json, sent_xml, deleted = server.requests
    assert sent_json.body == b'{"type":"ATTESTATION","n":1}'
    assert sent_json.header("content-type") == "application/json"
    assert sent_json.header("content-length") == str(len(sent_json.body))
    assert sent_xml.body == b"<soap/>" and sent_xml.header("content-type") == "text/xml"
    assert deleted.header("content-length") == "0"  # not idempotent: its length is said


async def test_keep_alive_reuses_one_connection_and_caps_concurrent_ones() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, srv: Server) -> None:
        while (request := await srv.read(reader)) is not None:
            await asyncio.sleep(0.02)
            writer.write(answer(request.line.encode()))

    async with scripted(slow) as server:
        client = Client(f"http://127.0.0.1:{server.port}", egress=Egress(max_connections=3))
        for _ in range(5):
            await client.request("GET", "/one")
        assert server.connections == 1
        replies = await asyncio.gather(*(client.request("GET", f"/{i}") for i in range(12)))
        await client.aclose()
    assert [r.content for r in replies] == [f"GET /{i} HTTP/1.1".encode() for i in range(12)]
    assert server.most_open <= 3


async def test_chunked_and_connection_delimited_answers_are_read_whole() -> None:
    async def odd(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, srv: Server) -> None:
        request = await srv.read(reader)
        assert request is not None
        if request.line.startswith("GET /chunked"):
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for piece in (b"5\r\nhello\r\n", b"6\r\n world\r\n", b"0\r\n\r\n"):
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.005)  # arrives in several reads
        else:  # HTTP/1.0 style: the body ends with the connection
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
            await writer.drain()

    async with scripted(odd) as server:
        client = Client(f"http://127.0.0.1:{server.port}")
        chunked = await client.request("GET", "/chunked")
        delimited = await client.request("GET", "/closed")
        await client.aclose()
    assert chunked.content == b"hello world"
    assert delimited.content == b"until the end"


async def test_a_reused_connection_closed_by_the_server_is_retried_once_for_a_get_only() -> None:
    """The server drops a kept-alive connection just as the next request arrives: a GET goes
    again on a new connection; a POST or a PUT is not sent twice (its outcome is the caller's to
    find)."""

    async def once_per_connection(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, srv: Server
    ) -> None:
        request = await srv.read(reader)
        if request is None:
            return
        writer.write(answer(b"first"))
        await writer.drain()
        await srv.read(reader)  # the next request on this connection: read, never answered

    async with scripted(once_per_connection) as server:
        client = Client(f"http://127.0.0.1:{server.port}")
        assert (await client.request("GET", "/a")).content == b"first"
        assert (await client.request("GET", "/b")).content == b"first"  # on a new connection
        assert server.connections == 2 and len(server.requests) == 3
        with pytest.raises(ExchangeFailed) as failed:
            await client.request("POST", "/demandes", json={})
        assert failed.value.cause == "reset"
        assert (await client.request("GET", "/c")).content == b"first"  # a fresh connection
        with pytest.raises(ExchangeFailed):
            await client.request("PUT", "/comptes/C1/mot-de-passe", json={})
        await client.aclose()
    methods = [r.line.split()[0] for r in server.requests]
    assert methods.count("POST") == 1 and methods.count("PUT") == 1


async def test_refused_malformed_cut_short_and_oversized_answers_fail_with_their_cause() -> None:
    async def bad(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, srv: Server) -> None:
        request = await srv.read(reader)
        assert request is not None
        if request.line.startswith("GET /garbage"):
            writer.write(b"this is not HTTP\r\n\r\n")
        elif request.line.startswith("GET /short"):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
        elif request.line.startswith("GET /chunked-big"):
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            writer.write(b"".join(b"100\r\n" + b"x" * 256 + b"\r\n" for _ in range(20)))
            writer.write(b"0\r\n\r\n")
        elif request.line.startswith("GET /many-headers"):
            many = "".join(f"X-H{i}: v\r\n" for i in range(40))
            writer.write(answer(b"{}", headers=many))
        elif request.line.startswith("GET /long-header"):
            writer.write(answer(b"{}", headers=f"X-Long: {'v' * 2000}\r\n"))
        else:
            writer.write(answer(b"x" * 5000))
        await writer.drain()

    async def cause(client: Client, path: str) -> str:
        with pytest.raises(ExchangeFailed) as failed:
            await client.request("GET", path)
        return failed.value.cause

    limits = Egress(max_body_bytes=1000, max_headers=32, max_header_field_bytes=1024)
    async with scripted(bad) as server:
        client = Client(f"http://127.0.0.1:{server.port}", egress=limits)
        assert await cause(client, "/garbage") == "malformed"
        assert await cause(client, "/short") in ("malformed", "reset")
        assert await cause(client, "/big") == "too_large"  # said by its Content-Length
        assert await cause(client, "/chunked-big") == "too_large"  # counted as it arrives
        assert await cause(client, "/many-headers") == "malformed"
        assert await cause(client, "/long-header") == "malformed"
        await client.aclose()
    async with scripted(keep_answering) as gone:
        port = gone.port
    nobody = Client(f"http://127.0.0.1:{port}")
    assert await cause(nobody, "/") == "refused"
    await nobody.aclose()
    unknown = Client("http://gateway-test.invalid")
    assert await cause(unknown, "/") == "dns"
    await unknown.aclose()


async def test_a_head_answer_with_a_content_length_ends_at_its_headers() -> None:
    """A HEAD is answered with the length the GET would have, and no body: the client must not
    wait for one (it would hang until the timeout)."""

    async def head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, srv: Server) -> None:
        while await srv.read(reader) is not None:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
            await writer.drain()

    async with scripted(head) as server:
        client = Client(f"http://127.0.0.1:{server.port}")
        async with asyncio.timeout(2):
            first = await client.request("HEAD", "/document")
            second = await client.request("HEAD", "/document")
        await client.aclose()
    assert (first.status_code, first.content, second.content) == (200, b"", b"")
    assert server.connections == 1  # and the connection stayed usable


async def test_a_cancelled_exchange_closes_its_connection() -> None:
    async def late(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, srv: Server) -> None:
        while (request := await srv.read(reader)) is not None:
            if request.line.startswith("GET /slow"):
                await asyncio.sleep(0.3)
            writer.write(answer(b"late" if "slow" in request.line else b"ok"))
            await writer.drain()

    async with scripted(late) as server:
        client = Client(f"http://127.0.0.1:{server.port}")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await client.request("GET", "/slow")
        assert (await client.request("GET", "/fast")).content == b"ok"  # not the late answer
        await client.aclose()
    assert server.connections == 2


async def test_multipart_bodies_are_what_a_form_parser_reads() -> None:
    async with scripted(keep_answering) as server:
        client = Client(f"http://127.0.0.1:{server.port}")
        pdf = b"%PDF-1.4 \r\n--not-a-boundary\r\n\x00\xff"
        await client.request(
            "POST",
            "/pieces-jointes",
            files={"fichier": ('arrêt "maladie"\r\n.pdf', pdf, "application/pdf")},
        )
        await client.aclose()
    request = server.requests[0]
    message = email.message_from_bytes(
        f"Content-Type: {request.header('content-type')}\r\n\r\n".encode() + request.body
    )
    (part,) = message.get_payload()  # type: ignore[misc]
    assert part.get_param("name", header="content-disposition") == "fichier"
    assert 'filename="arrêt %22maladie%22%0D%0A.pdf"'.encode() in request.body  # UTF-8, escaped
    assert part.get_content_type() == "application/pdf"
    assert part.get_payload(decode=True) == pdf


async def test_line_breaks_in_a_path_or_header_are_refused_before_anything_is_sent() -> None:
    async with scripted(keep_answering) as server:
        client = Client(f"http://127.0.0.1:{server.port}")
        for path, headers in (
            ("/a\r\nX-Injected: 1", {}),
            ("/a b", {}),
            ("/a", {"X-Trace": "x\r\nX-Injected: 1"}),
        ):
            with pytest.raises(ValueError):
                await client.request("GET", path, headers=headers)
        with pytest.raises(ValueError):
            await client.request(
                "POST", "/pj", files={"f": ("a.pdf", b"%PDF", "application/pdf\r\nX-I: 1")}
            )
        with pytest.raises(ValueError):
            Client("ftp://127.0.0.1/")
        await client.aclose()
    assert server.requests == []


@settings(max_examples=200, derandomize=True)
@given(
    st.dictionaries(
        st.text(min_size=1),
        st.one_of(st.text(), st.integers(), st.booleans(), st.none()),
        max_size=5,
    )
)
def test_a_query_string_reads_back_as_its_parameters(params: dict[str, Any]) -> None:
    """Plain values go as they are, anything else percent-encoded: either way a server reads back
    exactly what was meant (True → "true", None → "")."""
    text = {True: "true", False: "false", None: ""}
    wanted = [
        (k, text[v] if v is None or isinstance(v, bool) else str(v)) for k, v in params.items()
    ]
    assert parse_qsl(egress.query_string(params), keep_blank_values=True) == wanted


def test_a_systems_own_tls_files_override_the_shared_ones_file_by_file(tmp_path: Path) -> None:
    shared, crm_ca, crm_cert = tmp_path / "ca.pem", tmp_path / "crm-ca.pem", tmp_path / "crm.pem"
    settings = Settings(
        backend_ca_file=shared,
        backend_cert_file=tmp_path / "client.pem",
        crm_ca_file=crm_ca,
        crm_cert_file=crm_cert,
        backend_tls_min_version="1.3",
    )
    crm, claims, jwks = (Egress.from_settings(settings, s) for s in ("crm", "claims", None))
    assert (crm.ca_file, crm.cert_file, crm.key_file) == (crm_ca, crm_cert, None)
    assert (claims.ca_file, claims.cert_file) == (shared, tmp_path / "client.pem")
    assert jwks.ca_file == shared and crm.tls_min_version == "1.3"


def test_a_tls_file_that_cannot_be_read_stops_the_start_and_says_which(tmp_path: Path) -> None:
    not_pem = tmp_path / "client.pem"
    not_pem.write_text("not a certificate")
    for egress_ in (Egress(ca_file=tmp_path / "missing-ca.pem"), Egress(cert_file=not_pem)):
        with pytest.raises(EgressMisconfigured, match=r"missing-ca\.pem|client\.pem"):
            Client("https://crm.legacy.example", egress=egress_)
    Client("http://crm.legacy.example", egress=Egress(ca_file=tmp_path / "x"))  # no TLS: unread
