"""Request bodies: what one body may cost before any GraphQL runs (pure ASGI middleware).

    limit                                          answer
    body over GATEWAY_MAX_BODY_BYTES (1 MB)         413, nothing read past it
    (multipart/form-data left to `uploads.py`, which has its own limit)
    JSON nested deeper than GATEWAY_MAX_JSON_DEPTH  400 (variables, extensions,
    in a POST body or a GET's parameters)
    or not JSON at all (the stdlib parser would recurse: a 500)
    every /graphql answer                          Cache-Control: no-store

Refusals are GraphQL-shaped (`edge/refusals.py`, codes `PAYLOAD_TOO_LARGE` and `BAD_USER_INPUT`)
so that clients show one kind of error. Header size and header timeouts are the server
protocol's (`edge/server_protocol.py`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.edge.refusals import NO_STORE, refuse

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
