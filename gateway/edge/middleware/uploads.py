"""File uploads on `/graphql` (the GraphQL multipart request spec), guarded before strawberry
reads a byte of them.

* CSRF: a browser can send `multipart/form-data` cross-site without a preflight, so a multipart
  request must carry a header no simple request can (`Apollo-Require-Preflight` or
  `X-Requested-With`); otherwise `400`, once the body is read (up to the size limit, else the
  connection is closed): a client that forgot the header reads the answer, not a broken pipe.
* Size: a body larger than one 10 MiB file plus its form is refused `413` from its
  `Content-Length`, or as soon as the bytes received pass the limit (chunked bodies), before the
  whole body is read. The file's own limit (10 MiB exactly) is a userError of `uploadAttachment`.
* Before its form is read (the view, `graphql_view.py`): the request spends its rate limits, and
  a caller without a session is refused (no anonymous field takes a file), so that no anonymous
  request makes the gateway read a form or parse a document.
* Its form (`check_form`): `operations` and `map` JSON objects within the JSON depth limit, text
  parts of 1 MiB at most (413 `PAYLOAD_TOO_LARGE` beyond), one file, every path of `map`
  naming a null of the variables; a part out of the spec is a 400 `BAD_REQUEST` with a short
  message, counted by the rate limits like any request.
* Only `uploadAttachment` runs from a multipart request (`only_uploads`): multipart is enabled
  for that mutation alone, decided on the root fields of the operation that would run (through
  its fragments, never on names). Its document is parsed within the operation limits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from graphql import DocumentNode
from starlette.datastructures import FormData, UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.edge.middleware.body_limits import depth_exceeds
from gateway.edge.refusals import drain, refuse
from gateway.engine.extensions.anonymous_gate import root_fields
from gateway.engine.operation_limits import Limits, parse_within, plain_parse

MAX_FILE = 10 * 1024 * 1024
MAX_BODY = MAX_FILE + 64 * 1024  # the file, the `operations` and `map` parts, boundaries
PREFLIGHT_HEADERS = (b"apollo-require-preflight", b"x-requested-with")
TOO_LARGE = "Le fichier dépasse 10 Mo."
UPLOAD_FIELD = "uploadAttachment"
UPLOAD_FIELDS = frozenset({UPLOAD_FIELD, "__typename"})
# the form of one upload: `operations`, `map` and one file; each text part at most this
FORM_LIMITS = {"max_files": 1, "max_fields": 2, "max_part_size": 1024 * 1024}
PART_TOO_LARGE = "Une partie texte de l'envoi dépasse 1 Mio."


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
    operation_name: str | None,
    limits: Limits,
    read: Callable[[str, Limits], DocumentNode] = plain_parse,
) -> bool:
    """True when the operation that would run asks for `uploadAttachment` (and `__typename` at
    most), its root fields collected through fragments: a fragment's name says nothing.

    The document is parsed within the operation limits, as any other document is: past one (its
    length, its tokens) or unreadable, it raises its typed `GraphQLError` (`QUERY_TOO_LARGE`,
    `GRAPHQL_PARSE_FAILED`), and an overlong text is not handed to the parser at all."""
    if not query:
        return False
    names = root_fields(parse_within(query, limits, read), operation_name)
    return names is not None and UPLOAD_FIELD in names and names <= UPLOAD_FIELDS


class MalformedUpload(Exception):
    """A multipart request that does not follow the GraphQL multipart request spec (400)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def json_part(form: FormData, name: str, max_depth: int) -> Any:
    """The part `name`, JSON within `max_depth` levels (checked before anything walks it)."""
    raw = form.get(name)
    if not isinstance(raw, str):
        raise MalformedUpload(f"La partie « {name} » manque ou n'est pas un champ texte.")
    try:
        value = orjson.loads(raw)  # iterative, stops at 1024 levels itself
    except orjson.JSONDecodeError:
        raise MalformedUpload(f"La partie « {name} » n'est pas un JSON valide.") from None
    if depth_exceeds(value, max_depth):
        raise MalformedUpload(
            f"La partie « {name} » est imbriquée sur plus de {max_depth} niveaux."
        )
    if not isinstance(value, dict):
        raise MalformedUpload(f"La partie « {name} » doit être un objet JSON.")
    return value


def placeholder(operations: dict[str, Any], path: str) -> bool:
    """True when `path` (`variables.file`, `variables.files.0`) names a null of the variables."""
    keys = path.split(".")
    if len(keys) < 2 or keys[0] != "variables":
        return False
    target: Any = operations
    for key in keys[:-1]:
        target = step(target, key)
    return step(target, keys[-1], missing=MISSING) is None


MISSING = object()


def step(target: Any, key: str, missing: Any = None) -> Any:
    if isinstance(target, dict):
        return target.get(key, missing)
    if isinstance(target, list) and key.isdigit() and int(key) < len(target):
        return target[int(key)]
    return missing


def check_form(form: FormData, max_depth: int) -> None:
    """The parts of a GraphQL multipart request, as its spec says: `operations` one operation (an
    object), `map` an object of file part -> list of `variables.…` paths, each path naming a null
    of the variables and each file part present; `MalformedUpload` otherwise."""
    operations = json_part(form, "operations", max_depth)
    files_map = json_part(form, "map", max_depth)
    if not isinstance(operations.get("query"), str | None):
        raise MalformedUpload("Le document de « operations » doit être un texte.")
    if not isinstance(operations.get("variables"), dict | None):
        raise MalformedUpload("Les variables de « operations » doivent être un objet.")
    for part, paths in files_map.items():
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths) or not paths:
            raise MalformedUpload(
                "La partie « map » associe chaque fichier à une liste de chemins."
            )
        if not isinstance(form.get(part), UploadFile):
            raise MalformedUpload(f"Le fichier « {part[:40]} » annoncé par « map » manque.")
        for path in paths:
            if not placeholder(operations, path):
                raise MalformedUpload(
                    f"Le chemin « {path[:80]} » de « map » ne désigne aucune variable nulle."
                )
