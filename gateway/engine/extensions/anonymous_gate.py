"""What a caller without a session may ask: the account's entry points, nothing else.

Decided on the operation that would run (the one `operationName` selects), its root fields
collected through fragments and inline fragments, never on how names look: a fragment named
`__x` is a fragment like any other. Introspection (`__schema`, `__type`) is anonymous only
outside production (where it is off for everyone anyway). `__typename` is always allowed.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    SelectionSetNode,
)
from graphql.utilities import get_operation_ast
from strawberry.extensions import SchemaExtension

from gateway.errors import Unauthenticated

# The account mutations a caller needs before having a session. One list: add here.
ANONYMOUS_FIELDS = frozenset(
    {
        "registerAccount",
        "activateAccount",
        "login",
        "refreshSession",
        "logout",
        "requestPasswordReset",
        "resetPassword",
        "verifySecondFactor",
        "sendOneTimeCode",
        "generatePasskeyLoginOptions",
        "loginWithPasskey",
        "__typename",
    }
)
INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})


def root_fields(document: DocumentNode, operation_name: str | None) -> set[str] | None:
    """Names of the root fields the selected operation asks for (None: no such operation)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    names: set[str] = set()
    seen: set[str] = set()
    pending: list[SelectionSetNode] = [operation.selection_set]
    while pending:  # each fragment once: linear whatever the spreads
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen:
                    seen.add(name)
                    if name in fragments:
                        pending.append(fragments[name].selection_set)
                    else:
                        names.add("...")  # unknown fragment: validation refuses the document
    return names


def anonymous_may_run(
    document: DocumentNode, operation_name: str | None, allow_introspection: bool
) -> bool:
    names = root_fields(document, operation_name)
    allowed = ANONYMOUS_FIELDS | (INTROSPECTION_FIELDS if allow_introspection else frozenset())
    return names is None or names <= allowed  # None: execution reports the missing operation


class AnonymousGate(SchemaExtension):
    """Runs after validation, before execution: a caller without a session whose operation
    asks for anything else gets UNAUTHENTICATED (the reason their token was refused, if any)."""

    allow_introspection = True  # build_schema sets it from the environment

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        request = context.context
        document = context.graphql_document
        if (
            request is not None
            and getattr(request, "principal", None) is None
            and document is not None
            and not anonymous_may_run(document, context.operation_name, self.allow_introspection)
        ):
            refused = getattr(request, "auth_error", None) or Unauthenticated()
            context.result = ExecutionResult(
                data=None, errors=[GraphQLError(refused.message, extensions=refused.extensions)]
            )
        yield
