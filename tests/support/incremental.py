"""Reading a `multipart/mixed` incremental answer as Apollo Client and urql do: the boundary from
the Content-Type, each part's JSON as soon as its closing boundary arrives, and the `incremental`
entries merged at their `path`."""

from __future__ import annotations

import copy
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

ACCEPT = "multipart/mixed;deferSpec=20220824, application/json"
BOUNDARY = re.compile(r'boundary="?([^=";]+)"?', re.I)  # as urql reads it


@dataclass
class Part:
    body: dict[str, Any]
    headers: dict[str, str]
    at: float  # seconds since the request was sent


@dataclass
class Parts:
    content_type: str
    parts: list[Part] = field(default_factory=list)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [p.body for p in self.parts]

    def merged(self) -> dict[str, Any]:
        """The answer as a client holds it after the last part: data patched at each `path`,
        every part's errors together."""
        first = self.bodies[0]
        result: dict[str, Any] = {"data": copy.deepcopy(first.get("data"))}
        errors = list(first.get("errors") or [])
        for body in self.bodies[1:]:
            for entry in body.get("incremental") or []:
                errors += entry.get("errors") or []
                path = entry["path"]
                if "items" in entry:
                    listed = walk(result["data"], path[:-1])
                    assert len(listed) == path[-1], (listed, path)
                    listed.extend(entry["items"] or [])
                elif entry.get("data") is not None:
                    deep_merge(walk(result["data"], path), entry["data"])
        if errors:
            result["errors"] = errors
        return result


def walk(tree: Any, path: list[Any]) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def deep_merge(into: dict[str, Any], data: dict[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(into.get(key), dict) and isinstance(value, dict):
            deep_merge(into[key], value)
        else:
            into[key] = value


class Reader:
    """Apollo Client's `readMultipartBody`: a part is complete as soon as the next boundary
    (`\r\n--<boundary>`) is seen, its headers before the first blank line, its JSON after. (A
    strict MIME parser waits for the bytes after that boundary, so it would hold each part
    until the next one arrives: not what a client's user sees.)"""

    def __init__(self, content_type: str, started: float) -> None:
        found = BOUNDARY.search(content_type)
        assert found, content_type
        self.boundary = f"\r\n--{found[1]}".encode()
        self.result = Parts(content_type)
        self.started = started
        self.buffer = b""

    def feed(self, chunk: bytes) -> None:
        self.buffer += chunk
        while (at := self.buffer.find(self.boundary)) >= 0:
            message, self.buffer = self.buffer[:at], self.buffer[at + len(self.boundary) :]
            head, blank, body = message.partition(b"\r\n\r\n")
            if not blank or not body.strip():
                continue  # the opening delimiter
            headers = {}
            for line in head.decode().split("\n"):
                name, colon, value = line.partition(":")
                if colon:
                    headers[name.strip().lower()] = value.strip()
            assert "application/json" in headers.get("content-type", ""), headers
            at_s = time.perf_counter() - self.started
            self.result.parts.append(Part(json.loads(body), headers, at_s))


async def read_parts(response: httpx.Response, started: float) -> Parts:
    reader = Reader(response.headers["content-type"], started)
    async for chunk in response.aiter_bytes():
        reader.feed(chunk)
    return reader.result


@dataclass
class Deferred:
    """One request with `Accept: multipart/mixed;deferSpec=20220824`, read as it arrives."""

    client: httpx.AsyncClient

    async def post(
        self, query: str | None, token: str, accept: str = ACCEPT, **extra: Any
    ) -> Parts:
        """`query` None: a persisted document, named in `extensions`."""
        started = time.perf_counter()
        async with self.client.stream(
            "POST",
            "/graphql",
            json={**({"query": query} if query is not None else {}), **extra},
            headers={"Authorization": f"Bearer {token}", "Accept": accept},
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("multipart/mixed"), (
                await response.aread()
            )
            return await read_parts(response, started)
