"""The `Node` interface: an object with an opaque global id, fetchable with `node(id)`."""

from __future__ import annotations

import strawberry


@strawberry.interface(description="An object with an opaque global id, fetchable with `node(id)`.")
class Node:
    @strawberry.field(description="Opaque global id.")
    def id(self) -> strawberry.ID:
        raise NotImplementedError
