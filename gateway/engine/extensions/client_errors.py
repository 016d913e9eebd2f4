"""Codes of the errors a client's own request causes (its document, its variables).

    stage        what                                             extensions.code
    parse        syntax error                                     GRAPHQL_PARSE_FAILED
    parse        more tokens/comments/characters than allowed     QUERY_TOO_LARGE
    validation   unknown field, wrong argument, wrong literal…    GRAPHQL_VALIDATION_FAILED
    validation   a limit of gateway/engine/operation_limits.py                     QUERY_TOO_DEEP / QUERY_TOO_COMPLEX
    execution    a variable or argument that does not coerce      BAD_USER_INPUT (+ variable, field)
    execution    no operation of that name, several and no name   BAD_USER_INPUT

None is ever "Erreur interne.": that is kept for the gateway's own failures. A value the message
echoes (a variable, a literal) has its IBANs masked (`domain/iban.py`), as anywhere else. Outside development,
"Did you mean …?" suggestions are cut from every message: they would describe the schema to
whoever probes it (graphql-core's `hide_suggestions` is an argument of `validate`/`execute` that
strawberry does not pass, so the text is removed here, whatever the stage).
"""

from __future__ import annotations

import re
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

from gateway.domain.iban import mask_ibans
from gateway.engine.operation_limits import TOO_LARGE

SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")
VARIABLE = re.compile(
    r"^Variable '\$(?P<name>\w+)' (?:has|got) invalid value(?: at (?P<at>[^:]+))?"
)
PARSE_LIMITS = ("tokens", "comments", "source length", "Parsing aborted")


def without_suggestions(message: str) -> str:
    return SUGGESTION.sub("", message)


def variable_extensions(message: str) -> dict[str, Any]:
    """`{variable, field}` of a variable coercion error: `field` is the path in the variable
    (`input.email`), like the `field` of the gateway's own BAD_USER_INPUT errors."""
    found = VARIABLE.match(message)
    if found is None:
        return {}
    name, at = found["name"], (found["at"] or "").strip()
    path = ".".join(p for p in re.split(r"[.\[\]]+", at) if p)
    return {"variable": name, "field": f"{name}.{path}" if path else name}


def client_code(error: GraphQLError, validation: bool) -> str | None:
    """The code of an error the client's request caused, or None for the gateway's own."""
    original = error.original_error
    if isinstance(error, GraphQLSyntaxError):
        return (
            TOO_LARGE
            if any(word in error.message for word in PARSE_LIMITS)
            else ("GRAPHQL_PARSE_FAILED")
        )
    if original is None:
        return "GRAPHQL_VALIDATION_FAILED" if validation else "BAD_USER_INPUT"
    if isinstance(original, GraphQLError) and error.message.startswith(
        ("Variable '$", "Argument '")
    ):
        return "BAD_USER_INPUT"
    return None


def client_error(error: GraphQLError, code: str, hide_suggestions: bool) -> GraphQLError:
    message = without_suggestions(error.message) if hide_suggestions else error.message
    message = mask_ibans(message) or message  # a value echoed back (a variable, a literal)
    extensions: dict[str, Any] = {"code": code}
    if code == "BAD_USER_INPUT":
        extensions.update(variable_extensions(error.message))
    return reshaped(error, message, extensions)


def reshaped(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    """The same error (locations, path) with the message and extensions a client may see."""
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )
