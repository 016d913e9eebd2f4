"""Parsed documents, cached by their text and limits: the same `DocumentNode` object for the same
document, so that the validation cache (`validation_cache.py`) finds it by identity."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from graphql import DocumentNode, parse

if TYPE_CHECKING:
    from gateway.engine.operation_limits import Limits


@lru_cache(maxsize=128)
def cached_parse(query: str, limits: Limits) -> DocumentNode:
    return parse(
        query,
        max_lexical_tokens=limits.max_tokens,
        max_comments=limits.max_comments,
        max_source_length=limits.max_query_length,
    )
