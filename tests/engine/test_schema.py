"""The exported schema, the frontends' documents and the descriptions."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    build_schema,
    parse,
    validate,
)

from gateway.engine.schema import schema
from tests.support.gateway import OPERATIONS

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "operations"


def test_checked_in_schema_is_the_export() -> None:
    assert (ROOT / "schema.graphql").read_text("utf-8") == schema.as_str() + "\n", (
        "run: python -m gateway export-schema"
    )


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/operations is not beside this clone")
def test_operations_are_copies_of_the_shared_ones() -> None:
    folders = [Path("."), *(p.relative_to(OPERATIONS) for p in OPERATIONS.iterdir() if p.is_dir())]
    for folder in folders:  # each folder copied here holds exactly the shared one's documents
        ours = {p.name: p.read_text() for p in (OPERATIONS / folder).glob("*.graphql")}
        shared = {p.name: p.read_text() for p in (SHARED / folder).glob("*.graphql")}
        assert ours == shared


@pytest.mark.parametrize(
    "path", sorted(OPERATIONS.rglob("*.graphql")), ids=lambda p: str(p.relative_to(OPERATIONS))
)
def test_every_operation_validates_against_the_checked_in_schema(path: Path) -> None:
    sdl = build_schema((ROOT / "schema.graphql").read_text("utf-8"))
    assert validate(sdl, parse(path.read_text("utf-8"))) == []


def test_every_type_field_and_enum_value_is_described() -> None:
    missing = []
    for name, kind in schema._schema.type_map.items():
        if name.startswith("__") or name in ("String", "Int", "Boolean", "ID", "Float"):
            continue
        if not kind.description:
            missing.append(name)
        if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            missing += [f"{name}.{f}" for f, field in kind.fields.items() if not field.description]
        if isinstance(kind, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in kind.values.items() if not value.description]
    assert missing == []


def test_enum_values_carry_their_french_labels() -> None:
    status = schema._schema.type_map["ContractStatus"]
    assert isinstance(status, GraphQLEnumType)
    assert {v: value.description for v, value in status.values.items()} == {
        "ACTIVE": "Actif",
        "TERMINATED": "Résilié",
        "SUSPENDED": "Suspendu",
        "PENDING": "En cours d'émission",
    }


def test_a_root_field_defined_by_two_domains_is_refused() -> None:
    import strawberry

    from gateway.schema.roots import compose

    @strawberry.type
    class One:
        @strawberry.field
        def same(self) -> int:
            return 1

    @strawberry.type
    class Two:
        @strawberry.field
        def same(self) -> int:
            return 2

    with pytest.raises(TypeError, match="same"):
        compose("Query", "root", One, Two)
