"""Property-based tests of the adapters' mappings: any payload the legacy documents allow.

Payloads are generated from the documents themselves (schemathesis's JSON Schema strategies over
the OpenAPI component schemas; the WSDL's XSD for éditique's `DocumentInfo`), not from our fixtures. For each
one the adapter maps without raising, keeps amounts exact (Decimal from the legacy text or cents),
never lets a full IBAN through, and knows every code the documents list. Examples are bounded and
derandomized so CI is deterministic and quick.
"""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

import pytest
from defusedxml import ElementTree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation.jsonschema.builder import build as schema_strategy

from gateway.adapters import claims, editique, policy_admin
from gateway.adapters.crm import client as crm
from gateway.domain.records import ContractDetail
from mocks.contracts import openapi, to_json_schema
from tests.support.contract import ED, xsd

BOUNDED = settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FR_DATE = "^(0[1-9]|[12][0-9]|3[01])/(0[1-9]|1[0-2])/[0-9]{4}$"
DATE8 = "^([0-9]{8})?$"
DAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))
OFFSETS = st.integers(-14 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))
MOMENTS = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31))
XSD_DATETIMES = st.builds(  # xs:dateTime with an offset (`Z` for UTC), as éditique sends them
    lambda m, tz: m.replace(tzinfo=tz).isoformat().replace("+00:00", "Z"), MOMENTS, OFFSETS
)
FORMATS = {
    "date": DAYS.map(date.isoformat),
    # RFC 3339 `date-time`: `T`/`Z` may also be written `t`/`z`
    "date-time": st.builds(
        lambda text, low: text.lower() if low else text, XSD_DATETIMES, st.booleans()
    ),
    # the documents say these are calendar dates; their patterns alone allow 31/02
    "fr-date": DAYS.map(lambda d: d.strftime("%d/%m/%Y")),
    "date8": st.one_of(st.just(""), st.just("00000000"), DAYS.map(lambda d: d.strftime("%Y%m%d"))),
}


def calendar_dates(node: Any) -> Any:
    """The document's schema with its date patterns read as the calendar dates they describe."""
    if isinstance(node, list):
        return [calendar_dates(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: calendar_dates(v) for k, v in node.items()}
    if out.get("pattern") == FR_DATE:
        out.pop("pattern")
        out["format"] = "fr-date"
    elif out.get("pattern") == DATE8:
        out.pop("pattern")
        out["format"] = "date8"
    return out


def payloads(system: str, name: str) -> st.SearchStrategy[dict[str, Any]]:
    schemas = copy.deepcopy(openapi(system)["components"]["schemas"])
    definitions = {k: calendar_dates(to_json_schema(v)) for k, v in schemas.items()}
    schema = {"$ref": f"#/definitions/{name}", "definitions": definitions}
    found: st.SearchStrategy[dict[str, Any]] = schema_strategy(schema, draft=7, formats=FORMATS)
    return found


def strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in strings(v)]
    return [node] if isinstance(node, str) else []


