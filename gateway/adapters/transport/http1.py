"""A small HTTP/1.1 client for the legacy systems: keep-alive connections over asyncio protocols,
answers parsed by httptools (llhttp, the parser of Node.js, which uvicorn already brings).

Why not aiohttp: per exchange, aiohttp's request machinery costs 75–115 µs of CPU and this client
30–35 µs (`python -m bench.transport`); an uncached HomePage makes six exchanges. The adapters need
little: a method, a path and its query, a few headers, a body (bytes, or multipart for the CRM's
attachments), the whole answer. Left out on purpose: redirects, cookies, compression, proxies,
HTTP/2 and streaming. Time limits are the caller's: `attempt_timeout` cancels an exchange, and a
cancelled exchange closes its connection (its state is unknown).

Like aiohttp, an idempotent request that finds its reused keep-alive connection closed by the
server before any byte of an answer is sent once more on a new connection; nothing else is retried
here (retries are the `Guard`'s).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import ssl
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, urlsplit

import httptools
import orjson

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BODY_BYTES = 64 * 1024 * 1024  # an answer larger than this is refused (a document is ~100 KB)
UNSAFE = frozenset("\r\n\0")
PLAIN = re.compile(r"[A-Za-z0-9_.~-]*\Z")  # unreserved characters only: nothing to encode


class ConnectionFailed(Exception):
    """No usable answer: refused, reset, closed early, malformed or too large."""


class Headers(Mapping[str, str]):
    """An answer's headers, looked up by name in any case (the last value of a repeated name);
    decoded on first use (most answers are read for their status and body only)."""

    __slots__ = ("_pairs", "_values")

    def __init__(self, pairs: list[tuple[bytes, bytes]]) -> None:
        self._pairs = pairs
        self._values: dict[str, str] | None = None

    @property
    def values_by_name(self) -> dict[str, str]:
        if self._values is None:
            self._values = {
                name.decode("latin-1").lower(): value.decode("latin-1")
                for name, value in self._pairs
            }
        return self._values

    def __getitem__(self, name: str) -> str:
        return self.values_by_name[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.values_by_name

    def __iter__(self) -> Iterator[str]:
        return iter(self.values_by_name)

    def __len__(self) -> int:
        return len(self.values_by_name)


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer read whole."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        return orjson.loads(self.content)


class _Connection(asyncio.Protocol):
    """One connection, one exchange at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[Reply, bool]] | None = None
        self.answered = False  # a byte of the current answer arrived
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0
        self.delimited = False  # Content-Length or chunked: the end is known without EOF
        self.headers_done = False
        self.idle_since = 0.0

    @property
    def usable(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    async def exchange(self, request: bytes) -> tuple[Reply, bool]:
        """Send `request`; the answer and whether the connection may be reused."""
        assert self.transport is not None and self.waiter is None
        self.waiter = asyncio.get_running_loop().create_future()
        self.answered = False
        self.transport.write(request)
        try:
            return await self.waiter
        finally:
            self.waiter = None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    # ---- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:  # nothing asked: a server talking out of turn
            self.close()
            return
        self.answered = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(f"unreadable answer ({error})")

    def eof_received(self) -> bool | None:
        return None  # close the transport: connection_lost ends a pending exchange

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.waiter is None or self.waiter.done():
            return
        if (
            self.headers_done and not self.delimited
        ):  # an answer delimited by the end of the connection
            self._finish(keep_alive=False)
        else:
            self._fail("connection closed before the end of the answer")

    # ---- httptools callbacks

    def on_message_begin(self) -> None:
        self.headers, self.body, self.size = [], [], 0
        self.delimited = self.headers_done = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))
        lowered = name.lower()
        if lowered == b"content-length" or (
            lowered == b"transfer-encoding" and b"chunked" in value.lower()
        ):
            self.delimited = True

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > MAX_BODY_BYTES:
            self._fail("answer too large")
            return
        self.body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self.parser.get_status_code() < 200:  # interim answer: the real one follows
            return
        self._finish(keep_alive=self.parser.should_keep_alive())

    # ----

    def _finish(self, keep_alive: bool) -> None:
        if self.waiter is not None and not self.waiter.done():
            reply = Reply(self.parser.get_status_code(), Headers(self.headers), b"".join(self.body))
            self.waiter.set_result((reply, keep_alive))

    def _fail(self, reason: str) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionFailed(reason))
        self.close()


