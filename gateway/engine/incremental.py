"""Incremental delivery: `@defer` and `@stream` as graphql-core runs them, or one answer with
everything for a client that did not ask for parts.

    the client's Accept                         what runs                        the answer
    multipart/mixed (deferSpec=20220824, or     graphql-core's incremental       a first part, then a part per
    no deferSpec: urql)                         execution, deferred work         deferred fragment or streamed
                                                started at once (`EarlyWork`)    items (edge/incremental_parts.py)
    anything else                               the document without @defer     one JSON answer with everything
                                                and @stream (`all_at_once`)

Either way it is one operation: parsed, validated and measured against the limits once (the
deferred fragments included), one deadline and one call budget, one set of loaders (a resource is
loaded once per request, deferred parts included; they settle when the last part has been
produced: `later_parts`), and errors typed the same way in every part.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable
from typing import Any, TypeGuard

from graphql import (
    REMOVE,
    DirectiveLocation,
    DirectiveNode,
    DocumentNode,
    ExperimentalIncrementalExecutionResults,
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLDirective,
    GraphQLError,
    GraphQLInt,
    GraphQLNonNull,
    GraphQLSchema,
    GraphQLString,
    SubsequentIncrementalExecutionResult,
    Visitor,
    visit,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

INCREMENTAL_DIRECTIVES = frozenset({"defer", "stream"})
DEFER_SPEC = "20220824"  # the incremental format Apollo Client and urql read
PLAIN_DOCUMENTS = 256  # documents kept without their directives (the persisted ones, mostly)

Shape = Callable[[list[GraphQLError]], list[GraphQLError]]

# The directives as the schema declares them to clients (the frontends' sketch: `initialCount`
# non-null). graphql-core's executor reads their values with its own definitions
# (`GraphQLDeferDirective`, `GraphQLStreamDirective`: the same arguments and defaults).
DEFER = GraphQLDirective(
    name="defer",
    description="Deliver the fragment in a later payload (incremental delivery over multipart/mixed).",
    locations=[DirectiveLocation.FRAGMENT_SPREAD, DirectiveLocation.INLINE_FRAGMENT],
    args={
        "if": GraphQLArgument(
            GraphQLNonNull(GraphQLBoolean), default_value=True, description="Defer only when true."
        ),
        "label": GraphQLArgument(GraphQLString, description="Names the deferred payload."),
    },
)
STREAM = GraphQLDirective(
    name="stream",
    description="Deliver the list's items after the first `initialCount` in later payloads.",
    locations=[DirectiveLocation.FIELD],
    args={
        "if": GraphQLArgument(
            GraphQLNonNull(GraphQLBoolean), default_value=True, description="Stream only when true."
        ),
        "label": GraphQLArgument(GraphQLString, description="Names the streamed payloads."),
        "initialCount": GraphQLArgument(
            GraphQLNonNull(GraphQLInt), default_value=0, description="Items in the first payload."
        ),
    },
)


def declare_directives(schema: GraphQLSchema) -> None:
    """Put `DEFER` and `STREAM` in place of the definitions strawberry registers."""
    ours = {DEFER.name: DEFER, STREAM.name: STREAM}
    schema.directives = tuple(ours.get(d.name, d) for d in schema.directives)


class EarlyWork(StrawberryGraphQLCoreExecutionContext):
    """strawberry's executor with graphql-core's `enable_early_execution`: a deferred fragment's
    fields start as soon as the executor meets them, not once the first part is out, so the slow
    back-end's call runs beside the others and its part follows as soon as it answers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.enable_early_execution = True


def accepts_parts(accept: str | None) -> bool:
    """Whether the client reads a `multipart/mixed` answer of incremental parts: Apollo Client
    sends `multipart/mixed;deferSpec=20220824, application/json`, urql `multipart/mixed, …`. Another
    `deferSpec` is a format the gateway does not write, and `subscriptionSpec` asks for a
    subscription's parts: those clients get one answer."""
    for media_range in (accept or "").split(","):
        kind, *parameters = (part.strip() for part in media_range.split(";"))
        if kind.lower() != "multipart/mixed":
            continue
        given = {
            name.strip().lower(): value.strip().strip('"')
            for name, _, value in (p.partition("=") for p in parameters)
        }
        if "subscriptionspec" not in given and given.get("deferspec", DEFER_SPEC) == DEFER_SPEC:
            return True
    return False


class _WithoutIncremental(Visitor):
    def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
        return REMOVE if node.name.value in INCREMENTAL_DIRECTIVES else None


_plain: dict[int, tuple[DocumentNode, DocumentNode]] = {}


def all_at_once(document: DocumentNode) -> DocumentNode:
    """The document without its `@defer` and `@stream`: the same fields, answered at once (the
    same object when it has none). Kept per parsed document (the parse cache hands the same one
    back), a bounded number of them."""
    kept = _plain.get(id(document))
    if kept is not None and kept[0] is document:
        return kept[1]
    plain: DocumentNode = visit(document, _WithoutIncremental())
    if len(_plain) >= PLAIN_DOCUMENTS:
        _plain.pop(next(iter(_plain)))
    _plain[id(document)] = (document, plain)
    return plain


def is_incremental(result: object) -> TypeGuard[ExperimentalIncrementalExecutionResults]:
    return isinstance(result, ExperimentalIncrementalExecutionResults)


def entries_with_errors(value: SubsequentIncrementalExecutionResult) -> Iterable[Any]:
    """The parts of a later payload that may carry errors: deferred data, streamed items, and
    fragments or streams completed by an error (their whole fragment is null)."""
    yield from value.incremental or ()
    yield from value.completed or ()


def later_parts(
    results: ExperimentalIncrementalExecutionResults,
    shape: Shape,
    finish: Callable[[], None],
    extensions: Callable[[], dict[str, Any]],
) -> ExperimentalIncrementalExecutionResults:
    """The same results, with each later part's errors typed by `shape` (as the first part's are),
    `extensions()` on the first and the last part (the back-ends answered from stale values so
    far, `extensions.stale`), and `finish` called once the last part has been produced, or the
    client has gone."""
    results.initial_result.extensions = extensions() or None

    async def shaped() -> AsyncGenerator[SubsequentIncrementalExecutionResult, None]:
        subsequent = results.subsequent_results
        try:
            async for value in subsequent:
                for entry in entries_with_errors(value):
                    if entry.errors:
                        entry.errors = shape(list(entry.errors))
                if not value.has_next:
                    value.extensions = extensions() or None
                yield value
        finally:
            try:
                await subsequent.aclose()  # the client gone: deferred work stops
            finally:
                finish()

    return ExperimentalIncrementalExecutionResults(results.initial_result, shaped())
