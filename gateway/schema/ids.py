"""Opaque global ids: base64 of `Type:key`. A malformed id is reported as not found."""

from __future__ import annotations

import base64
import binascii

import strawberry

from ..errors import NotFound


def to_global(kind: str, key: str) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode().rstrip("="))


def from_global(value: str, expected: str | None = None) -> tuple[str, str]:
    try:
        padded = value + "=" * (-len(value) % 4)
        kind, sep, key = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise NotFound(expected or "Cet élément") from None
    if not sep or not key or (expected is not None and kind != expected):
        raise NotFound(expected or "Cet élément")
    return kind, key


def cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def offset_after(after: str | None) -> int:
    if after is None:
        return 0
    try:
        kind, _, number = base64.urlsafe_b64decode(after.encode()).decode().partition(":")
        if kind == "offset" and number.isdigit():
            return int(number) + 1
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    from ..errors import BadInput

    raise BadInput("Curseur de pagination invalide.", "after")
