"""Hostile documents of the attack of issue 11, built to size (also used to measure them)."""

from __future__ import annotations

REGLEMENT_ID = "UmVnbGVtZW50OkE3NzgxMDAyOjE"  # any id: refused before it is ever looked up


def fragment_fanout(n: int, *, on: str = "Query", leaf: str = "__typename") -> str:
    """`n` fragments named `__fN`, each spreading the next one twice: 2^n fields expanded."""
    spreads = [
        f"fragment __f{i} on {on} {{ {leaf} ...__f{i + 1} ...__f{i + 1} }}" for i in range(n)
    ]
    return "\n".join(["query { ...__f0 }", *spreads, f"fragment __f{n} on {on} {{ {leaf} }}"])


def typename_aliases(n: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(n)) + " }"


def conflicting_fields(n: int) -> str:
    """`n` fields answering under the same name: the overlapping-fields check is quadratic."""
    fields = ("id", "kind", "displayName", "firstName", "lastName")
    return "{ viewer { " + " ".join(f"a: {fields[i % len(fields)]}" for i in range(n)) + " } }"


def megabyte_query(size: int = 1_000_000) -> str:
    body = "{ viewer { id } }"
    return body + " " * (size - len(body))


def reglement_aliases(n: int) -> str:
    """`n` aliases of `reglement(id)`: one claims call each, were they run."""
    one = f'reglement(id: "{REGLEMENT_ID}") {{ id paidOn netAmount {{ formatted }} }}'
    return "{ " + " ".join(f"r{i}: {one}" for i in range(n)) + " }"


def deep_through_fragments(levels: int) -> str:
    """Contract → dossiers → edges → node → contract … through `levels` fragments:
    depth 2 + 4 × levels, none of it visible in one fragment alone."""
    fragments = [
        f"fragment C{i} on Contract {{ dossiers(first: 1) {{ edges {{ node {{ contract {{ ...C{i + 1} }} }} }} }} }}"
        for i in range(levels)
    ]
    query = 'query { contract(id: "Q29udHJhY3Q6ODA3ODU0MzY") { ...C0 } }'
    return "\n".join([query, *fragments, f"fragment C{levels} on Contract {{ id }}"])
