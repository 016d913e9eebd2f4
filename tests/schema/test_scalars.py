"""Date, DateTime and Decimal say which format they follow (`@specifiedBy`) and keep to it."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import strawberry

from gateway.schema.scalars import RFC3339, SCALARS, XSD_DECIMAL
from tests.support.gateway import PERSONAS, Gateway

FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
DECIMAL = re.compile(r"-?\d+(\.\d+)?")


async def test_codegen_reads_each_scalars_specification_by_introspection(gateway: Gateway) -> None:
    body = await gateway.run(
        '{ d: __type(name: "Date") { specifiedByURL } t: __type(name: "DateTime") '
        '{ specifiedByURL } x: __type(name: "Decimal") { specifiedByURL } }'
    )
    assert body["data"] == {
        "d": {"specifiedByURL": RFC3339},
        "t": {"specifiedByURL": RFC3339},
        "x": {"specifiedByURL": XSD_DECIMAL},
    }


async def test_served_dates_date_times_and_amounts_follow_their_specification(
    gateway: Gateway,
) -> None:
    body = await gateway.run("HomePage", as_=PERSONAS["geralt"])
    viewer = body["data"]["viewer"]
    created = [e["node"]["createdAt"] for e in viewer["demandes"]["edges"]]
    issued = [e["node"]["issuedAt"] for e in viewer["documents"]["edges"]]
    paid = [e["node"]["paidOn"] for e in viewer["reglements"]["edges"]]
    amounts = [e["node"]["netAmount"]["amount"] for e in viewer["reglements"]["edges"]]
    assert created and issued and paid and amounts
    assert all(DATE_TIME.fullmatch(value) for value in created + issued), created + issued
    assert all(FULL_DATE.fullmatch(value) for value in paid), paid
    assert all(isinstance(a, str) and DECIMAL.fullmatch(a) for a in amounts), amounts


@strawberry.type
class Echo:
    @strawberry.field
    def date(self, value: date) -> date:
        return value

    @strawberry.field
    def date_time(self, value: datetime) -> datetime:
        return value

    @strawberry.field
    def decimal(self, value: Decimal) -> Decimal:
        return value


ECHO = strawberry.Schema(query=Echo, scalar_overrides=SCALARS)


def echo(field: str, value: object) -> dict[str, Any]:
    kind = {"date": "Date", "dateTime": "DateTime", "decimal": "Decimal"}[field]
    result = ECHO.execute_sync(
        f"query($v: {kind}!) {{ {field}(value: $v) }}", variable_values={"v": value}
    )
    return {"data": result.data, "errors": [e.message for e in result.errors or []]}


@pytest.mark.parametrize(
    ("field", "value", "served"),
    [
        ("date", "2026-02-28", "2026-02-28"),
        ("dateTime", "2026-11-24T10:12:00+01:00", "2026-11-24T10:12:00+01:00"),
        ("dateTime", "2026-11-24T09:12:00.5Z", "2026-11-24T09:12:00.500000+00:00"),
        ("decimal", "-1234.50", "-1234.50"),
        ("decimal", "1000", "1000"),
    ],
)
def test_values_in_the_specified_format_are_accepted(field: str, value: str, served: str) -> None:
    assert echo(field, value) == {"data": {field: served}, "errors": []}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date", "20260228"),  # ISO 8601 basic format: not RFC 3339
        ("date", "2026-02-30"),
        ("date", "2026-02-28T00:00:00+01:00"),
        ("dateTime", "2026-11-24T10:12:00"),  # no offset: which instant?
        ("dateTime", "2026-11-24"),
        ("decimal", "1E3"),
        ("decimal", "NaN"),
        ("decimal", 12.5),  # a JSON number is a binary float
        ("decimal", "12,50"),
    ],
)
def test_values_outside_the_specified_format_are_refused(field: str, value: object) -> None:
    result = echo(field, value)
    assert result["data"] is None
    assert len(result["errors"]) == 1 and "@specifiedBy" in result["errors"][0]


def test_a_decimal_is_served_without_exponent() -> None:
    assert SCALARS[Decimal].serialize(Decimal("1E+3")) == "1000"  # type: ignore[misc]
    assert SCALARS[Decimal].serialize(Decimal("0.00")) == "0.00"  # type: ignore[misc]
