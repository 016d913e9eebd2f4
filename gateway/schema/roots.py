"""The root types, composed from one class of root fields per domain.

`EntryQuery` (`query.py`: viewer, person, node and the lookups by id) comes first, then each
domain's `<Domain>Query` / `<Domain>Mutation` (`schema/<domain>/query.py`, `mutations.py`), in
the order their fields appear in the exported schema. Mutations stay on the root type
(namespaced mutations would lose serial execution). A field name defined by two domains is a
mistake, refused when the schema is built rather than silently overridden.

`TYPES` are the object types reached only through an interface (`Person`, `Node`): the schema
must be told about them.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain

import strawberry
from strawberry.types.base import has_object_definition

from gateway.schema.accounts.device_mutations import DevicesMutation
from gateway.schema.accounts.mutations import AccountsMutation
from gateway.schema.claims.types import Dossier, Reglement
from gateway.schema.contracts.mutations import ContractActsMutation
from gateway.schema.contracts.types import Affiliate, Contract
from gateway.schema.dashboards.query import DashboardsQuery
from gateway.schema.demandes.mutations import DemandesMutation
from gateway.schema.demandes.query import DemandesQuery
from gateway.schema.demandes.types import Demande
from gateway.schema.documents.mutations import DocumentsMutation
from gateway.schema.documents.types import Document
from gateway.schema.live import Subscription
from gateway.schema.person.alerts import AlertsMutation
from gateway.schema.person.mutations import ProfileMutation
from gateway.schema.person.types import Company, Individual
from gateway.schema.query import EntryQuery
from gateway.schema.security.mutations import SecurityMutation
from gateway.schema.security.passkey_mutations import PasskeysMutation


def compose(name: str, description: str, *domains: type) -> type:
    fields = chain.from_iterable(
        d.__strawberry_definition__.fields for d in domains if has_object_definition(d)
    )
    twice = [field for field, count in Counter(f.name for f in fields).items() if count > 1]
    if twice:
        raise TypeError(f"{name}: fields defined by two domains: {', '.join(sorted(twice))}")
    return strawberry.type(type(name, domains, {}), description=description)


QUERY = compose(
    "Query", "Entry points of the customer-space graph.", EntryQuery, DemandesQuery, DashboardsQuery
)
MUTATION = compose(
    "Mutation",
    "Changes the customer makes: records, démarches, account.",
    ProfileMutation,
    AccountsMutation,
    DemandesMutation,
    ContractActsMutation,
    DocumentsMutation,
    SecurityMutation,
    PasskeysMutation,
    DevicesMutation,
    AlertsMutation,
)
SUBSCRIPTION = Subscription  # a root of its own: no domain adds to it
TYPES = [Individual, Company, Contract, Dossier, Reglement, Demande, Document, Affiliate]
