"""Opaque global ids (base64 of `Type:key`) and signed pagination cursors.

A malformed id is reported as not found (the adapters check each legacy identifier's format
before any call: `adapters/identifiers.py`). A cursor is `offset.total` and an HMAC: the gateway
only accepts positions it issued, inside the list they were issued for, so `after` can never ask a
back-end for a page far past the end of a list.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from contextvars import ContextVar
from functools import lru_cache
from typing import NamedTuple

import strawberry

from gateway.errors import BadInput, NotFound

MAX_KEY = 100  # the longest legacy key (`RMB…@A…`, `DOC…@EDQ-…`) is far shorter


def to_global(kind: str, key: str) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode().rstrip("="))


def from_global(value: str, expected: str | None = None) -> tuple[str, str]:
    try:
        padded = value + "=" * (-len(value) % 4)
        kind, sep, key = base64.urlsafe_b64decode(padded.encode()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise NotFound(expected or "Cet élément") from None
    if (
        not sep
        or not key
        or len(key) > MAX_KEY
        or not key.isprintable()  # control characters: nothing legacy has them
        or (expected is not None and kind != expected)
    ):
        raise NotFound(expected or "Cet élément")
    return kind, key


def contract_number(contract_id: str | None) -> str | None:
    """The number behind a mutation input's contract id; "" when it is not one (the resolver
    reports it as unknown, at the input's field)."""
    if contract_id is None:
        return None
    try:
        return from_global(contract_id, "Contract")[1]
    except NotFound:
        return ""


class Position(NamedTuple):
    """Where a signed cursor points: the item's offset and the list's total when it was issued."""

    offset: int
    total: int


# HMAC key of pagination cursors, set by the request scope from `Services.cursor_key` (derived
# from the gateway secret: every gateway process has the same). There is no fallback: a cursor
# signed outside a request would be one no other process accepts.
cursor_key: ContextVar[bytes] = ContextVar("gateway_cursor_key")
SIGNATURE_BYTES = 12


@lru_cache(maxsize=4)  # set on every request: derived once per secret
def derive_cursor_key(secret: str) -> bytes:
    """A key for cursors only, derived from the gateway secret (as download links do)."""
    return hmac.new(secret.encode(), b"pagination-cursors", hashlib.sha256).digest()


def _sign(payload: bytes) -> bytes:
    try:
        key = cursor_key.get()
    except LookupError:
        raise RuntimeError("pagination cursors are signed within a request scope only") from None
    return hmac.new(key, payload, hashlib.sha256).digest()[:SIGNATURE_BYTES]


def cursor(offset: int, total: int) -> str:
    """The opaque, signed cursor of the item at `offset` of a list of `total` items."""
    payload = f"{offset}.{total}".encode()
    return base64.urlsafe_b64encode(payload + b"." + _sign(payload)).decode().rstrip("=")


def position(after: str) -> Position:
    """The position a cursor the gateway issued points at; a forged or altered one is refused
    (`BadInput`) before anything is asked of a back-end."""
    try:
        raw = base64.urlsafe_b64decode((after + "=" * (-len(after) % 4)).encode())
        payload, signature = raw[: -SIGNATURE_BYTES - 1], raw[-SIGNATURE_BYTES:]
        if len(raw) <= SIGNATURE_BYTES + 1 or raw[-SIGNATURE_BYTES - 1 : -SIGNATURE_BYTES] != b".":
            raise ValueError("not a cursor")
        if not hmac.compare_digest(_sign(payload), signature):
            raise ValueError("not signed by the gateway")
        offset, total = (int(part) for part in payload.decode("ascii").split("."))
        if not 0 <= offset < total:
            raise ValueError("outside its list")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadInput("Curseur de pagination invalide.", "after") from None
    return Position(offset, total)


def offset_after(after: str | None) -> int:
    return 0 if after is None else position(after).offset + 1
