"""A tiny ASGI app to stand behind the edge's middleware in tests, and a client for it."""

from __future__ import annotations

import asyncio

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send


class Held:
    """Answers 200 `{}`; with `hold`, its requests stay in flight until `release` is set (to
    fill admission's places)."""

    def __init__(self, hold: bool = True) -> None:
        self.release = asyncio.Event()
        if not hold:
            self.release.set()
        self.started = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.started += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def client(app: ASGIApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test")
