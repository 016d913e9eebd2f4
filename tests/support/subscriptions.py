"""Clients of the gateway's subscriptions for tests over real connections: graphql-transport-ws
(the `websockets` package) and graphql-sse (distinct connections, httpx streaming), with the
CRM mock's admin routes that make a demande move and count the watchers' reads, and `served`,
a gateway built in the test's process behind a real uvicorn socket.

No Python client of either protocol is installed: these send the protocols' few messages
(`connection_init`, `subscribe`, `pong`; a POST with `Accept: text/event-stream`) and read the
answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
import websockets

from mocks.processes import free_port
from tests.support.gateway import operation

MOVED = "D-2026-000303"  # chris's, RECU in the fixtures


def token(subject: str, env: dict[str, str], role: str = "customer") -> str:
    args = [sys.executable, "-m", "gateway", "token", subject]
    if role != "customer":
        args += ["--role", role]
    return subprocess.run(
        args, capture_output=True, text=True, check=True, env={**os.environ, **env}
    ).stdout.strip()


async def move(
    http: httpx.AsyncClient, mocks: dict[str, str], status: str, demande: str = MOVED
) -> float:
    """The back office moves the demande; when it did."""
    url = f"{mocks['crm']}/_admin/demandes/{demande}/statut"
    (
        await http.put(url, json={"statut": status, "commentaire": "Pris en charge"})
    ).raise_for_status()
    return time.monotonic()


@contextlib.asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """`app` served by uvicorn in this process, its lifespan run: its base URL. For a gateway
    with settings a process cannot be started with (production's, without Redis)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    for _ in range(1000):  # started within 10 s
        if server.started or serving.done():
            break
        await asyncio.sleep(0.01)
    if not server.started:
        server.should_exit = True
        await serving
        raise RuntimeError("the gateway did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


def ws_url(http: httpx.AsyncClient) -> str:
    return str(http.base_url).replace("http://", "ws://").rstrip("/") + "/graphql"


class TransportWs:
    """One graphql-transport-ws connection: `connection_init` with the token, then subscribe.
    Its messages are read as they come; the gateway's pings are answered, as clients do, unless
    the test plays a client that is gone (`answer_pings=False`)."""

    def __init__(self, connection: Any, answer_pings: bool) -> None:
        self.connection = connection
        self.answer_pings = answer_pings
        self.inbox: asyncio.Queue[dict[str, Any] | websockets.ConnectionClosed] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, bearer: str | None, answer_pings: bool = True) -> TransportWs:
        connection = await websockets.connect(url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
        payload = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        await connection.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(connection.recv(), 5))
        assert ack["type"] == "connection_ack", ack
        return cls(connection, answer_pings)

    async def _read(self) -> None:
        try:
            while True:
                message = json.loads(await self.connection.recv())
                if message["type"] == "ping" and self.answer_pings:
                    await self.connection.send(json.dumps({"type": "pong"}))
                elif message["type"] != "ping":
                    self.inbox.put_nowait(message)
        except websockets.ConnectionClosed as closed:
            self.inbox.put_nowait(closed)

    async def subscribe(
        self, document: str, variables: dict[str, Any] | None = None, id: str = "1"
    ) -> None:
        query = operation(document) if "{" not in document else document
        message = {"query": query, "variables": variables or {}}
        await self.connection.send(json.dumps({"id": id, "type": "subscribe", "payload": message}))

    async def next(self, within_s: float) -> dict[str, Any]:
        """The next message; `ConnectionClosed` once the socket is closed."""
        found = await asyncio.wait_for(self.inbox.get(), within_s)
        if isinstance(found, websockets.ConnectionClosed):
            self.inbox.put_nowait(found)
            raise found
        return found

    async def closed(self, within_s: float) -> tuple[int | None, str]:
        """Wait for the gateway to close the socket: its close code and reason."""
        async with asyncio.timeout(within_s):
            while True:
                try:
                    await self.next(within_s)
                except websockets.ConnectionClosed as closed:
                    received = closed.rcvd
                    return (received.code, received.reason) if received else (None, "")

    async def close(self) -> None:
        await self.connection.close()
        await self.reader


async def sse_events(
    http: httpx.AsyncClient, document: str, bearer: str | None, variables: dict[str, Any]
) -> AsyncIterator[tuple[str, dict[str, Any] | None]]:
    """graphql-sse, distinct connections: (event, data) as they arrive."""
    headers = {"Accept": "text/event-stream"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    query = operation(document) if "{" not in document else document
    body = {"query": query, "variables": variables}
    async with http.stream("POST", "/graphql", json=body, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:") and event:
                data = line.partition(":")[2].strip()
                yield event, json.loads(data) if data else None
                if event == "complete":
                    return


async def demandes_reads(http: httpx.AsyncClient, mocks: dict[str, str], client_id: str) -> int:
    log = (await http.get(mocks["crm"] + "/_admin/calls")).json()
    return sum(
        1
        for call in log["calls"]
        if call["method"] == "GET" and call["path"].endswith(f"/clients/{client_id}/demandes")
    )
