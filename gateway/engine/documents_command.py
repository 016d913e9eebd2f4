"""`python -m gateway documents build|check PATH`: trusted-document manifests for frontend teams.

build FOLDER [--format apollo|codegen] [--forms …] [--output FILE]
    every `.graphql` under FOLDER, once per form a client sends (`engine/documents.py`), as
    Apollo's persisted-query manifest (default) or graphql-codegen's persisted-documents.json;
    to FILE, else to standard output. Exit 1 when a document does not parse.
check PATH
    a folder of `.graphql` documents, or a manifest in either format: every document parses,
    validates against the gateway's schema and stays within the operation limits of this
    environment's settings (`GATEWAY_MAX_*`); in a manifest, every hash is its body's sha256
    (what a client computes). Exit 0 when all pass, 1 when one does not, 2 when PATH cannot
    be read as either.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from graphql import GraphQLError, parse, specified_rules, validate

from gateway.engine import documents
from gateway.engine.documents import FORMS, Entry, ManifestError, sha256

FORMATS = {
    "apollo": "an Apollo persisted-query manifest",
    "codegen": "graphql-codegen's persisted-documents.json",
}


@dataclass(frozen=True)
class Problem:
    where: str
    message: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", help="a manifest from a folder of .graphql documents")
    build.add_argument("path", type=Path, help="a folder of .graphql documents (recursive)")
    build.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default="apollo",
        help="apollo: Apollo's persisted-query manifest (default); "
        "codegen: graphql-codegen's persisted-documents.json",
    )
    build.add_argument(
        "--forms",
        default=",".join(FORMS),
        help=f"the forms of each document to list (default: {','.join(FORMS)})",
    )
    build.add_argument("--output", type=Path, help="the file to write (default: standard output)")
    check = actions.add_parser("check", help="documents against the schema and the limits")
    check.add_argument("path", type=Path, help="a folder of .graphql documents, or a manifest")


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    if args.action == "build":
        return build(args.path, args.format, args.forms.split(","), args.output, out, err)
    return check(args.path, out, err)


def build(
    folder: Path,
    format_: str,
    forms: Sequence[str],
    output: Path | None,
    out: TextIO,
    err: TextIO,
) -> int:
    unknown = [form for form in forms if form not in FORMS]
    if unknown:
        print(f"documents build: unknown form {', '.join(unknown)} (one of {FORMS})", file=err)
        return 2
    if not folder.is_dir():
        print(f"documents build: {folder} is not a folder of .graphql documents", file=err)
        return 2
    try:
        entries = documents.entries_of(folder, forms)
    except ManifestError as error:
        print(f"documents build: {error}", file=err)
        return 1
    manifest = (
        documents.apollo_manifest(entries)
        if format_ == "apollo"
        else documents.codegen_manifest(entries)
    )
    text = documents.render(manifest)
    if output is None:
        out.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    count = len(list(folder.rglob("*.graphql")))
    print(
        f"{count} documents, {len(entries)} entries ({', '.join(forms)}) as "
        f"{FORMATS[format_]}{f' in {output}' if output else ''}",
        file=err,
    )
    return 0


def check(path: Path, out: TextIO, err: TextIO) -> int:
    try:
        if path.is_dir() or path.suffix == ".graphql":
            files = sorted(path.rglob("*.graphql")) if path.is_dir() else [path]
            named = [(str(file), file.read_text("utf-8")) for file in files]
            problems: list[Problem] = []
            kind = "documents"
        else:
            entries = documents.load(path)
            named = [(where(entry, index), entry.body) for index, entry in enumerate(entries)]
            problems = [
                Problem(
                    where(entry, index), f"its hash is not its body's sha256 ({sha256(entry.body)})"
                )
                for index, entry in enumerate(entries)
                if entry.digest != sha256(entry.body)
            ]
            kind = "manifest entries"
    except (ManifestError, OSError) as error:
        print(f"documents check: {error}", file=err)
        return 2
    if not named:
        print(f"documents check: no document in {path}", file=err)
        return 2
    failed = {problem.where for problem in problems}
    for name, text in named:
        found = problems_of(name, text)
        problems += found
        failed |= {name} if found else set()
    for problem in problems:
        print(f"{problem.where}: {problem.message}", file=out)
    print(
        f"{len(named)} {kind} checked against the schema and the operation limits: "
        f"{len(named) - len(failed)} pass, {len(failed)} fail",
        file=out,
    )
    return 1 if problems else 0


def where(entry: Entry, index: int) -> str:
    return f"[{index}] {entry.name or 'anonymous'} ({entry.digest[:12]}…)"


def problems_of(name: str, text: str) -> list[Problem]:
    # the schema and its limits are built only when checking: `python -m gateway` stays light
    from gateway.engine.operation_limits import Limits, violations
    from gateway.engine.schema import default_schema
    from gateway.settings import Settings

    limits = Limits.of(Settings())
    schema = default_schema()._schema
    try:
        document = parse(text, **limits.parse_options())
    except GraphQLError as error:
        return [located(name, error)]
    found = [located(name, error) for error in validate(schema, document, specified_rules)]
    if found:
        return found
    return [
        Problem(name, f"{v.code}: {v.limit} {v.value} > {v.maximum}")
        for v in violations(schema, document, limits)
    ]


def located(name: str, error: GraphQLError) -> Problem:
    """`file:line:column`, as an editor jumps to it."""
    at = error.locations[0] if error.locations else None
    return Problem(f"{name}:{at.line}:{at.column}" if at else name, error.message)