def _checked(text: str, what: str) -> str:
    if not UNSAFE.isdisjoint(text):
        raise ValueError(f"{what} contains a line break or NUL")
    return text


def _quoted(text: str) -> str:
    """A multipart `name`/`filename` value, escaped as browsers do (WHATWG)."""
    return text.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


def multipart(files: Mapping[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A `multipart/form-data` body of `field -> (file name, bytes, media type)` and its type."""
    boundary = secrets.token_hex(16)
    parts = []
    for field, (file_name, data, media_type) in files.items():
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{_quoted(field)}"; '
            f'filename="{_quoted(file_name)}"\r\n'
            f"Content-Type: {_checked(media_type, 'a media type')}\r\n\r\n"
        )
        parts += [head.encode(), data, b"\r\n"]
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def query_string(params: Mapping[str, Any]) -> str:
    """`a=1&b=x%40y` (True → "true", None → ""), as the adapters' legacy systems read it."""
    return "&".join(f"{_encoded(key)}={_encoded(_text(value))}" for key, value in params.items())


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def _encoded(text: str) -> str:
    """Percent-encoded (RFC 3986); ids, dates and numbers need none and are passed as they are."""
    return text if PLAIN.match(text) else quote(text, safe="")


class Client:
    """Exchanges with one system (`base_url`: scheme, host, port and an optional path prefix),
    with `headers` on every request. At most `max_connections` exchanges at once; idle
    connections are kept `keepalive_s` seconds."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        *,
        max_connections: int = 256,
        keepalive_s: float = 15.0,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) base URL: {base_url!r}")
        self.host = parts.hostname
        self.tls = parts.scheme == "https"
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/")
        default_port = self.port == (443 if self.tls else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal
        host = host if default_port else f"{host}:{self.port}"
        fixed = {"Host": host, **(headers or {})}
        self.fixed = "".join(
            f"{_checked(k, 'a header')}: {_checked(v, 'a header')}\r\n" for k, v in fixed.items()
        )
        self.keepalive_s = keepalive_s
        self.slots = asyncio.Semaphore(max_connections)
        self.idle: deque[_Connection] = deque()
        self.ssl = ssl.create_default_context() if self.tls else None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> Reply:
        extra = dict(headers or {})
        body = content or b""
        if json is not None:
            body = orjson.dumps(json)
            extra.setdefault("Content-Type", "application/json")
        if files:
            body, extra["Content-Type"] = multipart(files)
        target = _checked(self.prefix + path, "a path")
        if " " in target:
            raise ValueError("a path contains a space")
        if params:
            target += "?" + query_string(params)
        lines = [f"{method} {target} HTTP/1.1\r\n", self.fixed]
        lines += [
            f"{_checked(k, 'a header')}: {_checked(v, 'a header')}\r\n" for k, v in extra.items()
        ]
        if body or method not in IDEMPOTENT:
            lines.append(f"Content-Length: {len(body)}\r\n")
        request = "".join(lines).encode("latin-1") + b"\r\n" + body
        async with self.slots:
            connection, reused = await self._checkout()
            while True:
                try:
                    reply, keep_alive = await connection.exchange(request)
                    break
                except BaseException as error:  # failed or cancelled: its state is unknown
                    connection.close()
                    stale = reused and not connection.answered and method in IDEMPOTENT
                    if not (stale and isinstance(error, ConnectionFailed)):
                        raise
                # closed by the server while idle: once more, on a new connection
                connection, reused = await self._connect()
            if keep_alive and connection.usable:
                connection.idle_since = time.monotonic()
                self.idle.append(connection)
            else:
                connection.close()
        return reply

    async def _checkout(self) -> tuple[_Connection, bool]:
        """The most recently used idle connection still open, else a new one."""
        horizon = time.monotonic() - self.keepalive_s
        while self.idle and (not self.idle[0].usable or self.idle[0].idle_since < horizon):
            self.idle.popleft().close()  # the oldest: expired, or closed by the server
        while self.idle:
            connection = self.idle.pop()
            if connection.usable:
                return connection, True
        return await self._connect()

    async def _connect(self) -> tuple[_Connection, bool]:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                _Connection,
                self.host,
                self.port,
                ssl=self.ssl,
                server_hostname=self.host if self.tls else None,
            )
        except OSError as error:  # refused, unreachable, TLS failure (ssl.SSLError is an OSError)
            raise ConnectionFailed(type(error).__name__) from None
        return connection, False

    async def aclose(self) -> None:
        while self.idle:
            self.idle.pop().close()
