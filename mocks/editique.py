"""Mock of the éditique (`contracts/legacy/editique.wsdl`, `editique.md`): SOAP 1.1, doc/literal.

Checks in the documented order: envelope (well-formed, SOAP 1.1) → WS-Security UsernameToken →
operation and payload against the XSD sequences → business rules. Documents are real PDFs made
with fpdf2 on first use (title, emission date, addressee), cached; `tailleOctets` is their size.
"""

from __future__ import annotations

import base64
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar
from xml.sax.saxutils import escape

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from fpdf import FPDF
from starlette.requests import Request
from starlette.responses import Response

from .base import PARIS, Match, MockSystem, Route
from .contracts import FixtureError, load_fixture, require, wsdl_text

PATH = "/editique/ws"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
ED = "urn:assureur:editique:v1"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = "#PasswordText"
MAX_RESULTS = 500
TYPES = ("LSIT", "LINF", "DECP", "ATTA", "CTPY", "AECH", "CREP")
BLOCS = ("CONTRAT", "PRESTATION", "COURRIER")
BLOC_OF = {"DECP": "PRESTATION", "CREP": "COURRIER"}
ATTESTATION_LABELS = {"ATTA": "Attestation d'affiliation", "CTPY": "Carte de tiers payant"}


class Fault(Exception):
    def __init__(
        self, code: str, message: str, faultcode: str = "soap:Client", status: int = 500
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.faultcode, self.status = code, message, faultcode, status


def invalid(message: str) -> Fault:
    return Fault("REQUETE_INVALIDE", f"Requête invalide : {message}")


@dataclass(frozen=True)
class Field:
    name: str
    required: bool
    check: Any  # a compiled pattern, a tuple of allowed values, or the `date` type


ID_PERSONNE = re.compile(r"EDQ-[0-9]{1,12}")
ID_DOCUMENT = re.compile(r"DOC[0-9]{14}")
NUM_CONTRAT = re.compile(r"[A-Z0-9]{1,20}")
OPERATIONS: dict[str, list[Field]] = {
    "RechercherDocuments": [
        Field("idPersonne", True, ID_PERSONNE),
        Field("dateDebut", False, date),
        Field("dateFin", False, date),
        Field("typeDocument", False, TYPES),
        Field("numContrat", False, NUM_CONTRAT),
        Field("bloc", False, BLOCS),
    ],
    "RecupererDocument": [
        Field("idDocument", True, ID_DOCUMENT),
        Field("idPersonne", True, ID_PERSONNE),
    ],
    "GenererAttestation": [
        Field("idPersonne", True, ID_PERSONNE),
        Field("numContrat", True, NUM_CONTRAT),
        Field("typeAttestation", True, ("ATTA", "CTPY")),
    ],
}


def envelope(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<soap:Envelope xmlns:soap="{SOAP11}" xmlns:ed="{ED}">'
        f"<soap:Body>{body}</soap:Body></soap:Envelope>"
    )


def xml_response(text: str, status: int = 200) -> Response:
    return Response(text.encode(), status_code=status, media_type="text/xml; charset=utf-8")


def fault_response(fault: Fault) -> Response:
    message = escape(fault.message)
    detail = (
        f"<detail><ed:erreur><ed:codeErreur>{fault.code}</ed:codeErreur>"
        f"<ed:message>{message}</ed:message></ed:erreur></detail>"
        if fault.code
        else ""
    )
    body = (
        f"<soap:Fault><faultcode>{fault.faultcode}</faultcode>"
        f'<faultstring xml:lang="fr">{message}</faultstring>{detail}</soap:Fault>'
    )
    return xml_response(envelope(body), fault.status)


def unavailable(status: int = 500) -> Response:
    return fault_response(
        Fault("INDISPONIBLE", "Service éditique momentanément indisponible", "soap:Server", status)
    )


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def paris_day(moment: str) -> date:
    return datetime.fromisoformat(moment).astimezone(PARIS).date()


@lru_cache(maxsize=4096)
def render_pdf(doc_id: str, title: str, issued: str, addressee: str, contract: str | None) -> bytes:
    """A real one-page PDF; deterministic for the same document."""
    moment = datetime.fromisoformat(issued)
    pdf = FPDF(format="A4")
    pdf.set_creation_date(moment)
    pdf.set_title(latin1(title))
    pdf.set_author("Éditique")
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.multi_cell(0, 10, latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=12)
    pdf.cell(
        0, 8, latin1(f"Émis le {moment.astimezone(PARIS):%d/%m/%Y}"), new_x="LMARGIN", new_y="NEXT"
    )
    pdf.cell(0, 8, latin1(addressee), new_x="LMARGIN", new_y="NEXT")
    if contract:
        pdf.cell(0, 8, f"Contrat {contract}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, f"Référence {doc_id}".encode("latin-1", "replace").decode("latin-1"))
    return bytes(pdf.output())


def latin1(text: str) -> str:
    return text.replace("’", "'").replace("œ", "oe").encode("latin-1", "replace").decode("latin-1")


class Editique(MockSystem):
    name = "editique"
    base_path = PATH
    routes: ClassVar[list[Route]] = [Route("POST", PATH, "soap")]

    def __init__(self, fixtures: Path | None = None) -> None:
        self.fixtures = fixtures
        super().__init__()

    def load(self) -> None:
        data = load_fixture("editique", self.fixtures, self.validate)
        self.persons: dict[str, dict[str, Any]] = {p["idPersonne"]: p for p in data["personnes"]}
        self.documents: list[dict[str, Any]] = list(data["documents"])
        self.seq = max((int(d["idDocument"][-6:]) for d in self.documents), default=0)

    @classmethod
    def validate(cls, data: dict[str, Any]) -> None:
        require("editique.json", data, "personnes", "documents")
        persons = {p["idPersonne"] for p in data["personnes"]}
        for doc in data["documents"]:
            cls._check_document(doc)
            if doc["idPersonne"] not in persons:
                raise FixtureError(
                    f"editique.json documents[{doc['idDocument']}] field idPersonne: unknown person"
                )

    @staticmethod
    def _check_document(doc: dict[str, Any]) -> None:
        where = f"editique.json documents[{doc.get('idDocument')}]"
        checks = {
            "idDocument": lambda v: isinstance(v, str) and ID_DOCUMENT.fullmatch(v),
            "typeDocument": lambda v: v in TYPES,
            "libelle": lambda v: isinstance(v, str) and v,
            "dateEmission": lambda v: (
                isinstance(v, str) and datetime.fromisoformat(v).tzinfo is not None
            ),
            "numContrat": lambda v: v is None or (isinstance(v, str) and NUM_CONTRAT.fullmatch(v)),
            "idPersonne": lambda v: isinstance(v, str) and ID_PERSONNE.fullmatch(v),
            "bloc": lambda v: v == BLOC_OF.get(doc.get("typeDocument", ""), "CONTRAT"),
        }
        for key, valid in checks.items():
            try:
                ok = valid(doc.get(key))
            except ValueError:
                ok = False
            if not ok:
                raise FixtureError(f"{where} field {key}: invalid value {doc.get(key)!r}")

    # ---- contract document and routing -------------------------------------------------------
    async def contract_document(self, request: Request) -> Response | None:
        if request.method == "GET" and request.url.path == PATH and "wsdl" in request.query_params:
            location = f"{request.url.scheme}://{request.url.netloc}{PATH}"
            text = re.sub(
                r'(<soap:address location=")[^"]*(")', rf"\g<1>{location}\g<2>", wsdl_text()
            )
            return xml_response(text)
        return None

    async def identify(self, request: Request) -> tuple[str, str | None, Match]:
        if request.method != "POST" or request.url.path != PATH:
            return (
                f"{request.method} (unmatched)",
                None,
                Match(None, {}, request.url.path == PATH, ["POST"]),
            )
        operation = None
        try:
            root = SafeET.fromstring(await request.body())
            body = next((c for c in root if local(c.tag) == "Body"), None)
            first = next(iter(body), None) if body is not None else None
            operation = local(first.tag) if first is not None else None
        except (ET.ParseError, DefusedXmlException, ValueError):
            pass
        match = Match(self.routes[0], {}, True, [])
        if operation in OPERATIONS:
            return f"POST {PATH} {operation}", operation, match
        return "POST (unmatched)", operation, match

    def injected_error(self, status: int) -> Response:
        return unavailable(status) if status in (500, 503) else super().injected_error(status)

    async def quirk(self, request: Request, match: Match) -> Response:
        if match.route is not None:
            try:
                operation, payload = self.parse(await request.body(), request.headers)
                if operation == "GenererAttestation":
                    self.generate(payload)  # the work is done, only the answer is lost
            except Fault:
                pass
        return unavailable()

    async def process(self, request: Request, match: Match) -> Response:
        if match.route is None:
            return Response(status_code=405 if match.path_known else 404)
        try:
            operation, payload = self.parse(await request.body(), request.headers)
            handler = {
                "RechercherDocuments": self.search,
                "RecupererDocument": self.fetch,
                "GenererAttestation": self.generate,
            }[operation]
            return xml_response(envelope(handler(payload)))
        except Fault as fault:
            return fault_response(fault)

    # ---- parsing -------------------------------------------------------------------------------
    def parse(self, raw: bytes, headers: Any) -> tuple[str, dict[str, Any]]:
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "text/xml":
            raise invalid("Content-Type text/xml attendu")
        try:
            root = SafeET.fromstring(raw)
        except (ET.ParseError, DefusedXmlException, ValueError):
            raise invalid("XML mal formé") from None
        if root.tag != f"{{{SOAP11}}}Envelope":
            raise Fault(
                "",
                "Version SOAP non supportée : enveloppe SOAP 1.1 attendue",
                "soap:VersionMismatch",
            )
        header = root.find(f"{{{SOAP11}}}Header")
        body = root.find(f"{{{SOAP11}}}Body")
        self.authenticate(header)
        if body is None or len(body) != 1:
            raise invalid("un élément attendu dans soap:Body")
        element = body[0]
        operation = local(element.tag)
        if namespace(element.tag) != ED or operation not in OPERATIONS:
            raise invalid(f"opération inconnue {operation}")
        action = headers.get("soapaction", "").strip().strip('"')
        if action and action != f"{ED}/{operation}":
            raise invalid("SOAPAction ne correspond pas à l'opération")
        return operation, self.payload(element, OPERATIONS[operation])

    def authenticate(self, header: ET.Element | None) -> None:
        refused = Fault(
            "AUTHENTIFICATION", "Authentification refusée : UsernameToken absent ou invalide"
        )
        token = (
            header.find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
            if header is not None
            else None
        )
        if token is None:
            raise refused
        user = token.find(f"{{{WSSE}}}Username")
        password = token.find(f"{{{WSSE}}}Password")
        if user is None or password is None:
            raise refused
        kind = password.get("Type")
        if kind is not None and not kind.endswith(PASSWORD_TEXT):
            raise refused
        expected = (
            os.environ.get("EDITIQUE_USER", "gateway"),
            os.environ.get("EDITIQUE_PASSWORD", "dev-editique-password"),
        )
        if ((user.text or "").strip(), password.text or "") != expected:
            raise refused

    @staticmethod
    def payload(element: ET.Element, fields: list[Field]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        position = 0
        for child in element:
            if namespace(child.tag) != ED or len(child):
                raise invalid(f"élément inattendu {local(child.tag)}")
            name = local(child.tag)
            while position < len(fields) and fields[position].name != name:
                if fields[position].required:
                    raise invalid(f"élément {fields[position].name} manquant")
                position += 1
            if position == len(fields):
                raise invalid(f"élément inattendu {name}")
            values[name] = Editique.value(fields[position], child.text or "")
            position += 1
        for field in fields[position:]:
            if field.required:
                raise invalid(f"élément {field.name} manquant")
        return values

    @staticmethod
    def value(field: Field, text: str) -> Any:
        if field.check is date:
            try:
                if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text.strip()):
                    raise ValueError(text)
                return date.fromisoformat(text.strip())
            except ValueError:
                raise invalid(f"{field.name} n'est pas une date") from None
        if isinstance(field.check, tuple):
            if text not in field.check:
                raise invalid(f"valeur inconnue pour {field.name}")
        elif not field.check.fullmatch(text):
            raise invalid(f"format de {field.name} invalide")
        return text

    # ---- operations ----------------------------------------------------------------------------
    def search(self, query: dict[str, Any]) -> str:
        person = query["idPersonne"]
        if person not in self.persons:
            raise Fault("PERSONNE_INCONNUE", f"Personne inconnue : {person}")
        low, high = query.get("dateDebut"), query.get("dateFin")
        if low and high and low > high:
            raise invalid("dateDebut postérieure à dateFin")
        found = [
            d
            for d in self.documents
            if d["idPersonne"] == person
            and (low is None or paris_day(d["dateEmission"]) >= low)
            and (high is None or paris_day(d["dateEmission"]) <= high)
            and all(
                d.get(k) == query[k] for k in ("typeDocument", "numContrat", "bloc") if k in query
            )
        ]
        if len(found) > MAX_RESULTS:
            raise invalid(f"plus de {MAX_RESULTS} documents, précisez la période")
        found.sort(
            key=lambda d: (datetime.fromisoformat(d["dateEmission"]), d["idDocument"]), reverse=True
        )
        items = "".join(f"<ed:document>{self.info(d)}</ed:document>" for d in found)
        return f"<ed:RechercherDocumentsResponse>{items}</ed:RechercherDocumentsResponse>"

    def pdf(self, doc: dict[str, Any]) -> bytes:
        person = self.persons[doc["idPersonne"]]
        return render_pdf(
            doc["idDocument"],
            doc["libelle"],
            doc["dateEmission"],
            person["nom"],
            doc.get("numContrat"),
        )

    def info(self, doc: dict[str, Any]) -> str:
        contract = (
            f"<ed:numContrat>{doc['numContrat']}</ed:numContrat>" if doc.get("numContrat") else ""
        )
        return (
            f"<ed:idDocument>{doc['idDocument']}</ed:idDocument>"
            f"<ed:typeDocument>{doc['typeDocument']}</ed:typeDocument>"
            f"<ed:libelle>{escape(doc['libelle'])}</ed:libelle>"
            f"<ed:dateEmission>{doc['dateEmission']}</ed:dateEmission>{contract}"
            f"<ed:idPersonne>{doc['idPersonne']}</ed:idPersonne>"
            f"<ed:tailleOctets>{len(self.pdf(doc))}</ed:tailleOctets>"
            f"<ed:format>PDF</ed:format><ed:bloc>{doc['bloc']}</ed:bloc>"
        )

    def fetch(self, query: dict[str, Any]) -> str:
        doc = next((d for d in self.documents if d["idDocument"] == query["idDocument"]), None)
        if doc is None or doc["idPersonne"] != query["idPersonne"]:
            raise Fault("DOC_INCONNU", f"Document inconnu : {query['idDocument']}")
        content = self.pdf(doc)
        return (
            "<ed:RecupererDocumentResponse>"
            f"<ed:contenu>{base64.b64encode(content).decode()}</ed:contenu>"
            "<ed:typeMime>application/pdf</ed:typeMime>"
            f"<ed:nomFichier>{doc['idDocument']}.pdf</ed:nomFichier>"
            f"<ed:tailleOctets>{len(content)}</ed:tailleOctets>"
            "</ed:RecupererDocumentResponse>"
        )

    def generate(self, query: dict[str, Any]) -> str:
        person_id, number, kind = query["idPersonne"], query["numContrat"], query["typeAttestation"]
        person = self.persons.get(person_id)
        if person is None:
            raise Fault("PERSONNE_INCONNUE", f"Personne inconnue : {person_id}")
        held = next((c for c in person["contrats"] if c["numContrat"] == number), None)
        if held is None:
            raise Fault(
                "ATTESTATION_IMPOSSIBLE",
                f"Attestation impossible : le contrat {number} n'est pas détenu par {person_id}",
            )
        if held["statut"] != "A":
            raise Fault(
                "ATTESTATION_IMPOSSIBLE",
                f"Attestation impossible : le contrat {number} n'est pas actif",
            )
        allowed = ("SAN",) if kind == "CTPY" else ("SAN", "PRV")
        if held["famille"] not in allowed:
            what = (
                "une carte de tiers payant" if kind == "CTPY" else "une attestation d'affiliation"
            )
            raise Fault(
                "ATTESTATION_IMPOSSIBLE",
                f"Attestation impossible : le contrat {number} n'ouvre pas droit à {what}",
            )
        now = self.clock.now().astimezone(PARIS).replace(microsecond=0)
        self.seq += 1
        doc = {
            "idDocument": f"DOC{now:%Y%m%d}{self.seq % 1_000_000:06d}",
            "typeDocument": kind,
            "libelle": ATTESTATION_LABELS[kind],
            "dateEmission": now.isoformat(),
            "numContrat": number,
            "idPersonne": person_id,
            "bloc": "CONTRAT",
        }
        self.documents.append(doc)
        document = f"<ed:document>{self.info(doc)}</ed:document>"
        return f"<ed:GenererAttestationResponse>{document}</ed:GenererAttestationResponse>"
