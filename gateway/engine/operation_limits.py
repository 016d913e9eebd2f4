"""Operation limits: what one document may ask for, decided before anything runs.

A document is measured once, when it is validated (the result is cached with the document by
strawberry's `ValidationCache`), in time linear in its size: each fragment is measured once and
its measure reused wherever it is spread, so fragments that spread each other twice cost no
more to measure than to read. The measures, fragments expanded, per operation:

    depth         nested fields (inline fragments and spreads add none)       QUERY_TOO_DEEP
    aliases       aliased fields                                              QUERY_TOO_COMPLEX
    root fields   fields at the operation's first level                       QUERY_TOO_COMPLEX
    fields        every field                                                 QUERY_TOO_COMPLEX
    directives    every directive                                             QUERY_TOO_COMPLEX
    cost          1 per field, 10 per field taking arguments (a look-up, a page:  QUERY_TOO_COMPLEX
                  what reaches a back-end), times `first` for what a page selects
    `first`       a literal above the page size                               QUERY_TOO_COMPLEX

A `first` given by a variable counts as the page size (the worst case; the resolver refuses
more); one not given counts as its schema default. The parser stops first: more tokens, comments
or characters than allowed is `QUERY_TOO_LARGE` (see `parse_options`). Every limit is a setting
(`GATEWAY_MAX_*`, `Limits.of(settings)`).

The rule measures on entering the document and, when a limit is exceeded, aborts the validation
there: the other rules (some quadratic, like overlapping-fields) never see a hostile document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
    parse,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef
from graphql.validation import ASTValidationRule, ValidationContext
from graphql.validation.validate import ValidationAbortedError
from strawberry.extensions import SchemaExtension

from gateway.engine.fastpath.parse_cache import cached_parse
from gateway.settings import Settings

CAP = 10**12  # measures saturate here: an exponential document stays a small number
PAGE_ARGUMENT = "first"
LOOKUP_COST = 10  # a field taking arguments (a look-up by id, a page): what reaches a back-end
INTROSPECTION = {"__schema": SchemaMetaFieldDef, "__type": TypeMetaFieldDef}
TOO_LARGE = "QUERY_TOO_LARGE"
TOO_DEEP = "QUERY_TOO_DEEP"
TOO_COMPLEX = "QUERY_TOO_COMPLEX"


def setting(name: str) -> Any:
    """A limit whose default is the setting's of the same name: each number stands in one place."""
    return field(default=Settings.model_fields[name].default)


@dataclass(frozen=True)
class Limits:
    max_tokens: int = setting("max_tokens")
    max_comments: int = setting("max_comments")
    max_query_length: int = setting("max_query_length")
    max_depth: int = setting("max_depth")
    max_aliases: int = setting("max_aliases")
    max_root_fields: int = setting("max_root_fields")
    max_fields: int = setting("max_fields")
    max_directives: int = setting("max_directives")
    max_cost: int = setting("max_cost")
    max_page_size: int = setting("max_page_size")

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        """The limits of the settings' `max_*` fields of the same names."""
        return cls(**{limit.name: getattr(settings, limit.name) for limit in fields(cls)})

    def parse_options(self) -> dict[str, Any]:
        """graphql-core's parser limits: it stops reading past them (linear up to the limit)."""
        return {
            "max_lexical_tokens": self.max_tokens,
            "max_comments": self.max_comments,
            "max_source_length": self.max_query_length,
        }


@dataclass
class Measure:
    """Of one selection set, fragments expanded; `width` counts its own level's fields."""

    depth: int = 0
    fields: int = 0
    aliases: int = 0
    directives: int = 0
    cost: int = 0
    width: int = 0

    def add(self, other: Measure, *, width: bool = True) -> None:
        self.depth = max(self.depth, other.depth)
        self.fields = min(CAP, self.fields + other.fields)
        self.aliases = min(CAP, self.aliases + other.aliases)
        self.directives = min(CAP, self.directives + other.directives)
        self.cost = min(CAP, self.cost + other.cost)
        if width:
            self.width = min(CAP, self.width + other.width)


