"""The `multipart/mixed` answer of an operation with `@defer` or `@stream`, in the format Apollo
Client and urql read (`deferSpec=20220824`):

    Content-Type: multipart/mixed; boundary="-"; deferSpec=20220824

    ---
    Content-Type: application/json; charset=utf-8

    {"data": {…the fields not deferred…}, "hasNext": true}
    ---
    Content-Type: application/json; charset=utf-8

    {"hasNext": true, "incremental": [{"data": {"documents": …}, "path": ["viewer"], "label": "documents"}]}
    ---
    …
    {"hasNext": false, "incremental": [{"data": {"reglements": null}, "path": ["viewer"],
     "label": "reglements", "errors": [{…, "extensions": {"code": "BACKEND_UNAVAILABLE", …}}]}]}
    -----

graphql-core 3.3 executes in the later format of the incremental delivery proposal (`pending`
ids, `completed`, `subPath`, stream `items` without their index) and strawberry's view frames its
parts that way; `Parts` writes each frame as 20220824 has it: the first part `data`, `errors`,
`hasNext`; each later one `incremental` entries with their full `path` (a deferred fragment's
object; a streamed item's index after the list's path) and `label`, a fragment or stream that
failed as a whole an entry with `data` (or `items`) null and its `errors`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any

from strawberry.http.streaming import (
    JSONEncoder,
    MultipartDataStream,
    MultipartTextStream,
    MultipartTransport,
)

from gateway.engine.incremental import DEFER_SPEC

Path = list[str | int]


def at(tree: Any, path: Path) -> Any:
    for key in path:
        if isinstance(tree, dict) and isinstance(key, str):
            tree = tree.get(key)
        elif isinstance(tree, list) and isinstance(key, int) and key < len(tree):
            tree = tree[key]
        else:
            return None
    return tree


def merged(into: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    out = dict(into)
    for key, value in data.items():
        here = out.get(key)
        out[key] = (
            merged(here, value) if isinstance(here, dict) and isinstance(value, dict) else value
        )
    return out


def patched(tree: Any, path: Path, data: dict[str, Any]) -> Any:
    """`tree` with `data` merged at `path`: copies along the path, the parts already written (the
    frames' own objects) untouched."""
    if not path:
        return merged(tree, data) if isinstance(tree, dict) else tree
    key, rest = path[0], path[1:]
    if isinstance(tree, dict) and isinstance(key, str) and key in tree:
        return {**tree, key: patched(tree[key], rest, data)}
    if isinstance(tree, list) and isinstance(key, int) and key < len(tree):
        return [*tree[:key], patched(tree[key], rest, data), *tree[key + 1 :]]
    return tree


class Parts:
    """strawberry's frames of one operation → the frames of `deferSpec=20220824`. Keeps what has
    been sent so far (the answer as the client has merged it, without changing the frames) to
    place each streamed item: after the items of its list sent before."""

    def __init__(self) -> None:
        self.pending: dict[str, tuple[Path, str | None]] = {}
        self.sent: dict[str, Any] = {}
        self.streamed: dict[str, int] = {}  # items of a stream placed so far, by pending id

    def frame(self, frame: Mapping[str, Any]) -> dict[str, Any]:
        for pending in frame.get("pending") or ():
            self.pending[pending["id"]] = (list(pending["path"]), pending.get("label"))
        if "data" in frame:  # the first part (later ones have `incremental` entries)
            data = frame["data"]
            self.sent = {"data": data}
            first: dict[str, Any] = {"data": data}
            if frame.get("errors"):
                first["errors"] = frame["errors"]
            return self.closed(first, frame)
        later: dict[str, Any] = {}
        incremental = [self.entry(entry) for entry in frame.get("incremental") or ()]
        incremental += [
            self.failed(done["id"], done["errors"])
            for done in frame.get("completed") or ()
            if done.get("errors")
        ]
        if incremental:
            later["incremental"] = incremental
        return self.closed(later, frame)

    @staticmethod
    def closed(part: dict[str, Any], frame: Mapping[str, Any]) -> dict[str, Any]:
        if frame.get("extensions"):
            part["extensions"] = frame["extensions"]
        part["hasNext"] = bool(frame.get("hasNext"))
        return part

    def entry(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        path, label = self.pending[entry["id"]]
        path = path + list(entry.get("subPath") or ())
        if "items" in entry:
            items = list(entry["items"])
            start = self.placed(entry["id"], path)
            self.streamed[entry["id"]] = start + len(items)
            part: dict[str, Any] = {"items": items, "path": [*path, start]}
        else:
            if isinstance(entry.get("data"), dict):
                self.sent = patched(self.sent, ["data", *path], entry["data"])
            part = {"data": entry.get("data"), "path": path}
        if label is not None:
            part["label"] = label
        if entry.get("errors"):
            part["errors"] = entry["errors"]
        return part

    def placed(self, pending_id: str, path: Path) -> int:
        """Items of a stream's list already sent: those of the part that held the list, then
        those streamed."""
        if pending_id not in self.streamed:
            listed = at(self.sent, ["data", *path])
            self.streamed[pending_id] = len(listed) if isinstance(listed, list) else 0
        return self.streamed[pending_id]

    def failed(self, pending_id: str, errors: list[Any]) -> dict[str, Any]:
        """A deferred fragment (or a stream) that failed as a whole: null, with its errors."""
        path, label = self.pending[pending_id]
        listed = at(self.sent, ["data", *path])
        part: dict[str, Any] = (
            {"items": None, "path": [*path, self.placed(pending_id, path)]}
            if isinstance(listed, list)
            else {"data": None, "path": path}
        )
        if label is not None:
            part["label"] = label
        part["errors"] = errors
        return part


class DeferSpecParts(MultipartTransport):
    """strawberry's multipart transport for incremental results, writing `deferSpec=20220824`."""

    @property
    def headers(self) -> Mapping[str, str]:
        return {
            "Content-Type": f'multipart/mixed; boundary="{self.separator}"; deferSpec={DEFER_SPEC}'
        }

    def stream(self, data: MultipartDataStream, encode_json: JSONEncoder) -> MultipartTextStream:
        async def stream() -> AsyncGenerator[str, None]:
            parts = Parts()
            yield f"--{self.separator}"
            async for frame in data():
                assert isinstance(frame, Mapping)
                yield self.encode_multipart_data(parts.frame(frame), encode_json)
            yield "--\r\n"

        return stream
