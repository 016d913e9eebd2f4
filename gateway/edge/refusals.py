"""How the edge turns a request down before any GraphQL runs: one GraphQL-shaped answer.

Every refusal of the HTTP edge (body limits, uploads, admission) is written by `refuse`, so that a
client shows one kind of error whatever turned it down:

    {"data": null, "errors": [{"message": "…", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from starlette.types import Send

NO_STORE = (b"cache-control", b"no-store")


def refusal_body(code: str, message: str) -> bytes:
    return orjson.dumps(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    )


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
