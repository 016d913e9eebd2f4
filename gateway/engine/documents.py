"""A document as each client sends it, and trusted-document manifests in the ecosystem's formats.

A frontend's `.graphql` file never reaches the gateway as written. What a client sends, and the
hash it sends with it, is one of these forms of the same document (`forms`):

    file      the file's text as is (comments and layout included)
    printed   graphql-js `print(parse(text))`: graphql-core's `print_ast` prints the same text
    typename  `printed` after `__typename` is added to every selection set but the operation's:
              Apollo Client 4 (its persisted-query link hashes it, its HttpLink sends it), urql
              (its cache exchange adds the same fields), and Apollo's
              `generate-persisted-query-manifest`
    codegen   graphql-codegen's client preset (`persistedDocuments`): `@graphql-tools/documents`'
              `printExecutableGraphQLDocument`, sorted and on one line; its hash is written
              `sha256:<hex>` (GraphQL over HTTP's persisted documents)

Two texts are the same trusted document when their `canonical` forms are equal: parsed, the
`__typename` fields a client adds removed, sorted as codegen sorts (a mutation's root fields keep
their order: they run one after the other), printed. Neither the added `__typename` nor the order
of fields, arguments of directives or definitions changes what a document can read or write.

Manifests (`load`), recognised by their shape:

    Apollo     {"format": "apollo-persisted-query-manifest", "version": 1,
                "operations": [{"id", "name", "type", "body"}]}   (what this project ships)
    codegen    {"sha256:<hex>": "<document>", …}                  (`persisted-documents.json`)
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from graphql import (
    DefinitionNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    NameNode,
    Node,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    parse,
    print_ast,
)

APOLLO_FORMAT = "apollo-persisted-query-manifest"
HEX = re.compile(r"[0-9a-f]{64}")
# JavaScript's \s, which codegen's whitespace normalisation uses (Python's \s differs slightly)
JS_SPACE = re.compile(
    r"[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+"
)
TYPENAME = FieldNode(name=NameNode(value="__typename"), directives=(), arguments=())
FORMS = ("file", "printed", "typename", "codegen")
T = TypeVar("T")


class ManifestError(ValueError):
    """A manifest that is not one of the formats above, or not readable."""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def digest_of(identifier: str) -> str | None:
    """The hex sha256 a client names, written `<hex>` (APQ, Apollo) or `sha256:<hex>` (codegen,
    GraphQL over HTTP); None when it is neither."""
    hex_ = identifier.removeprefix("sha256:")
    return hex_ if HEX.fullmatch(hex_) else None


# --- the forms of a document --------------------------------------------------------------------


def with_typename(document: DocumentNode) -> DocumentNode:
    """Apollo Client's `addTypenameToDocument`: `__typename` last in every selection set but an
    operation's own, unless one of its fields already starts with `__`."""

    def selection_set(node: SelectionSetNode, root: bool, exported: bool) -> SelectionSetNode:
        selections = tuple(selection(child) for child in node.selections)
        skip = (
            root
            or exported
            or any(
                isinstance(child, FieldNode) and child.name.value.startswith("__")
                for child in selections
            )
        )
        return replace(node, selections=selections if skip else (*selections, TYPENAME))

    def selection(node: SelectionNode) -> SelectionNode:
        if isinstance(node, FieldNode) and node.selection_set is not None:
            exported = any(d.name.value == "export" for d in node.directives or ())
            return replace(node, selection_set=selection_set(node.selection_set, False, exported))
        if isinstance(node, InlineFragmentNode):
            return replace(node, selection_set=selection_set(node.selection_set, False, False))
        return node

    definitions = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            root = isinstance(definition, OperationDefinitionNode)
            definition = replace(
                definition, selection_set=selection_set(definition.selection_set, root, False)
            )
        definitions.append(definition)
    return replace(document, definitions=tuple(definitions))


