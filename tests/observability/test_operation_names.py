"""The operation-name reader the metrics' safelist, the trusted-documents manifest and the view's
refusal label share: the names a parser would find, read from the text alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse

from gateway.observability.operation_names import declared, first_declared

OPERATIONS = Path(__file__).resolve().parents[2] / "contracts" / "operations"
DOCUMENTS = sorted(OPERATIONS.rglob("*.graphql"))


def parsed_names(text: str) -> list[str]:
    return [
        definition.name.value
        for definition in parse(text).definitions
        if isinstance(definition, OperationDefinitionNode) and definition.name is not None
    ]


def test_a_document_opening_with_a_fragment_names_every_operation() -> None:
    text = """fragment Money on Money { amount formatted }

query HomePage { viewer { id } }
  mutation   UpdateProfile($input: ProfileInput!) { updateProfile(input: $input) { ok } }
subscription
  Ticks { ticks }
"""
    assert list(declared(text)) == ["HomePage", "UpdateProfile", "Ticks"] == parsed_names(text)
    assert first_declared(text) == "HomePage"


def test_query_foo_in_a_comment_or_a_string_is_not_an_operation() -> None:
    """A client cannot put a name of its choosing on the metrics or the manifest by writing it
    after a `#` or inside an argument."""
    text = """# not query Forged, only a comment
query Real { search(text: "query Injected { x }") { id } }  # mutation Other
"""
    assert list(declared(text)) == ["Real"] == parsed_names(text)
    assert first_declared('{ search(text: "query Injected") { id } }') is None


def test_an_anonymous_or_empty_document_has_no_name() -> None:
    assert first_declared("{ viewer { id } }") is None
    assert first_declared("") is None
    assert first_declared(None) is None


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(OPERATIONS)))
def test_every_frontend_document_is_named_as_graphql_core_parses_it(path: Path) -> None:
    text = path.read_text("utf-8")
    assert list(declared(text)) == parsed_names(text)


def test_the_frontend_documents_are_there_to_be_read() -> None:
    assert len(DOCUMENTS) >= 30  # the test above checks each one
