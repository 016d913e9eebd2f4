"""Operation names read from a document's text, without parsing it: for the metrics' safelist,
the trusted-documents manifest and the label of a request refused before it is parsed.

A name counts where a line opens with `query`, `mutation` or `subscription` followed by a name,
as every formatter (and every frontend document) writes operations: a comment or a string that
mentions "query Foo" mid-line is not an operation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

DECLARED = re.compile(
    r"^[ \t]*(?:query|mutation|subscription)[ \t\r\n]+([_A-Za-z][_0-9A-Za-z]*)", re.M
)


def declared(text: str | None) -> Iterator[str]:
    """The names of the operations `text` declares, in order."""
    for found in DECLARED.finditer(text or ""):
        yield found.group(1)


def first_declared(text: str | None) -> str | None:
    return next(declared(text), None)
