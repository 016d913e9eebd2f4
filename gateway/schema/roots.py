"""The root types, composed from one class of fields per domain (person, contracts, demandes…).

Each domain module defines its own `<Domain>Query` / `<Domain>Mutation` with strawberry fields;
`compose` merges them into the schema's `Query` and `Mutation`. Mutations stay on the root type
(namespaced mutations would lose serial execution). A field name defined by two domains is a
mistake, refused when the schema is built rather than silently overridden.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain

import strawberry
from strawberry.types.base import has_object_definition


def compose(name: str, description: str, *domains: type) -> type:
    fields = chain.from_iterable(
        d.__strawberry_definition__.fields for d in domains if has_object_definition(d)
    )
    twice = [field for field, count in Counter(f.name for f in fields).items() if count > 1]
    if twice:
        raise TypeError(f"{name}: fields defined by two domains: {', '.join(sorted(twice))}")
    return strawberry.type(type(name, domains, {}), description=description)
