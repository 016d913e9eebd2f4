"""File uploads on `/graphql` (the GraphQL multipart request spec), guarded before strawberry
reads a byte of them.

* CSRF: a browser can send `multipart/form-data` cross-site without a preflight, so a multipart
  request must carry a header no simple request can (`Apollo-Require-Preflight` or
  `X-Requested-With`); otherwise `400`, once the body is read (up to the size limit, else the
  connection is closed): a client that forgot the header reads the answer, not a broken pipe.
* Size: a body larger than one 10 MiB file plus its form is refused `413` from its
  `Content-Length`, or as soon as the bytes received pass the limit (chunked bodies), before the
  whole body is read. The file's own limit (10 MiB exactly) is a userError of `uploadAttachment`.
* Only `uploadAttachment` runs from a multipart request (`only_uploads`): multipart is enabled
  for that mutation alone. Its document is held to the operation limits before it is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import DocumentNode, OperationDefinitionNode
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.edge.refusals import drain, refuse
from gateway.engine.operation_limits import Limits, parse_within, plain_parse

MAX_FILE = 10 * 1024 * 1024
MAX_BODY = MAX_FILE + 64 * 1024  # the file, the `operations` and `map` parts, boundaries
PREFLIGHT_HEADERS = (b"apollo-require-preflight", b"x-requested-with")
TOO_LARGE = "Le fichier dépasse 10 Mo."
UPLOAD_FIELDS = frozenset({"uploadAttachment", "__typename"})


class TooLarge(Exception):
    pass


def is_multipart(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return bool(value.split(b";")[0].strip().lower() == b"multipart/form-data")
    return False


class UploadGuard:
    """Pure-ASGI middleware in front of the GraphQL app."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not is_multipart(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        too_large = length is not None and (not length.isdigit() or int(length) > self.max_body)
        if not any(headers.get(name) for name in PREFLIGHT_HEADERS):
            read = not too_large and await drain(receive, self.max_body)
            await refuse(
                send,
                400,
                "CSRF_PREFLIGHT_REQUIRED",
                "Un envoi de fichier doit porter l'en-tête Apollo-Require-Preflight ou X-Requested-With.",
                close=not read,
            )
            return
        if too_large:
            await refuse(send, 413, "PAYLOAD_TOO_LARGE", TOO_LARGE)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise TooLarge()
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except TooLarge:
            if not started:
                await refuse(send, 413, "PAYLOAD_TOO_LARGE", TOO_LARGE)


def only_uploads(
    query: str | None,
    limits: Limits,
    read: Callable[[str, Limits], DocumentNode] = plain_parse,
) -> bool:
    """True when every root field of the document is `uploadAttachment` (or `__typename`).

    The document is parsed within the operation limits, as any other document is: past one (its
    length, its tokens) or unreadable, it raises its typed `GraphQLError` (`QUERY_TOO_LARGE`,
    `GRAPHQL_PARSE_FAILED`), and an overlong text is not handed to the parser at all."""
    if not query:
        return False
    document = parse_within(query, limits, read)
    fields: list[Any] = [
        selection
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        for selection in definition.selection_set.selections
    ]
    return bool(fields) and all(
        getattr(getattr(f, "name", None), "value", None) in UPLOAD_FIELDS for f in fields
    )
