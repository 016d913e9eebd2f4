"""The graph: strawberry types, inputs and root fields, per domain.

    person/      Person (Individual, Company), address, preferences; profile mutations
    contracts/   Contract, Affiliate and what a contract shows; contract acts (mutations)
    claims/      Dossier, Reglement, their values and ReglementFilter
    demandes/    Demande, the catalogue's DemandeType; demandeTypes; createDemande, uploads
    documents/   Document; attestations on demand (mutations)
    accounts/    Account; registration, sessions, password recovery, joined accounts
    dashboards/  staff dashboards: demande statistics, back-end health

Shared: `node.py` (Node), `common.py` (Money, Period, pages), `ids.py` (global ids, cursors),
`scalars.py`, `enums.py` (the domain's labelled enums), `user_errors.py` and `payloads.py`
(every mutation's `userErrors`), `permissions.py`. `query.py` holds the entry points (viewer,
person, node and lookups by id); `roots.py` composes them with each domain's root fields.

Imports go one way: person → contracts → claims, dashboards → demandes, documents, accounts →
the shared modules (import-linter's "Schema domains" contract). A type that links back up (the
`contract` of a dossier, a règlement, a demande, a document) names it with `strawberry.lazy`.
"""
