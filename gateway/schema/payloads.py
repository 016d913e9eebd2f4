"""One helper builds every mutation payload: the value, or the refusal's `userErrors`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from gateway.resolvers.problems import Refused
from gateway.schema.user_errors import UserError, user_errors

T = TypeVar("T")
P = TypeVar("P")


async def payload(build: Callable[[T | None, list[UserError]], P], work: Awaitable[T]) -> P:
    """`build(value, [])` on success, `build(None, userErrors)` when the input is refused."""
    try:
        value = await work
    except Refused as refused:
        return build(None, user_errors(refused.problems))
    return build(value, [])
