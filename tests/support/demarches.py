"""Helpers of the démarches tests: uploads over the multipart spec, counting CRM writes."""

from __future__ import annotations

import json
import uuid
from typing import Any

from gateway.schema.ids import to_global
from tests.support import files
from tests.support.gateway import PERSONAS, Gateway, operation

PDF = files.PDF
PNG = files.PNG
GERALT = PERSONAS["geralt"]
HEALTH = to_global("Contract", "AA565656")
UPLOAD = operation("demarches/UploadAttachment")


def key() -> str:
    return uuid.uuid4().hex


def posts(gateway: Gateway, system: str = "crm", route: str = "/demandes") -> int:
    """Writes the gateway sent to a back-end (POSTs whose path ends with `route`)."""
    return sum(
        1 for c in gateway.mocks[system].log.calls if c.method == "POST" and c.path.endswith(route)
    )


def demandes_count(gateway: Gateway) -> int:
    return len(gateway.mocks["crm"].demandes)  # type: ignore[attr-defined]


async def upload(
    gateway: Gateway,
    content: bytes = PDF,
    name: str = "facture.pdf",
    *,
    as_: str = GERALT,
    headers: dict[str, str] | None = None,
    query: str = UPLOAD,
) -> dict[str, Any]:
    """The GraphQL multipart request spec: `operations`, `map`, then the file part."""
    response = await gateway.http.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": query, "variables": {"file": None}}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": (name, content, "application/pdf")},
        headers={
            "Authorization": f"Bearer {gateway.token(as_)}",
            **({"Apollo-Require-Preflight": "true"} if headers is None else headers),
        },
    )
    body: dict[str, Any] = response.json()
    body["_status"] = response.status_code
    return body


async def uploaded(gateway: Gateway, as_: str = GERALT) -> str:
    body = await upload(gateway, as_=as_)
    result = body["data"]["uploadAttachment"]
    assert result["userErrors"] == [], result
    return str(result["attachment"]["id"])


async def create(gateway: Gateway, as_: str = GERALT, **fields: Any) -> dict[str, Any]:
    variables = {"input": {"idempotencyKey": key(), **fields}}
    body = await gateway.run("demarches/CreateDemande", variables, as_=as_)
    return body


def errors_of(body: dict[str, Any], field: str) -> list[tuple[str | None, str]]:
    payload = body["data"][field]
    return [(e["field"], e["code"]) for e in payload["userErrors"]]
