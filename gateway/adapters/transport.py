"""HTTP transport to one legacy system: a pooled httpx client over the network or in process.

The same adapter code runs against a real server (`POLICY_ADMIN_URL=http://…`) or an in-process
mock (`httpx.ASGITransport`): only the transport differs. Every failure below HTTP becomes a
`BackendError` naming the system; nothing of the URL or credentials reaches a client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from ..errors import BackendTimeout, BackendUnavailable

LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class Transport:
    def __init__(self, backend: str, client: httpx.AsyncClient, attempt_timeout: float) -> None:
        self.backend = backend
        self.client = client
        self.attempt_timeout = attempt_timeout

    @classmethod
    def build(
        cls,
        backend: str,
        base_url: str | None,
        app: Any,
        *,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
    ) -> Transport:
        """Over HTTP when `base_url` is set, else to the in-process ASGI `app`."""
        transport: httpx.AsyncBaseTransport
        if base_url:
            transport = httpx.AsyncHTTPTransport(limits=LIMITS, retries=0)
        else:
            transport = httpx.ASGITransport(app=app)
            base_url = f"http://{backend}.in-process"
        client = httpx.AsyncClient(
            base_url=base_url,
            transport=transport,
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
        )
        return cls(backend, client, timeout)

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            async with asyncio.timeout(self.attempt_timeout):
                return await self.client.request(method, path, **kwargs)
        except (TimeoutError, httpx.TimeoutException):
            raise BackendTimeout(self.backend) from None
        except httpx.TransportError:
            raise BackendUnavailable(self.backend) from None

    async def close(self) -> None:
        await self.client.aclose()
