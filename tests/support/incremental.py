"""Reading a `multipart/mixed` incremental answer as Apollo Client and urql do: the boundary from
the Content-Type, each part's JSON, and the `incremental` entries merged at their `path`. The
multipart framing is python-multipart's parser (the one Starlette reads uploads with)."""

from __future__ import annotations

import copy
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from python_multipart import MultipartParser

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
    """Feeds the bytes of one answer to python-multipart, keeps each part when it ends."""

    def __init__(self, content_type: str, started: float) -> None:
        found = BOUNDARY.search(content_type)
        assert found, content_type
        self.result = Parts(content_type)
        self.started = started
        self.data = bytearray()
        self.headers: dict[str, str] = {}
        self.field = b""

        def on_part_begin() -> None:
            self.data.clear()
            self.headers = {}

        def on_part_data(data: bytes, start: int, end: int) -> None:
            self.data += data[start:end]

        def on_header_field(data: bytes, start: int, end: int) -> None:
            self.field = data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            self.headers[self.field.decode().lower()] = data[start:end].decode()

        def on_part_end() -> None:
            body = json.loads(bytes(self.data))
            at = time.perf_counter() - self.started
            self.result.parts.append(Part(body, self.headers, at))

        self.parser = MultipartParser(
            found[1],
            {
                "on_part_begin": on_part_begin,
                "on_part_data": on_part_data,
                "on_part_end": on_part_end,
                "on_header_field": on_header_field,
                "on_header_value": on_header_value,
            },
        )

    def feed(self, chunk: bytes) -> None:
        self.parser.write(chunk)


async def read_parts(response: httpx.Response, started: float) -> Parts:
    reader = Reader(response.headers["content-type"], started)
    async for chunk in response.aiter_bytes():
        reader.feed(chunk)
    return reader.result


@dataclass
class Deferred:
    """One request with `Accept: multipart/mixed;deferSpec=20220824`, read as it arrives."""

    client: httpx.AsyncClient

    async def post(self, query: str | None, token: str, **extra: Any) -> Parts:
        """`query` None: a persisted document, named in `extensions`."""
        started = time.perf_counter()
        async with self.client.stream(
            "POST",
            "/graphql",
            json={**({"query": query} if query is not None else {}), **extra},
            headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT},
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("multipart/mixed"), (
                await response.aread()
            )
            return await read_parts(response, started)
