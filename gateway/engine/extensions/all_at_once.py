"""One answer with everything for a client that did not ask for incremental parts: the document
runs without its `@defer` and `@stream` (`engine/incremental.py`), after validation and the
limits have measured it as it was sent."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from gateway.engine.incremental import accepts_parts, all_at_once


class AllAtOnce(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        request = getattr(execution.context, "request", None)
        accept = request.headers.get("accept") if request is not None else None
        if document is not None and not accepts_parts(accept):
            execution.graphql_document = all_at_once(document)
        yield
