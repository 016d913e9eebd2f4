"""The HTTP server's protocol: what one connection may cost before a request reaches the app.

    limit                                           answer
    headers over GATEWAY_MAX_HEADER_BYTES (16 KiB)   431, connection closed
    headers not complete GATEWAY_HEADER_TIMEOUT_S    connection closed
    after the connection opened or the request began (slow headers)
    idle keep-alive over GATEWAY_KEEP_ALIVE_S        connection closed (uvicorn's own setting)

uvicorn's httptools protocol has neither a header-size limit nor a header timeout: this subclass
adds them. `python -m gateway serve` passes it to uvicorn; deployments that run uvicorn
themselves pass `--http gateway.edge.server_protocol:SettingsProtocol`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.engine.fastpath.one_write import hold_headers


def guarded_protocol(
    max_header_bytes: int, header_timeout_s: float, one_write: bool = True
) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a header-size limit and a header timeout; with
    `one_write` (a fast path), each answer's headers leave with its body (`fastpath/one_write.py`)."""

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        header_timer: asyncio.TimerHandle | None = None
        header_bytes = 0
        refused = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.arm_header_timer()

        def arm_header_timer(self) -> None:
            self.disarm_header_timer()
            self.header_bytes = 0
            self.header_timer = self.loop.call_later(header_timeout_s, self.headers_too_slow)

        def disarm_header_timer(self) -> None:
            if self.header_timer is not None:
                self.header_timer.cancel()
                self.header_timer = None

        def headers_too_slow(self) -> None:
            if not self.transport.is_closing():
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self.disarm_header_timer()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            self.arm_header_timer()
            super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            self.count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self.count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def count(self, size: int) -> None:
            self.header_bytes += size
            if self.header_bytes > max_header_bytes and not self.refused:
                self.refused = True
                self.disarm_header_timer()
                if not self.transport.is_closing():
                    self.transport.write(
                        b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                        b"content-length: 0\r\nconnection: close\r\n\r\n"
                    )
                    self.transport.close()
                raise ValueError("request headers too large")  # stops the parser

        def data_received(self, data: bytes) -> None:
            if not self.refused:
                super().data_received(data)

        def send_400_response(self, msg: str) -> None:
            if not self.refused:  # after a 431, the parser's error is ours: nothing more to say
                super().send_400_response(msg)

        def on_headers_complete(self) -> None:
            self.disarm_header_timer()
            super().on_headers_complete()
            if one_write:
                hold_headers(self.cycle)

    return GuardedHttpToolsProtocol


def __getattr__(name: str) -> Any:
    """`uvicorn --http gateway.edge.server_protocol:SettingsProtocol`: the guarded protocol with the
    environment's limits, for deployments that run uvicorn themselves (`--workers N`)."""
    if name == "SettingsProtocol":
        from gateway.settings import Settings

        settings = Settings()
        return guarded_protocol(
            settings.max_header_bytes, settings.header_timeout_s, one_write=settings.fast_paths
        )
    raise AttributeError(name)
