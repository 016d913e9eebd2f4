"""What a write use case refuses: `Refused(problems)`, each problem a field the customer can fix.

A resolver returns a value or raises `Refused`; the schema turns the problems into the payload's
`userErrors { field code message }` (`field` is the camelCase input path: `beneficiaries.2.share`).
Anything the customer cannot fix (a back-end down, a timeout) is a `GatewayError` instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing to fix: `field` is the camelCase input path (None: the whole input), `code` a
    `UserErrorCode` name (REQUIRED, INVALID, MISMATCH, REFUSED, UNKNOWN…)."""

    field: str | None
    code: str
    message: str


class Refused(Exception):
    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(", ".join(f"{p.field}:{p.code}" for p in self.problems))


def refuse_if_any(problems: list[Problem]) -> None:
    if problems:
        raise Refused(problems)
