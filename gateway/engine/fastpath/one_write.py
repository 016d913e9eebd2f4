"""One write per answer: uvicorn's response cycle writes the status line and headers, then the
body, in two system calls; `HeadersWithBody` holds the first until the second comes. An event
stream's headers are not held: its first event may be minutes away (a subscription to changes
that do not come), and its headers are how the client learns that it is subscribed.

Relies on uvicorn's `RequestResponseCycle.transport` and `on_response` (not public API): checked
by `tests/engine/fastpath/test_upstream_names.py`; off with `GATEWAY_FAST_PATHS=false`.
"""

from __future__ import annotations

import asyncio
from typing import Any

EVENT_STREAM = b"\r\ncontent-type: text/event-stream"


class HeadersWithBody:
    """The transport as one uvicorn response cycle sees it: the status line and headers (its first
    write) wait for the first part of the body, so that an answer leaves in one system call
    instead of two. Closing, or the end of the answer (`flush`), sends whatever waits first."""

    __slots__ = ("held", "transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.held: bytes | None = b""  # b"": nothing written yet; None: the headers are out

    def write(self, data: bytes) -> None:
        if self.held is None:
            self.transport.write(data)
        elif not self.held:
            if EVENT_STREAM in bytes(data).lower():  # a subscription's stream: say it is open now
                self.transport.write(data)
                self.held = None
            else:
                self.held = bytes(data)
        else:
            self.transport.write(self.held + data)
            self.held = None

    def flush(self) -> None:
        if self.held:
            self.transport.write(self.held)
        self.held = None

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


def hold_headers(cycle: Any) -> None:
    """Make one uvicorn response cycle write its headers with the first part of its body."""
    if cycle is None or isinstance(cycle.transport, HeadersWithBody):
        return  # an upgrade: no new cycle
    held = HeadersWithBody(cycle.transport)
    cycle.transport = held
    completed = cycle.on_response

    def on_response() -> None:  # a HEAD's or a 304's headers: no body follows
        held.flush()
        completed()

    cycle.on_response = on_response
