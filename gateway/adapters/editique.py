"""Éditique adapter: SOAP 1.1 with a WS-Security UsernameToken (`contracts/legacy/editique.*`).

Envelopes are built as text with every value escaped and parsed back with defusedxml. Faults are
mapped by `codeErreur`: only INDISPONIBLE is transient; PERSONNE_INCONNUE means "no documents";
DOC_INCONNU is a not-found. A search that matches more than 500 documents is split in two halves
of its period until each half fits. Searches are cached `TTL_SEARCH_S`, except `issued_since`'s:
the gateway looks for what was issued since it last looked (`resolvers/events.py`).
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml import ElementTree

from gateway.adapters.identifiers import valid
from gateway.adapters.transport.transport import Transport
from gateway.domain.records import Document
from gateway.domain.values import DocumentCategory, DocumentType
from gateway.errors import BackendRejected, BackendUnavailable, NotFound

BACKEND = "editique"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
ED = "urn:assureur:editique:v1"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
TYPES = {
    "LSIT": DocumentType.SITUATION_LETTER,
    "LINF": DocumentType.ANNUAL_INFORMATION,
    "DECP": DocumentType.BENEFIT_STATEMENT,
    "ATTA": DocumentType.MEMBERSHIP_CERTIFICATE,
    "CTPY": DocumentType.THIRD_PARTY_PAYMENT_CARD,
    "AECH": DocumentType.PREMIUM_NOTICE,
    "CREP": DocumentType.REPLY_LETTER,
}
BLOCS = {
    "CONTRAT": DocumentCategory.CONTRACT,
    "PRESTATION": DocumentCategory.BENEFIT,
    "COURRIER": DocumentCategory.CORRESPONDENCE,
}
BLOC_CODES = {v: k for k, v in BLOCS.items()}
TYPE_CODES = {v: k for k, v in TYPES.items()}
EARLIEST = date(1990, 1, 1)


FETCH_TIMEOUT_S = 2.0  # RecupererDocument: 300–900 ms in production, up to 5 MB
TTL_SEARCH_S = 120  # documents are produced nightly (attestations on demand: invalidated when made)


class TooMany(Exception):
    """More than 500 documents matched: narrow the period."""


class Fault(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Pdf:
    content: bytes
    file_name: str
    mime_type: str


def q(tag: str) -> str:
    return f"{{{ED}}}{tag}"


def documents_in(answer: Element) -> list[dict[str, str | None]]:
    """The `document` elements of a `RechercherDocumentsResponse` as plain fields (cacheable)."""
    return [
        {child.tag.rsplit("}", 1)[-1]: child.text for child in element}
        for element in answer.findall(q("document"))
    ]


def document(raw: dict[str, str | None]) -> Document:
    return Document(
        id=raw["idDocument"] or "",
        type=TYPES[raw["typeDocument"] or ""],
        title=raw["libelle"] or "",
        issued_at=datetime.fromisoformat(raw["dateEmission"] or ""),
        contract=raw.get("numContrat"),
        owner=raw["idPersonne"] or "",
        size_bytes=int(raw["tailleOctets"] or 0),
        category=BLOCS[raw["bloc"] or ""],
    )


class Editique:
    backend = BACKEND

    def __init__(self, transport: Transport, user: str, password: str) -> None:
        self.transport = transport
        self.security = (
            f'<soap:Header><wsse:Security xmlns:wsse="{WSSE}"><wsse:UsernameToken>'
            f"<wsse:Username>{escape(user)}</wsse:Username>"
            f'<wsse:Password Type="{PASSWORD_TEXT}">{escape(password)}</wsse:Password>'
            "</wsse:UsernameToken></wsse:Security></soap:Header>"
        )

    async def _call(
        self, operation: str, fields: list[tuple[str, str | None]], budget: float
    ) -> Element:
        payload = "".join(f"<ed:{k}>{escape(v)}</ed:{k}>" for k, v in fields if v is not None)
        envelope = (
            f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP}" xmlns:ed="{ED}">'
            f"{self.security}<soap:Body><ed:{operation}>{payload}</ed:{operation}></soap:Body></soap:Envelope>"
        )
        response = await self.transport.send(
            "POST",
            "/editique/ws",
            budget,
            content=envelope.encode(),
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": f'"{ED}/{operation}"',
            },
        )
        try:
            root = ElementTree.fromstring(response.content)
            body = root.find(f"{{{SOAP}}}Body")
            answer = body[0] if body is not None and len(body) else None
        except Exception:  # not XML at all: a proxy page, a truncated answer
            answer = None
        if answer is None:
            raise BackendUnavailable(BACKEND)
        if answer.tag == f"{{{SOAP}}}Fault":
            code = answer.find(f"detail/{q('erreur')}/{q('codeErreur')}")
            fault = code.text if code is not None and code.text else "INDISPONIBLE"
            if fault == "INDISPONIBLE":
                raise BackendUnavailable(BACKEND)  # the only transient fault: retried
            raise Fault(fault)
        return answer

    async def _search(
        self, fields: list[tuple[str, str | None]], cached: bool = True
    ) -> list[dict[str, str | None]] | None:
        """One RechercherDocuments (cached unless told): the documents as plain fields, None for an
        unknown person."""

        async def attempt(budget: float) -> list[dict[str, str | None]] | None:
            try:
                answer = await self._call("RechercherDocuments", fields, budget)
            except Fault as fault:
                if fault.code == "PERSONNE_INCONNUE":
                    return None
                if fault.code == "REQUETE_INVALIDE":
                    raise TooMany() from None
                raise BackendRejected(BACKEND) from None
            return documents_in(answer)

        if not cached:
            return await self.transport.read(None, 0, attempt)
        key = "RechercherDocuments " + "&".join(f"{k}={v}" for k, v in fields if v is not None)
        return await self.transport.read(key, TTL_SEARCH_S, attempt)

    async def issued_since(self, person: str, since: date) -> tuple[Document, ...]:
        """Documents of `person` issued on or after `since`, newest first, as éditique has them
        now (never the cache)."""
        return await self.search(person, since=since, cached=False)

    async def search(
        self,
        person: str,
        *,
        since: date | None = None,
        until: date | None = None,
        type: DocumentType | None = None,
        contract: str | None = None,
        category: DocumentCategory | None = None,
        cached: bool = True,
    ) -> tuple[Document, ...]:
        """Documents of `person`, newest first; an unknown person has none. A period matching more
        than 500 documents is split in two halves until each fits."""
        if not valid("editique.person", person) or (
            contract is not None and not valid("policy-admin.contract", contract)
        ):
            return ()
        fields: list[tuple[str, str | None]] = [
            ("idPersonne", person),
            ("dateDebut", since.isoformat() if since else None),
            ("dateFin", until.isoformat() if until else None),
            ("typeDocument", TYPE_CODES[type] if type else None),
            ("numContrat", contract),
            ("bloc", BLOC_CODES[category] if category else None),
        ]
        try:
            found = await self._search(fields, cached)
        except TooMany:
            low, high = since or EARLIEST, until or date.today() + timedelta(days=1)
            if low >= high:
                raise BackendRejected(BACKEND) from None
            middle = low + (high - low) / 2
            newer, older = await asyncio.gather(
                self.search(
                    person,
                    since=middle + timedelta(days=1),
                    until=high,
                    type=type,
                    contract=contract,
                    category=category,
                    cached=cached,
                ),
                self.search(
                    person,
                    since=low,
                    until=middle,
                    type=type,
                    contract=contract,
                    category=category,
                    cached=cached,
                ),
            )
            return newer + older
        return tuple(document(raw) for raw in found or [])

    async def fetch(self, person: str, document_id: str) -> Pdf:
        """The PDF of a document of `person` (retried, never cached: it can be 5 MB)."""
        if not valid("editique.person", person) or not valid("editique.document", document_id):
            raise NotFound("Ce document")

        async def attempt(budget: float) -> Pdf | None:
            try:
                answer = await self._call(
                    "RecupererDocument",
                    [("idDocument", document_id), ("idPersonne", person)],
                    budget,
                )
            except Fault as fault:
                if fault.code == "DOC_INCONNU":
                    return None
                raise BackendRejected(BACKEND) from None

            def value(tag: str) -> str:
                found = answer.find(q(tag))
                return (found.text or "") if found is not None else ""

            return Pdf(base64.b64decode(value("contenu")), value("nomFichier"), value("typeMime"))

        pdf = await self.transport.read(None, 0, attempt, attempt_timeout_s=FETCH_TIMEOUT_S)
        if pdf is None:
            raise NotFound("Ce document")
        return pdf


GENERATE_TIMEOUT_S = 2.5  # GenererAttestation takes 1–2 s in production


class AttestationImpossible(Exception):
    """The éditique refuses to produce it (contract not held, not active, wrong family)."""


async def generate_attestation(
    editique: Editique, person: str, contract: str, kind: DocumentType
) -> Document:
    """ONE `GenererAttestation` (not idempotent: never retried). A timeout, a lost answer or
    INDISPONIBLE leave the outcome unknown (`BackendError`): find it with `search` since then."""

    async def attempt(budget: float) -> Document:
        try:
            answer = await editique._call(
                "GenererAttestation",
                [
                    ("idPersonne", person),
                    ("numContrat", contract),
                    ("typeAttestation", TYPE_CODES[kind]),
                ],
                budget,
            )
        except Fault as fault:
            if fault.code in ("ATTESTATION_IMPOSSIBLE", "PERSONNE_INCONNUE"):
                raise AttestationImpossible(fault.code) from None
            raise BackendRejected(BACKEND) from None
        found = answer.find(q("document"))
        if found is None:
            raise BackendUnavailable(BACKEND)
        return document({child.tag.rsplit("}", 1)[-1]: child.text for child in found})

    return await editique.transport.guard.once(attempt, GENERATE_TIMEOUT_S)


async def forget_searches(
    editique: Editique, person: str, starts: list[date], until: date, contracts: list[str | None]
) -> None:
    """Drop the cached searches a new document changes (each period start × contract filter ×
    block filter the gateway asks for)."""
    keys = []
    for since in starts:
        for contract in contracts:
            for bloc in (None, "CONTRAT"):
                fields = [
                    ("idPersonne", person),
                    ("dateDebut", since.isoformat()),
                    ("dateFin", until.isoformat()),
                    ("numContrat", contract),
                    ("bloc", bloc),
                ]
                keys.append(
                    "RechercherDocuments "
                    + "&".join(f"{k}={v}" for k, v in fields if v is not None)
                )
    await editique.transport.forget(*keys)


async def find_attestations(
    editique: Editique, person: str, contract: str, kind: DocumentType, since: date
) -> tuple[Document, ...]:
    """Attestations of `kind` for `contract` emitted on or after `since` (Paris date), newest
    first: the reconciliation of an unanswered `GenererAttestation`. Never cached."""
    fields: list[tuple[str, str | None]] = [
        ("idPersonne", person),
        ("dateDebut", since.isoformat()),
        ("typeDocument", TYPE_CODES[kind]),
        ("numContrat", contract),
    ]

    async def attempt(budget: float) -> tuple[Document, ...]:
        try:
            answer = await editique._call("RechercherDocuments", fields, budget)
        except Fault:
            raise BackendRejected(BACKEND) from None
        return tuple(
            document({child.tag.rsplit("}", 1)[-1]: child.text for child in element})
            for element in answer.findall(q("document"))
        )

    return await editique.transport.read(None, 0, attempt)
