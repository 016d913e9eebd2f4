"""Cursors are signed when a client asks for them (`cursor`, `startCursor`, `endCursor`), not for
every edge of every page: a HomePage lists three pages and asks for none."""

from __future__ import annotations

from gateway.schema.common import connection
from gateway.schema.ids import cursor, position
from tests.support.gateway import Gateway, cursors_signed_with


def test_a_connection_signs_its_cursors_when_they_are_read() -> None:
    with cursors_signed_with("built-under-this-secret-" + "x" * 32):
        page = connection(["a", "b", "c"], 10, 4, str.upper)
    with cursors_signed_with("read-under-this-secret-" + "y" * 32):
        signed = [edge.cursor() for edge in page.edges]  # type: ignore[operator]
        assert signed == [cursor(4, 10), cursor(5, 10), cursor(6, 10)]
        assert page.page_info.start_cursor() == cursor(4, 10)
        assert page.page_info.end_cursor() == cursor(6, 10)
        assert position(page.page_info.end_cursor()) == (6, 10)
    empty = connection([], 0, 0, str.upper)
    assert empty.edges == [] and empty.page_info.start_cursor() is None
    assert empty.page_info.end_cursor() is None


async def test_cursors_asked_for_are_those_of_the_page(gateway: Gateway) -> None:
    query = """{ viewer { reglements(first: 2) { edges { cursor node { id } }
      pageInfo { startCursor endCursor hasNextPage } } } }"""
    with cursors_signed_with(gateway.settings.jwt_secret.get_secret_value()):
        body = await gateway.run(query, as_="C0001003")
        page = body["data"]["viewer"]["reglements"]
        cursors = [edge["cursor"] for edge in page["edges"]]
        total = position(cursors[0]).total
        assert cursors == [cursor(0, total), cursor(1, total)]
        assert page["pageInfo"]["startCursor"] == cursors[0]
        assert page["pageInfo"]["endCursor"] == cursors[1]
