"""Legacy identifiers, checked against their documented patterns before they reach a back-end.

A global id is base64 the client can forge (`Dossier:../dossiers?numContrat=…`), and a token's
subject is whatever an identity provider signed: nothing of either goes into a URL or a SOAP body
unless it has the format the legacy document gives for it. A value that does not is unknown to
that system by definition, so the adapters answer "not found" without calling it (no 400 from a
back-end, no control character in a URL). Path segments are also percent-quoted.

| identifier | pattern | document |
|---|---|---|
| CRM `clientId` | `C` + 7 digits | crm.openapi.yaml |
| CRM intermediary | `I` + 4 digits | crm.openapi.yaml |
| CRM demande `id` | `D-` + 4 digits + `-` + 6 digits | crm.openapi.yaml |
| policy admin `NUM_PERS` | 10 digits | policy-admin.openapi.yaml |
| policy admin `NUM_CTR` | 1–20 upper-case letters and digits | policy-admin.openapi.yaml |
| claims `numDossier` | 9 digits | claims.openapi.yaml |
| claims `refReglement` | 4 upper-case letters + 13 digits | claims.openapi.yaml |
| claims `numAssure` / `numAffilie` | `A` or `E` + 7 digits | claims.openapi.yaml, crm.openapi.yaml |
| claims `numContrat` | 1–20 letters and digits | claims.openapi.yaml |
| éditique `idPersonne` | `EDQ-` + 1–12 digits | editique.wsdl |
| éditique `idDocument` | `DOC` + 14 digits | editique.wsdl |
"""

from __future__ import annotations

import re
from urllib.parse import quote

PATTERNS = {
    "crm.client": re.compile(r"C[0-9]{7}"),
    "crm.intermediary": re.compile(r"I[0-9]{4}"),
    "crm.demande": re.compile(r"D-[0-9]{4}-[0-9]{6}"),
    "policy-admin.person": re.compile(r"[0-9]{10}"),
    "policy-admin.contract": re.compile(r"[A-Z0-9]{1,20}"),
    "claims.dossier": re.compile(r"[0-9]{9}"),
    "claims.reglement": re.compile(r"[A-Z]{4}[0-9]{13}"),
    "claims.person": re.compile(r"[AE][0-9]{7}"),
    "claims.contract": re.compile(r"[A-Za-z0-9]{1,20}"),
    "editique.person": re.compile(r"EDQ-[0-9]{1,12}"),
    "editique.document": re.compile(r"DOC[0-9]{14}"),
}


def valid(kind: str, value: str | None) -> bool:
    """Whether `value` has the documented format of identifier `kind` (ASCII only: `\\d` and
    `$` would let other digits and a trailing newline through)."""
    return (
        isinstance(value, str) and value.isascii() and PATTERNS[kind].fullmatch(value) is not None
    )


def segment(value: str) -> str:
    """A checked identifier as one URL path segment (quoted: nothing can add a segment)."""
    return quote(value, safe="")
