"""Helpers of the live and notification-event tests: a graphql-transport-ws connection to the app
in process (ASGI, no network), and what the back office and the batches do to the mocks (a
règlement paid, a demande moved, a document issued), over any httpx client of a mock: in process
(`tests.conftest.admin`) or over HTTP (a mock process's URL)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.support.contract import soap_envelope
from tests.support.gateway import operation

PAUL_REGLEMENT = "AVTC0046180101001"  # Paul Bertrand's, on dossier 185501146
ACTION = "urn:assureur:editique:v1/"


class InProcessWs:
    """One graphql-transport-ws connection to the ASGI app: `connection_init` with the token,
    `subscribe`, then the messages as the app sends them."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def open(self, bearer: str) -> None:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"gateway.test"),
                (b"sec-websocket-protocol", b"graphql-transport-ws"),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("gateway.test", 80),
            "subprotocols": ["graphql-transport-ws"],
        }
        self.task = asyncio.create_task(self.app(scope, self.to_app.get, self.from_app.put))
        await self.to_app.put({"type": "websocket.connect"})
        accepted = await asyncio.wait_for(self.from_app.get(), 5)
        assert accepted["type"] == "websocket.accept", accepted
        await self.send(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {bearer}"}}
        )
        ack = await self.next(5)
        assert ack["type"] == "connection_ack", ack

    async def send(self, message: dict[str, Any]) -> None:
        await self.to_app.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def subscribe(self, document: str) -> None:
        payload = {"query": operation(document), "variables": {}}
        await self.send({"id": "1", "type": "subscribe", "payload": payload})

    async def next(self, within_s: float) -> dict[str, Any]:
        event = await asyncio.wait_for(self.from_app.get(), within_s)
        assert event["type"] == "websocket.send", event
        found: dict[str, Any] = json.loads(event.get("text") or event["bytes"])
        return found

    async def close(self) -> None:
        await self.to_app.put({"type": "websocket.disconnect", "code": 1000})
        if self.task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.task, 5)


@contextlib.asynccontextmanager
async def subscribed(app: Any, bearer: str, document: str) -> AsyncIterator[InProcessWs]:
    ws = InProcessWs(app)
    await ws.open(bearer)
    try:
        await ws.subscribe(document)
        yield ws
    finally:
        await ws.close()


# ---- what the back office and the batches do -----------------------------------------------------
async def pay_now(claims_admin: httpx.AsyncClient, claims_api: httpx.AsyncClient) -> str:
    """A règlement paid now on Paul Bertrand's dossier (`POST /_admin/reglements`): its reference."""
    model = (await claims_api.get(f"/prestations/v2/reglements/{PAUL_REGLEMENT}")).json()
    paid = {k: v for k, v in model.items() if k not in ("refReglement", "dateReglement")}
    created = await claims_admin.post("/_admin/reglements", json=paid)
    assert created.status_code == 201, created.text
    return str(created.json()["refReglement"])


async def move(crm_admin: httpx.AsyncClient, demande: str, status: str) -> None:
    """The back office moves a demande (`PUT /_admin/demandes/{id}/statut`)."""
    url = f"/_admin/demandes/{demande}/statut"
    moved = await crm_admin.put(url, json={"statut": status, "commentaire": "Pris en charge"})
    assert moved.status_code == 200, moved.text


async def issue_card(editique: httpx.AsyncClient, person: str, contract: str) -> str:
    """Éditique issues a tiers-payant card (`GenererAttestation`, as its batch would): its id."""
    fields = {"idPersonne": person, "numContrat": contract, "typeAttestation": "CTPY"}
    response = await editique.post(
        "/editique/ws",
        content=soap_envelope("GenererAttestation", fields),
        headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{ACTION}GenererAttestation"',
        },
    )
    assert response.status_code == 200, response.text
    start = response.text.index("<ed:idDocument>") + len("<ed:idDocument>")
    return response.text[start : response.text.index("</ed:idDocument>")]


def crm_client(base_url: str, app: Any = None) -> httpx.AsyncClient:
    """The CRM's API as the gateway calls it (to read a feed back)."""
    transport = httpx.ASGITransport(app=app) if app is not None else None
    return httpx.AsyncClient(
        transport=transport,
        base_url=base_url,
        headers={"Authorization": "Bearer dev-crm-token"},
    )


def claims_client(base_url: str, app: Any = None) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app) if app is not None else None
    return httpx.AsyncClient(
        transport=transport, base_url=base_url, auth=("gateway", "dev-claims-password")
    )


def events_in(feed: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [n for n in feed if n["evenement"] == event]