@dataclass(frozen=True)
class Violation:
    code: str
    limit: str
    value: int
    maximum: int

    def error(self) -> GraphQLError:
        return ValidationAbortedError(
            f"La requête dépasse la limite « {self.limit} » ({self.value} > {self.maximum}).",
            extensions={
                "code": self.code,
                "limit": self.limit,
                "value": self.value,
                "max": self.maximum,
            },
        )


class Measurer:
    """Measures every operation of a document, each fragment once."""

    def __init__(self, schema: GraphQLSchema, document: DocumentNode, limits: Limits) -> None:
        self.schema = schema
        self.limits = limits
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.memo: dict[str, Measure] = {}
        self.measuring: set[str] = set()
        self.page_too_large = 0

    def operation(self, operation: OperationDefinitionNode) -> Measure:
        root = self.schema.get_root_type(operation.operation)
        measure = self.selections(operation.selection_set, root)
        measure.directives += len(operation.directives or ())
        return measure

    def selections(self, selection_set: SelectionSetNode, parent: Any) -> Measure:
        total = Measure()
        for selection in selection_set.selections:
            total.directives = min(CAP, total.directives + len(selection.directives or ()))
            if isinstance(selection, FieldNode):
                total.add(self.field(selection, parent))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                kind = self.schema.get_type(condition.name.value) if condition else parent
                total.add(self.selections(selection.selection_set, kind))
            elif isinstance(selection, FragmentSpreadNode):
                total.add(self.fragment(selection.name.value))
        return total

    def fragment(self, name: str) -> Measure:
        known = self.memo.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self.measuring:  # unknown, or a cycle: other rules say
            return Measure()
        self.measuring.add(name)
        kind = self.schema.get_type(definition.type_condition.name.value)
        measure = self.selections(definition.selection_set, kind)
        self.measuring.discard(name)
        self.memo[name] = measure
        return measure

    def field(self, node: FieldNode, parent: Any) -> Measure:
        name = node.name.value
        definition = INTROSPECTION.get(name)
        if definition is None and isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(name)
        child = Measure()
        if node.selection_set is not None:
            kind = get_named_type(definition.type) if definition is not None else None
            child = self.selections(node.selection_set, kind)
        times = self.page_size(node, definition)
        weight = LOOKUP_COST if definition is not None and definition.args else 1
        return Measure(
            depth=0 if name in INTROSPECTION else 1 + child.depth,
            fields=min(CAP, 1 + child.fields),
            aliases=min(CAP, child.aliases + (1 if node.alias else 0)),
            directives=child.directives,
            cost=min(CAP, weight + times * child.cost),
            width=1,
        )

    def page_size(self, node: FieldNode, definition: Any) -> int:
        """How many items a page field may return: `first` as given, or its default."""
        argument = definition.args.get(PAGE_ARGUMENT) if definition is not None else None
        if argument is None:
            return 1
        given = next((a.value for a in node.arguments or () if a.name.value == PAGE_ARGUMENT), None)
        if isinstance(given, IntValueNode):
            size = int(given.value)
            if size > self.limits.max_page_size:
                self.page_too_large = max(self.page_too_large, size)
            return max(0, min(size, self.limits.max_page_size))
        if isinstance(given, VariableNode) or not isinstance(argument.default_value, int):
            return self.limits.max_page_size
        return max(0, min(argument.default_value, self.limits.max_page_size))