def without_typename(document: DocumentNode) -> DocumentNode:
    """Every unaliased, undirected `__typename` field removed (what clients add)."""

    def selection_set(node: SelectionSetNode) -> SelectionSetNode:
        kept = tuple(
            selection(child)
            for child in node.selections
            if not (
                isinstance(child, FieldNode)
                and child.name.value == "__typename"
                and child.alias is None
                and not child.directives
            )
        )
        return replace(node, selections=kept)

    def selection(node: SelectionNode) -> SelectionNode:
        if isinstance(node, FieldNode | InlineFragmentNode) and node.selection_set is not None:
            return replace(node, selection_set=selection_set(node.selection_set))
        return node

    return replace(
        document,
        definitions=tuple(
            replace(d, selection_set=selection_set(d.selection_set))
            if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
            else d
            for d in document.definitions
        ),
    )


def sorted_by(nodes: Sequence[T] | None, key: Callable[[T], str | None]) -> tuple[T, ...]:
    """A stable sort where a missing key goes last (`@graphql-tools/documents`' compareKeys)."""
    return tuple(sorted(nodes or (), key=lambda node: (key(node) is None, key(node) or "")))


def js_kind(node: Node) -> str:
    """graphql-js's name of a node's kind (`OperationDefinition`): what codegen sorts on."""
    return "".join(part.title() for part in node.kind.split("_"))


def sorted_selections(selections: Sequence[SelectionNode]) -> tuple[SelectionNode, ...]:
    def key(node: SelectionNode) -> str:
        if isinstance(node, FieldNode):
            return "0" + node.name.value
        if isinstance(node, FragmentSpreadNode):
            return "1" + node.name.value
        assert isinstance(node, InlineFragmentNode)
        inner = " ".join(print_ast(n) for n in sorted_selections(node.selection_set.selections))
        condition = node.type_condition.name.value if node.type_condition else ""
        return "2" + condition + JS_SPACE.sub(" ", inner).strip()

    return sorted_by(selections, key)


def executable_sort(document: DocumentNode) -> DocumentNode:
    """`@graphql-tools/documents`' `sortExecutableDocument`: definitions by kind and name,
    variables by name, selections (fields, then spreads, then inline fragments) by name, the
    directives of fragments and the arguments of directives by name; a mutation's root selections
    as written. Field arguments keep their order."""

    def directive(node: DirectiveNode) -> DirectiveNode:
        return replace(node, arguments=sorted_by(node.arguments, lambda a: a.name.value))

    def directives(nodes: Iterable[DirectiveNode] | None, sort: bool) -> tuple[DirectiveNode, ...]:
        found = tuple(directive(d) for d in nodes or ())
        return sorted_by(found, lambda d: d.name.value) if sort else found

    def selection_set(node: SelectionSetNode, keep_order: bool) -> SelectionSetNode:
        ordered = node.selections if keep_order else sorted_selections(node.selections)
        return replace(node, selections=tuple(selection(child, keep_order) for child in ordered))

    def selection(node: SelectionNode, at_mutation_root: bool) -> SelectionNode:
        if isinstance(node, FieldNode):
            inner = node.selection_set and selection_set(node.selection_set, False)
            return replace(node, directives=directives(node.directives, False), selection_set=inner)
        if isinstance(node, FragmentSpreadNode):
            return replace(node, directives=directives(node.directives, True))
        assert isinstance(node, InlineFragmentNode)
        return replace(
            node,
            directives=directives(node.directives, not at_mutation_root),
            selection_set=selection_set(node.selection_set, at_mutation_root),
        )

    def definition(node: DefinitionNode) -> DefinitionNode:
        if isinstance(node, OperationDefinitionNode):
            return replace(
                node,
                variable_definitions=sorted_by(
                    node.variable_definitions, lambda v: v.variable.name.value
                ),
                directives=directives(node.directives, False),
                selection_set=selection_set(
                    node.selection_set, node.operation == OperationType.MUTATION
                ),
            )
        if isinstance(node, FragmentDefinitionNode):
            return replace(
                node,
                variable_definitions=sorted_by(
                    node.variable_definitions, lambda v: v.variable.name.value
                ),
                directives=directives(node.directives, True),
                selection_set=selection_set(node.selection_set, False),
            )
        return node

    ordered = sorted_by(
        document.definitions,
        lambda d: js_kind(d) + "\0" + (getattr(getattr(d, "name", None), "value", None) or ""),
    )
    return replace(document, definitions=tuple(definition(d) for d in ordered))


