"""Éditique adapter: SOAP 1.1 with a WS-Security UsernameToken (`contracts/legacy/editique.*`).

Envelopes are built as text with every value escaped and parsed back with defusedxml. Faults are
mapped by `codeErreur`: only INDISPONIBLE is transient; PERSONNE_INCONNUE means "no documents";
DOC_INCONNU is a not-found. A search that matches more than 500 documents is split in two halves
of its period until each half fits.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml import ElementTree

from ..domain.records import Document
from ..domain.values import DocumentCategory, DocumentType
from ..errors import BackendRejected, BackendUnavailable, NotFound
from .transport import Transport

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


def document(element: Element) -> Document:
    def value(tag: str) -> str | None:
        found = element.find(q(tag))
        return found.text if found is not None else None

    return Document(
        id=value("idDocument") or "",
        type=TYPES[value("typeDocument") or ""],
        title=value("libelle") or "",
        issued_at=datetime.fromisoformat(value("dateEmission") or ""),
        contract=value("numContrat"),
        owner=value("idPersonne") or "",
        size_bytes=int(value("tailleOctets") or 0),
        category=BLOCS[value("bloc") or ""],
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

    async def _call(self, operation: str, fields: list[tuple[str, str | None]]) -> Element:
        payload = "".join(f"<ed:{k}>{escape(v)}</ed:{k}>" for k, v in fields if v is not None)
        envelope = (
            f'<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="{SOAP}" xmlns:ed="{ED}">'
            f"{self.security}<soap:Body><ed:{operation}>{payload}</ed:{operation}></soap:Body></soap:Envelope>"
        )
        response = await self.transport.send(
            "POST",
            "/editique/ws",
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
            raise Fault(code.text if code is not None and code.text else "INDISPONIBLE")
        return answer

    async def _checked(
        self, operation: str, fields: list[tuple[str, str | None]]
    ) -> Element | None:
        """The answer, None for PERSONNE_INCONNUE / DOC_INCONNU, a BackendError otherwise."""
        try:
            return await self._call(operation, fields)
        except Fault as fault:
            if fault.code in ("PERSONNE_INCONNUE", "DOC_INCONNU"):
                return None
            if fault.code == "INDISPONIBLE":
                raise BackendUnavailable(BACKEND) from None
            raise BackendRejected(BACKEND) from None

    async def search(
        self,
        person: str,
        *,
        since: date | None = None,
        until: date | None = None,
        type: DocumentType | None = None,
        contract: str | None = None,
        category: DocumentCategory | None = None,
    ) -> tuple[Document, ...]:
        """Documents of `person`, newest first; an unknown person has none."""
        fields: list[tuple[str, str | None]] = [
            ("idPersonne", person),
            ("dateDebut", since.isoformat() if since else None),
            ("dateFin", until.isoformat() if until else None),
            ("typeDocument", TYPE_CODES[type] if type else None),
            ("numContrat", contract),
            ("bloc", BLOC_CODES[category] if category else None),
        ]
        try:
            answer = await self._call("RechercherDocuments", fields)
        except Fault as fault:
            if fault.code == "PERSONNE_INCONNUE":
                return ()
            if fault.code == "REQUETE_INVALIDE":  # more than 500: narrow the period
                low, high = since or EARLIEST, until or date.today() + timedelta(days=1)
                if low < high:
                    middle = low + (high - low) / 2
                    newer, older = await asyncio.gather(
                        self.search(
                            person,
                            since=middle + timedelta(days=1),
                            until=high,
                            type=type,
                            contract=contract,
                            category=category,
                        ),
                        self.search(
                            person,
                            since=low,
                            until=middle,
                            type=type,
                            contract=contract,
                            category=category,
                        ),
                    )
                    return newer + older
            if fault.code == "INDISPONIBLE":
                raise BackendUnavailable(BACKEND) from None
            raise BackendRejected(BACKEND) from None
        return tuple(document(element) for element in answer.findall(q("document")))

    async def fetch(self, person: str, document_id: str) -> Pdf:
        answer = await self._checked(
            "RecupererDocument", [("idDocument", document_id), ("idPersonne", person)]
        )
        if answer is None:
            raise NotFound("Ce document")

        def value(tag: str) -> Any:
            found = answer.find(q(tag))
            return found.text if found is not None else ""

        return Pdf(base64.b64decode(value("contenu")), value("nomFichier"), value("typeMime"))