def violations(schema: GraphQLSchema, document: DocumentNode, limits: Limits) -> list[Violation]:
    """Every limit the document exceeds (empty: within limits)."""
    measurer = Measurer(schema, document, limits)
    worst = Measure()
    try:
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                measure = measurer.operation(definition)
                worst.depth = max(worst.depth, measure.depth)
                worst.fields = max(worst.fields, measure.fields)
                worst.aliases = max(worst.aliases, measure.aliases)
                worst.directives = max(worst.directives, measure.directives)
                worst.cost = max(worst.cost, measure.cost)
                worst.width = max(worst.width, measure.width)
    except RecursionError:  # fragments nested beyond what any page needs
        return [Violation(TOO_DEEP, "depth", CAP, limits.max_depth)]
    checks = [
        (TOO_DEEP, "depth", worst.depth, limits.max_depth),
        (TOO_COMPLEX, "aliases", worst.aliases, limits.max_aliases),
        (TOO_COMPLEX, "rootFields", worst.width, limits.max_root_fields),
        (TOO_COMPLEX, "fields", worst.fields, limits.max_fields),
        (TOO_COMPLEX, "directives", worst.directives, limits.max_directives),
        (TOO_COMPLEX, "cost", worst.cost, limits.max_cost),
        (TOO_COMPLEX, "first", measurer.page_too_large, limits.max_page_size),
    ]
    return [Violation(*check) for check in checks if check[2] > check[3]]


def limits_rule(limits: Limits) -> type[ASTValidationRule]:
    """The validation rule enforcing `limits`: build it once (the validation cache keys on it)."""

    class OperationLimits(ValidationRule):
        configured: ClassVar[Limits] = limits

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)

        def enter_document(self, node: DocumentNode, *_args: Any) -> None:
            found = violations(self.context.schema, node, self.configured)
            if not found:
                return
            for violation in found[:-1]:
                self.report_error(violation.error())
            raise found[-1].error()  # aborts the validation: no other rule walks this document

    return OperationLimits


def refused_document(error: GraphQLError) -> GraphQLError:
    """A parse error, typed: QUERY_TOO_LARGE past a limit, GRAPHQL_PARSE_FAILED otherwise."""
    aborted = "Parsing aborted" in error.message
    typed = GraphQLError(
        error.message, extensions={"code": TOO_LARGE if aborted else "GRAPHQL_PARSE_FAILED"}
    )
    typed.locations = error.locations
    return typed


def plain_parse(query: str, limits: Limits) -> DocumentNode:
    return parse(query, **limits.parse_options())


def document_reader(fast_paths: bool) -> Callable[[str, Limits], DocumentNode]:
    """How documents are parsed: cached by text (a fast path: `fastpath/parse_cache.py`) or by
    graphql-core's plain `parse`, within the limits either way."""
    return cached_parse if fast_paths else plain_parse


def parse_within(
    query: str,
    limits: Limits,
    read: Callable[[str, Limits], DocumentNode] = cached_parse,
) -> DocumentNode:
    """`query` parsed within `limits`, or its typed error (`QUERY_TOO_LARGE`,
    `GRAPHQL_PARSE_FAILED`). The length is checked before the parser sees the text (a parse error
    computes its line and column: not over 1 MB)."""
    if len(query) > limits.max_query_length:
        raise GraphQLError(
            f"Syntax Error: Source contains more than {limits.max_query_length} "
            "code points. Parsing aborted.",
            extensions={"code": TOO_LARGE},
        )
    try:
        return read(query, limits)
    except GraphQLError as error:
        raise refused_document(error) from None


def parse_limits(
    limits: Limits, read: Callable[[str, Limits], DocumentNode] = cached_parse
) -> type[SchemaExtension]:
    """The parsing extension: a parse within `limits` by `read` (`document_reader`; replaces
    strawberry's ParserCache).

    A refused document raises its typed error from the hook (`parse_within`): strawberry answers
    it as the operation's only error, and does not parse it a second time."""
    options = limits.parse_options()

    class ParseLimits(SchemaExtension):
        def on_operation(self) -> Iterator[None]:
            self.execution_context.parse_options.update(options)  # type: ignore[typeddict-item]
            yield

        def on_parse(self) -> Iterator[None]:
            context = self.execution_context
            if context.query and context.graphql_document is None:
                context.graphql_document = parse_within(context.query, limits, read)
            yield

    return ParseLimits