def codegen_print(document: DocumentNode) -> str:
    """graphql-codegen's client preset's printed persisted document."""
    return JS_SPACE.sub(" ", print_ast(executable_sort(document))).strip()


def forms(text: str) -> dict[str, str]:
    """The text each client sends for this document, by form (see the module's docstring);
    raises `GraphQLError` when it does not parse."""
    document = parse(text, no_location=True)
    return {
        "file": text,
        "printed": print_ast(document),
        "typename": print_ast(with_typename(document)),
        "codegen": codegen_print(document),
    }


def canonical(document: DocumentNode | str) -> str:
    """The text two equivalent documents share (see the module's docstring)."""
    parsed = parse(document, no_location=True) if isinstance(document, str) else document
    return codegen_print(without_typename(parsed))


# --- manifests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    digest: str  # hex sha256, as a client names it
    name: str | None
    type: str  # query, mutation, subscription
    body: str


def operation_of(body: str) -> tuple[str | None, str]:
    document = parse(body, no_location=True)
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            name = definition.name.value if definition.name else None
            return name, definition.operation.value
    return None, "query"


def entries_of(folder: Path, kinds: Sequence[str] = FORMS) -> list[Entry]:
    """Every `.graphql` under `folder` (sub-folders included), once per distinct form."""
    entries: dict[str, Entry] = {}
    for path in sorted(folder.rglob("*.graphql")):
        text = path.read_text("utf-8")
        try:
            by_form = forms(text)
        except GraphQLError as error:
            raise ManifestError(f"{path}: {error.message}") from None
        name, type_ = operation_of(text)
        for kind in kinds:
            body = by_form[kind]
            entries.setdefault(sha256(body), Entry(sha256(body), name or path.stem, type_, body))
    return list(entries.values())


def apollo_manifest(entries: Iterable[Entry]) -> dict[str, Any]:
    return {
        "format": APOLLO_FORMAT,
        "version": 1,
        "operations": [
            {"id": e.digest, "name": e.name, "type": e.type, "body": e.body} for e in entries
        ],
    }


def codegen_manifest(entries: Iterable[Entry]) -> dict[str, str]:
    return {"sha256:" + e.digest: e.body for e in entries}


def render(manifest: Mapping[str, Any]) -> str:
    return json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"


def parse_manifest(data: Any, source: str = "manifest") -> list[Entry]:
    """The entries of an Apollo or a codegen manifest; `ManifestError` for anything else."""
    if isinstance(data, dict) and data.get("format") == APOLLO_FORMAT:
        if data.get("version") != 1 or not isinstance(data.get("operations"), list):
            raise ManifestError(f"{source}: an Apollo manifest of version 1 has `operations`")
        entries = []
        for index, operation in enumerate(data["operations"]):
            if not isinstance(operation, dict) or not isinstance(operation.get("body"), str):
                raise ManifestError(f"{source}: operations[{index}] has no `body`")
            digest = digest_of(str(operation.get("id", "")))
            if digest is None:
                raise ManifestError(f"{source}: operations[{index}].id is not a sha256")
            entries.append(
                Entry(
                    digest,
                    operation.get("name"),
                    str(operation.get("type", "query")),
                    operation["body"],
                )
            )
        return entries
    if isinstance(data, dict) and data and all(isinstance(v, str) for v in data.values()):
        entries = []
        for key, body in data.items():
            digest = digest_of(key)
            if digest is None:
                raise ManifestError(f"{source}: {key!r} is not a sha256 (`sha256:<hex>` or hex)")
            entries.append(Entry(digest, None, "query", body))
        return entries
    raise ManifestError(
        f"{source}: neither an Apollo persisted-query manifest "
        '({"format": "apollo-persisted-query-manifest", …}) nor a graphql-codegen '
        "persisted-documents.json ({hash: document})"
    )


def load(path: Path) -> list[Entry]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as error:
        raise ManifestError(f"{path}: {error}") from None
    return parse_manifest(data, str(path))
