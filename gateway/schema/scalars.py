"""The custom scalars, each with the `@specifiedBy` URL of the format it promises.

| scalar   | Python             | wire format                                   | specifiedBy                     |
|----------|--------------------|-----------------------------------------------|---------------------------------|
| Date     | `datetime.date`     | RFC 3339 full-date: `2026-11-24`              | RFC 3339 §5.6                   |
| DateTime | `datetime.datetime` | RFC 3339 date-time, offset required:          | RFC 3339 §5.6                   |
|          |                    | `2026-11-24T10:12:00+01:00`                   |                                 |
| Decimal  | `decimal.Decimal`   | a decimal string, no exponent: `-1234.50`     | XML Schema 1.1 `decimal` lexical |

Inputs are held to the same formats (a date-time without offset, `1E3` or a JSON number for a
Decimal are refused as invalid values), and outputs keep them (a Decimal never prints `1E+3`).
Frontends map them in graphql-codegen's `scalars` (README, "Scalars and codegen").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.types.scalar import ScalarDefinition

RFC3339 = "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6"
XSD_DECIMAL = "https://www.w3.org/TR/xmlschema11-2/#decimal"

FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def parser(
    name: str, shape: re.Pattern[str], parse: Callable[[str], object]
) -> Callable[[object], object]:
    def parse_value(value: object) -> object:
        if isinstance(value, str) and shape.fullmatch(value):
            try:
                return parse(value)
            except (ValueError, InvalidOperation):
                pass
        raise StrawberryInputCoercionError(
            f"{name} cannot represent {value!r}: see its @specifiedBy."
        )

    return parse_value


def date_time(value: datetime) -> str:
    if value.tzinfo is None:  # RFC 3339 has no local time: an adapter forgot the back-end's offset
        raise ValueError("a DateTime needs its offset")
    return value.isoformat()


def decimal_string(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError("a Decimal is finite")
    return format(value, "f")


DATE_SCALAR = ScalarDefinition(
    name="Date",
    description="A calendar date, RFC 3339 full-date (`2026-11-24`).",
    specified_by_url=RFC3339,
    serialize=date.isoformat,
    parse_value=parser("Date", FULL_DATE, date.fromisoformat),
    parse_literal=None,
    origin=date,
)
DATE_TIME_SCALAR = ScalarDefinition(
    name="DateTime",
    description="An instant with its UTC offset, RFC 3339 date-time (`2026-11-24T10:12:00+01:00`).",
    specified_by_url=RFC3339,
    serialize=date_time,
    parse_value=parser("DateTime", DATE_TIME, datetime.fromisoformat),
    parse_literal=None,
    origin=datetime,
)
DECIMAL_SCALAR = ScalarDefinition(
    name="Decimal",
    description="An exact decimal number as a string, no exponent (`-1234.50`).",
    specified_by_url=XSD_DECIMAL,
    serialize=decimal_string,
    parse_value=parser("Decimal", DECIMAL, Decimal),
    parse_literal=None,
    origin=Decimal,
)

SCALARS: dict[object, ScalarDefinition] = {
    date: DATE_SCALAR,
    datetime: DATE_TIME_SCALAR,
    Decimal: DECIMAL_SCALAR,
}
