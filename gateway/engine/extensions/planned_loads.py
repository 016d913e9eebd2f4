"""Which operations plan their loads (`resolvers/loaders.py` `Plans`): queries, decided on the
parsed document; the plan is kept or forgotten once the operation has run."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from gateway.engine.incremental import is_incremental


class PlannedLoads(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        loaders = getattr(execution.context, "loaders", None)
        if loaders is None:
            yield
            return
        if execution.operation_type is OperationType.QUERY:
            page = (
                execution.operation_name
                or hashlib.sha256((execution.query or "").encode()).hexdigest()
            )
            loaders.expect(page, execution.variables)
        try:
            yield
        finally:
            if not is_incremental(execution.result):  # else after the last part: `later_parts`
                loaders.settle()
