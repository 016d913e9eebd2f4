"""HTTP limits: what one connection or one request body may cost before any GraphQL runs.

    where            limit                                          answer
    ASGI middleware  body over GATEWAY_MAX_BODY_BYTES (1 MB)         413, nothing read past it
                     (multipart/form-data left to its handler, which has its own limit)
    ASGI middleware  JSON nested deeper than GATEWAY_MAX_JSON_DEPTH  400 (variables, extensions,
                     in a POST body or a GET's parameters)
                     or not JSON at all (the stdlib parser would recurse: a 500)
    ASGI middleware  every /graphql answer                          Cache-Control: no-store
    uvicorn          headers over GATEWAY_MAX_HEADER_BYTES (16 KiB)  431, connection closed
    uvicorn          headers not complete GATEWAY_HEADER_TIMEOUT_S   connection closed
                     after the connection opened or the request began (slow headers)
    uvicorn          idle keep-alive over GATEWAY_KEEP_ALIVE_S       connection closed

Refusals of the middleware are GraphQL-shaped (`{"errors": [{"message", "extensions":
{"code"}}]}`, codes `PAYLOAD_TOO_LARGE` and `BAD_USER_INPUT`) so that clients show one kind of
error. The uvicorn part is a protocol class (`guarded_protocol`) that `python -m gateway serve`
passes to uvicorn; uvicorn's httptools protocol has no header-size limit nor header timeout.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

NO_STORE = (b"cache-control", b"no-store")
PERSONAL_PATHS = ("/graphql",)


def depth_exceeds(value: Any, limit: int) -> bool:
    """True when `value` nests lists/objects deeper than `limit` (iterative: no recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return False


async def refuse(send: Send, status: int, code: str, message: str) -> None:
    body = orjson.dumps(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    )
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        NO_STORE,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class HttpLimits:
    """Pure ASGI: reads a request body up to its limit before the app sees it."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, max_json_depth: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith(PERSONAL_PATHS):
            send = no_store(send)
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if scope["method"] in ("GET", "HEAD"):
            problem = self.query_string_problem(scope.get("query_string", b""))
            if problem:
                await refuse(send, 400, "BAD_USER_INPUT", problem)
                return
            await self.app(scope, receive, send)
            return
        if content_type == b"multipart/form-data":
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await refuse(send, 413, "PAYLOAD_TOO_LARGE", self.too_large)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await refuse(send, 413, "PAYLOAD_TOO_LARGE", self.too_large)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = self.json_problem(body) if content_type == b"application/json" else None
        if problem:
            await refuse(send, 400, "BAD_USER_INPUT", problem)
            return
        await self.app(scope, replay(body, receive), send)

    @property
    def too_large(self) -> str:
        return f"La requête dépasse {self.max_body_bytes} octets."

    def query_string_problem(self, query_string: bytes) -> str | None:
        """GET's `variables` and `extensions` are JSON too (bounded by the header limit)."""
        if b"variables" not in query_string and b"extensions" not in query_string:
            return None
        params = parse_qs(query_string.decode("latin-1"))
        for name in ("variables", "extensions"):
            for value in params.get(name, []):
                problem = self.json_problem(value.encode("utf-8", "surrogateescape"))
                if problem:
                    return problem
        return None

    def json_problem(self, body: bytes) -> str | None:
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:  # includes nesting past orjson's own limit (1024)
            return "Le corps de la requête n'est pas un JSON valide."
        if depth_exceeds(document, self.max_json_depth):
            return f"Le JSON de la requête est imbriqué sur plus de {self.max_json_depth} niveaux."
        return None


def replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # the disconnect, when the client goes
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def no_store(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [h for h in message.get("headers", []) if h[0].lower() != b"cache-control"]
            message = {**message, "headers": [*headers, NO_STORE]}
        await send(message)

    return sending


class HeadersWithBody:
    """The transport as one uvicorn response cycle sees it: the status line and headers (its first
    write) wait for the first part of the body, so that an answer leaves in one system call
    instead of two. Closing, or the end of the answer (`flush`), sends whatever waits first."""

    __slots__ = ("held", "transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.held: bytes | None = b""  # b"": nothing written yet; None: the headers are out

    def write(self, data: bytes) -> None:
        if self.held is None:
            self.transport.write(data)
        elif not self.held:
            self.held = bytes(data)
        else:
            self.transport.write(self.held + data)
            self.held = None

    def flush(self) -> None:
        if self.held:
            self.transport.write(self.held)
        self.held = None

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


def guarded_protocol(max_header_bytes: int, header_timeout_s: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a header-size limit and a header timeout, writing each
    answer's headers with its body (`HeadersWithBody`)."""

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        header_timer: asyncio.TimerHandle | None = None
        header_bytes = 0
        refused = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.arm_header_timer()

        def arm_header_timer(self) -> None:
            self.disarm_header_timer()
            self.header_bytes = 0
            self.header_timer = self.loop.call_later(header_timeout_s, self.headers_too_slow)

        def disarm_header_timer(self) -> None:
            if self.header_timer is not None:
                self.header_timer.cancel()
                self.header_timer = None

        def headers_too_slow(self) -> None:
            if not self.transport.is_closing():
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self.disarm_header_timer()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            self.arm_header_timer()
            super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            self.count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self.count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def count(self, size: int) -> None:
            self.header_bytes += size
            if self.header_bytes > max_header_bytes and not self.refused:
                self.refused = True
                self.disarm_header_timer()
                if not self.transport.is_closing():
                    self.transport.write(
                        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                        b"content-length: 0\r\nconnection: close\r\n\r\n"
                    )
                    self.transport.close()
                raise ValueError("request headers too large")  # stops the parser

        def data_received(self, data: bytes) -> None:
            if not self.refused:
                super().data_received(data)

        def send_400_response(self, msg: str) -> None:
            if not self.refused:  # after a 431, the parser's error is ours: nothing more to say
                super().send_400_response(msg)

        def on_headers_complete(self) -> None:
            self.disarm_header_timer()
            super().on_headers_complete()
            cycle = self.cycle
            if cycle is None or isinstance(cycle.transport, HeadersWithBody):
                return  # an upgrade: no new cycle
            held = HeadersWithBody(cycle.transport)
            cycle.transport = held  # type: ignore[assignment]
            completed = cycle.on_response

            def on_response() -> None:  # a HEAD's or a 304's headers: no body follows
                held.flush()
                completed()

            cycle.on_response = on_response

    return GuardedHttpToolsProtocol


def __getattr__(name: str) -> Any:
    """`uvicorn --http gateway.edge.middleware.body_limits:SettingsProtocol`: the guarded protocol with the
    environment's limits, for deployments that run uvicorn themselves (`--workers N`)."""
    if name == "SettingsProtocol":
        from gateway.settings import Settings

        settings = Settings()
        return guarded_protocol(settings.max_header_bytes, settings.header_timeout_s)
    raise AttributeError(name)