def euros(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


# ---- claims ----------------------------------------------------------------------------------------
@BOUNDED
@given(payloads("claims", "DossierDetail"))
def test_any_claims_dossier_maps(raw: dict[str, Any]) -> None:
    found = claims.dossier(raw)
    assert found.number == raw["numDossier"] and found.guarantee.label
    if raw["prestationBase"] is not None:
        assert found.base_benefit is not None
        assert found.base_benefit.monthly_amount.amount == euros(
            raw["prestationBase"]["prestationBaseMensuelle"]
        )


@BOUNDED
@given(payloads("claims", "ReglementDetail"))
def test_any_claims_reglement_maps_with_exact_amounts(raw: dict[str, Any]) -> None:
    found = claims.reglement(raw)
    assert (found.gross.amount, found.net.amount) == (
        euros(raw["montantBrut"]),
        euros(raw["montantNet"]),
    )
    assert [line.amount.amount for line in found.breakdown] == [
        euros(line["montant"]) for line in raw["lignesDecompte"]
    ]
    if raw["destinataire"]["type"] == "ENT":
        assert found.recipient_name == raw["destinataire"]["libelle"]


@BOUNDED
@given(payloads("claims", "ReglementResume"))
def test_any_listed_claims_reglement_maps(raw: dict[str, Any]) -> None:
    found = claims.reglement(raw)
    assert found.detailed is False and found.net.amount == euros(raw["montantNet"])


@BOUNDED
@given(payloads("claims", "Remboursement"), st.from_regex(r"\AA[0-9]{7}\Z"))
def test_any_health_reimbursement_maps_with_exact_amounts(raw: dict[str, Any], who: str) -> None:
    found = claims.remboursement(raw, who)
    assert (
        found.expense.amount if found.expense else None,
        found.social_security.amount if found.social_security else None,
        found.net.amount,
        found.out_of_pocket.amount if found.out_of_pocket else None,
    ) == tuple(
        euros(raw[k])
        for k in ("montantDepense", "montantSecu", "montantComplementaire", "resteACharge")
    )


# ---- policy admin ----------------------------------------------------------------------------------
def never_a_full_iban(raw: dict[str, Any], detail: ContractDetail) -> None:
    shown = repr(detail)
    for key in ("IBAN_PRLV", "IBAN_RMBT"):
        if raw[key] is None:
            continue
        iban = raw[key]["IBAN"]
        hidden = iban.replace(" ", "")[4:-3]
        others = [s for s in strings(raw) if s != iban]
        if not any(hidden in s for s in others):  # the same digits given elsewhere may show
            assert hidden not in shown.replace(" ", "")


@BOUNDED
@given(payloads("policy-admin", "ContratDetail"))
def test_any_contract_detail_maps_and_never_holds_a_full_iban(raw: dict[str, Any]) -> None:
    detail = policy_admin.detail(raw)
    never_a_full_iban(raw, detail)
    if raw["COTISATION"] is not None:
        assert detail.premium is not None
        assert detail.premium.amount.amount == Decimal(raw["COTISATION"]["MT_COTIS"]) / 100
    if raw["ENCOURS"] is not None:
        assert detail.savings is not None
        assert detail.savings.value.amount == Decimal(raw["ENCOURS"]["MT_ENCOURS"]) / 100


@BOUNDED
@given(payloads("policy-admin", "ContratResume"))
def test_any_listed_contract_maps(raw: dict[str, Any]) -> None:
    found = policy_admin.summary(raw, raw.get("ROLE"))
    assert found.number == raw["NUM_CTR"] and found.status.label


@BOUNDED
@given(payloads("policy-admin", "Affilie"))
def test_any_affiliate_maps(raw: dict[str, Any]) -> None:
    found = policy_admin.affiliate(raw)
    assert found.membership == raw["NUM_ADH"] and found.status.label


# ---- CRM -------------------------------------------------------------------------------------------
@BOUNDED
@given(payloads("crm", "Client"))
def test_any_crm_client_maps(raw: dict[str, Any]) -> None:
    found = crm.customer(raw)
    assert found.client_id == raw["clientId"]
    if raw["type"] == "PM":
        assert found.display_name == (raw["raisonSociale"] or raw["nom"])
    else:
        assert found.display_name == (
            f"{raw['prenom']} {raw['nom']}" if raw["prenom"] else raw["nom"]
        )


@BOUNDED
@given(payloads("crm", "Demande"))
def test_any_crm_demande_maps(raw: dict[str, Any]) -> None:
    found = crm.demande(raw)
    assert found.id == raw["id"] and len(found.history) == len(raw["historique"])


@BOUNDED
@given(payloads("crm", "Interlocuteur"))
def test_any_crm_intermediary_maps(raw: dict[str, Any]) -> None:
    found = crm.intermediary_of(raw)
    assert found.id == raw["id"] and found.phone == raw["telephone"]


# ---- éditique (the WSDL's XSD) ---------------------------------------------------------------------
def xsd_text(simple: Any) -> st.SearchStrategy[str]:
    """Values of an XSD simple type: its enumeration, its pattern, or its base type."""
    if simple.enumeration:
        return st.sampled_from([str(v) for v in simple.enumeration])
    name = simple.local_name
    if name == "dateTime":
        return XSD_DATETIMES
    if name == "long":
        return st.integers(-(2**63), 2**63 - 1).map(str)
    if simple.patterns:
        return st.from_regex(rf"\A(?:{simple.patterns.regexps[0]})\Z")
    return st.text(st.characters(blacklist_categories=["Cs", "Cc"]), max_size=80)


@st.composite
def document_infos(draw: st.DrawFn) -> str:
    """One `DocumentInfo` element as éditique may send it in a `RechercherDocumentsResponse`."""
    kind = xsd().types["DocumentInfo"]
    parts = []
    for element in kind.content.iter_elements():
        if element.min_occurs == 0 and draw(st.booleans()):
            continue
        value = draw(xsd_text(element.type))
        parts.append(f"<ed:{element.local_name}>{escape(value)}</ed:{element.local_name}>")
    return "".join(parts)


@BOUNDED
@given(document_infos())
def test_any_editique_document_maps(info: str) -> None:
    body = (
        f'<ed:RechercherDocumentsResponse xmlns:ed="{ED}"><ed:document>{info}</ed:document>'
        "</ed:RechercherDocumentsResponse>"
    )
    xsd().validate(body)  # what we generated is what the XSD allows
    answer = ElementTree.fromstring(body)
    [raw] = editique.documents_in(answer)
    found = editique.document(raw)
    assert found.id == raw["idDocument"] and found.issued_at.tzinfo is not None
    assert found.size_bytes == int(raw["tailleOctets"] or 0)


# ---- every code the documents list -----------------------------------------------------------------
def enum(system: str, name: str) -> set[str]:
    return {v for v in openapi(system)["components"]["schemas"][name]["enum"] if v is not None}


def client_enum(prop: str) -> set[str]:
    schema = openapi("crm")["components"]["schemas"]["Client"]["properties"][prop]
    return {v for v in schema["enum"] if v is not None}


def xsd_enum(name: str) -> set[str]:
    return {str(v) for v in xsd().types[name].enumeration}


@pytest.mark.parametrize(
    ("mapped", "listed"),
    [
        (claims.GUARANTEES, enum("claims", "CodeGarantie")),
        (claims.STATUSES, enum("claims", "StatutDossier")),
        (claims.METHODS, enum("claims", "ModePaiement")),
        (claims.RECIPIENTS, enum("claims", "TypeDestinataire")),
        (claims.CARE, enum("claims", "LienBeneficiaire")),
        (claims.PAID_TO, enum("claims", "PayeA")),
        (policy_admin.FAMILIES, enum("policy-admin", "CodeFamille")),
        (policy_admin.STATUSES, enum("policy-admin", "CodeStatut")),
        (policy_admin.AFFILIATE_STATUSES, enum("policy-admin", "CodeStatut")),
        (policy_admin.ROLES, enum("policy-admin", "CodeRole")),
        (policy_admin.FREQUENCIES, enum("policy-admin", "Periodicite")),
        (policy_admin.RELATIONSHIPS, enum("policy-admin", "LienAyantDroit")),
        (crm.STATUSES, enum("crm", "StatutDemande")),
        (crm.CATEGORIES, enum("crm", "Categorie")),
        (crm.CIVILITIES, client_enum("civilite")),
        (crm.SCHEMES, client_enum("regimeObligatoire")),
        (editique.TYPES, xsd_enum("TypeDocument")),
        (editique.BLOCS, xsd_enum("Bloc")),
    ],
)
def test_every_code_a_document_lists_is_mapped(mapped: dict[str, Any], listed: set[str]) -> None:
    assert set(mapped) == listed
    assert all(value.label for value in mapped.values())
