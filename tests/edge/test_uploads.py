"""A multipart upload's document is held to the operation limits like any other: the `operations`
part cannot carry a document the JSON endpoint would refuse, nor make the gateway parse it."""

from __future__ import annotations

import time

from gateway.engine.operation_limits import Limits
from tests.support.demarches import UPLOAD, posts, upload
from tests.support.gateway import Gateway, codes

UPLOAD_FIELD = "uploadAttachment(file: $file) { attachment { id } }"


async def test_an_upload_document_over_the_length_limit_is_refused_unparsed(
    gateway: Gateway,
) -> None:
    """The length is refused before the parser sees the text."""
    fields = " __typename" * 10_000
    query = "mutation($file: Upload!) { " + UPLOAD_FIELD + fields + " }"
    assert len(query) > Limits().max_query_length

    started = time.perf_counter()
    body = await upload(gateway, query=query)

    assert time.perf_counter() - started < 1
    assert codes(body) == ["QUERY_TOO_LARGE"] and body["data"] is None
    assert posts(gateway, route="/pieces-jointes") == 0


async def test_an_upload_document_over_the_token_limit_is_refused_with_the_limits_error(
    gateway: Gateway,
) -> None:
    query = "mutation($file: Upload!) { " + UPLOAD_FIELD + " __typename" * 2_000 + " }"
    assert len(query) < Limits().max_query_length

    body = await upload(gateway, query=query)

    assert codes(body) == ["QUERY_TOO_LARGE"] and body["data"] is None
    assert "tokens" in body["errors"][0]["message"]
    assert posts(gateway, route="/pieces-jointes") == 0


async def test_an_unreadable_upload_document_is_a_parse_error(gateway: Gateway) -> None:
    body = await upload(gateway, query="mutation($file: Upload!) { uploadAttachment(")
    assert codes(body) == ["GRAPHQL_PARSE_FAILED"]
    assert posts(gateway, route="/pieces-jointes") == 0


async def test_an_upload_within_the_limits_is_served(gateway: Gateway) -> None:
    body = await upload(gateway, query=UPLOAD)
    assert body["data"]["uploadAttachment"]["attachment"]["id"]
    assert posts(gateway, route="/pieces-jointes") == 1
