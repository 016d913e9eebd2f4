"""How the edge turns a request down before any GraphQL runs: one GraphQL-shaped answer.

Every refusal of the HTTP edge (body limits, uploads, admission) is written by `refuse`, so that a
client shows one kind of error whatever turned it down:

    {"data": null, "errors": [{"message": "…", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}

A refusal that does not depend on the body's size (a missing CSRF header) first reads the body
(`drain`, bounded): a client still writing its body when the answer comes and the connection
closes sees a broken pipe instead of the answer (Node's fetch: "fetch failed", EPIPE).
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from starlette.types import Receive, Send

NO_STORE = (b"cache-control", b"no-store")


def refusal_body(code: str, message: str) -> bytes:
    return orjson.dumps(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    )


async def drain(receive: Receive, limit: int) -> bool:
    """Read the request body and drop it, `limit` bytes at most. True when it was read to its end
    (the answer can be sent and the connection kept); False past `limit` or when the client left."""
    received = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return False
        received += len(message.get("body", b""))
        if received > limit:
            return False
        if not message.get("more_body", False):
            return True


async def refuse(
    send: Send,
    status: int,
    code: str,
    message: str,
    *,
    headers: Iterable[tuple[bytes, bytes]] = (),
    close: bool = True,
) -> None:
    """Answer `status` with a GraphQL-shaped error `code`; `close`: the connection goes with it
    (what was not read of the request body is not read)."""
    body = refusal_body(code, message)
    sent = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        NO_STORE,
        *headers,
    ]
    if close:
        sent.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": sent})
    await send({"type": "http.response.body", "body": body})
