"""Every frontend operation of ../shared/operations, run for the personas it fits, on the default
fixture world and on other worlds built from a seed (`tests/support/world.py`). Every expected
value is derived from the world's own files: no identifier, name or amount is copied from them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from babel.numbers import format_currency

from gateway.schema.ids import cursor, to_global
from mocks import MockSystem
from mocks.crm_rules import TYPES
from tests.support.gateway import Gateway, codes, cursors_signed_with, operation
from tests.support.world import World, fr_date

# What the legacy documents' codes mean in the graph, and the labels the portals show.
FAMILIES = {
    "SAN": ("HEALTH", "Santé"),
    "PRV": ("PROTECTION", "Prévoyance"),
    "EPA": ("SAVINGS", "Épargne"),
    "RET": ("RETIREMENT", "Retraite"),
    "IAR": ("PROPERTY_CASUALTY", "IARD"),
}
CONTRACT_STATUSES = {
    "A": ("ACTIVE", "Actif"),
    "R": ("TERMINATED", "Résilié"),
    "S": ("SUSPENDED", "Suspendu"),
    "E": ("PENDING", "En cours d'émission"),
}
AFFILIATE_STATUSES = {"A": ("ACTIVE", "Actif"), "R": ("LEFT", "Radié")}
ROLES = {"SOUS": "SUBSCRIBER", "AFF": "MEMBER", "ASS": "INSURED", "BEN": "DEPENDENT"}
FREQUENCIES = {"M": "MONTHLY", "T": "QUARTERLY", "S": "HALF_YEARLY", "A": "YEARLY"}
RELATIONSHIPS = {"CONJ": "SPOUSE", "ENF": "CHILD", "AUTRE": "OTHER"}
GUARANTEES = {
    "INC": ("INCAPACITY", "Incapacité"),
    "INV": ("INVALIDITY", "Invalidité"),
    "DC": ("DEATH", "Décès"),
    "RENTE_EDUC": ("EDUCATION_ANNUITY", "Rente éducation"),
}
DOSSIER_STATUSES = {"EC": ("OPEN", "En cours"), "CL": ("CLOSED", "Clos")}
DEMANDE_STATUSES = {
    "RECU": "RECEIVED",
    "EN_COURS": "IN_PROGRESS",
    "TRAITE": "DONE",
    "REJETE": "REJECTED",
    "CLOTURE": "CLOSED",
}
CIVILITIES = {"M": "MR", "MME": "MRS"}
SCHEMES = {
    "REGIME_GENERAL": "GENERAL",
    "REGIME_AGRICOLE": "AGRICULTURAL",
    "ALSACE_MOSELLE": "ALSACE_MOSELLE",
    "INDEPENDANTS": "SELF_EMPLOYED",
    "AUTRE": "OTHER",
}


@pytest.fixture
async def gateway(mocks: dict[str, MockSystem], world: World) -> AsyncIterator[Gateway]:
    from gateway.app import create_app
    from gateway.settings import Settings

    settings = Settings(today=world.today)
    app = create_app(settings, mocks=mocks)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield Gateway(client, settings, mocks, app)


def decimal(legacy: str) -> Decimal:
    return Decimal(legacy.replace(",", "."))


def euros(amount: Decimal) -> dict[str, str]:
    return {"amount": f"{amount:.2f}", "formatted": format_currency(amount, "EUR", locale="fr_FR")}


def cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)


def masked(iban: str) -> str:
    compact = iban.replace(" ", "")
    stars = compact[:4] + "*" * (len(compact) - 7) + compact[-3:]
    return " ".join(stars[i : i + 4] for i in range(0, len(stars), 4))


def day8(value: str) -> str | None:
    return None if value in ("", "00000000") else f"{value[:4]}-{value[4:6]}-{value[6:]}"


# ---- home page -------------------------------------------------------------------------------------
async def test_home_page_of_a_saver(gateway: Gateway, world: World) -> None:
    saver = world.saver
    body = await gateway.run("HomePage", as_=saver.client_id)
    assert "errors" not in body
    viewer = body["data"]["viewer"]
    client = saver.client
    assert (viewer["kind"], viewer["displayName"], viewer["contactDataRequired"]) == (
        "INDIVIDUAL",
        f"{client['prenom']} {client['nom']}",
        not (client["email"] and client["mobile"]),
    )
    assert [
        (c["number"], c["family"], c["familyLabel"], c["status"], c["statusLabel"])
        for c in viewer["contracts"]
    ] == [
        (c["NUM_CTR"], *FAMILIES[c["CD_FAM"]], *CONTRACT_STATUSES[c["CD_STATUT"]])
        for c, _ in world.held(saver)
    ]
    expected = world.demandes_of(saver.client_id)
    assert viewer["demandes"]["totalCount"] == len(expected)
    assert [e["node"]["type"]["code"] for e in viewer["demandes"]["edges"]] == [
        d["type"] for d in expected[:3]
    ]
    assert [e["node"]["title"] for e in viewer["documents"]["edges"]] == [
        d["libelle"] for d in world.documents_of(saver.edq, 12)[:3]
    ]
    assert viewer["reglements"]["edges"] == [] and not world.reglements_where(
        numAffilie=saver.claims_id or ""
    )


async def test_deferred_home_page_holds_the_home_page_in_parts_or_at_once(
    gateway: Gateway, world: World
) -> None:
    """live/HomePageDeferred: the same page as HomePage, whole for a JSON client, in parts (the
    documents and the payments last) for a multipart one."""
    from tests.support.incremental import Deferred

    for person in (world.saver, world.member, world.health_family, world.member_company):
        home = await gateway.run("HomePage", as_=person.client_id)
        at_once = await gateway.run("live/HomePageDeferred", as_=person.client_id)
        assert "errors" not in home and unsigned(at_once) == unsigned(home)
        parts = await Deferred(gateway.http).post(
            operation("live/HomePageDeferred"), gateway.token(person.client_id)
        )
        assert "documents" not in parts.bodies[0]["data"]["viewer"]
        assert unsigned(parts.merged()) == unsigned(home)


def unsigned(body: Any) -> Any:
    """Download links are signed per issue time: everything else compared."""
    if isinstance(body, dict):
        return {k: "<link>" if k == "downloadUrl" else unsigned(v) for k, v in body.items()}
    if isinstance(body, list):
        return [unsigned(v) for v in body]
    return body


async def test_home_page_shows_a_member_their_benefit_payments(
    gateway: Gateway, world: World
) -> None:
    member = world.member
    viewer = (await gateway.run("HomePage", as_=member.client_id))["data"]["viewer"]
    expected = world.reglements_where(numAffilie=member.claims_id or "")[:3]
    payments = [e["node"] for e in viewer["reglements"]["edges"]]
    assert [p["kind"] for p in payments] == ["BENEFIT"] * len(expected) and expected
    assert [(p["paidOn"], p["netAmount"]["amount"]) for p in payments] == [
        (fr_date(r["dateReglement"]).isoformat(), euros(decimal(r["montantNet"]))["amount"])
        for r in expected
    ]
    assert (
        payments[0]["netAmount"]["formatted"]
        == euros(decimal(expected[0]["montantNet"]))["formatted"]
    )


async def test_home_page_shows_a_family_its_health_reimbursements(
    gateway: Gateway, world: World
) -> None:
    family = world.health_family
    viewer = (await gateway.run("HomePage", as_=family.client_id))["data"]["viewer"]
    newest = world.remboursements_of(family.claims_id or "")[0]
    first = viewer["reglements"]["edges"][0]["node"]
    assert (first["kind"], first["paidOn"]) == (
        "HEALTH_REIMBURSEMENT",
        fr_date(newest["dateReglement"]).isoformat(),
    )
    assert Decimal(first["netAmount"]["amount"]) == decimal(newest["montantComplementaire"])


# ---- profile ---------------------------------------------------------------------------------------
async def test_profile_of_an_individual_and_of_a_company(gateway: Gateway, world: World) -> None:
    saver = world.saver
    client = saver.client
    me = (await gateway.run("Profile", as_=saver.client_id))["data"]["viewer"]
    assert (me["customerNumber"], me["email"], me["mobile"]) == (
        client["numeroAdherent"],
        client["email"],
        client["mobile"],
    )
    address = client["adresse"]
    assert me["address"] == {
        "lines": address["lignes"],
        "postalCode": address["codePostal"],
        "city": address["ville"],
        "country": address["pays"],
    }
    prefs = client["preferences"]
    assert me["preferences"] == {
        "paperless": prefs["dematerialisation"],
        "consents": {
            "groupOffers": prefs["consentements"]["offresGroupe"],
            "targetedCommunication": prefs["consentements"]["communicationCiblee"],
            "satisfactionSurveys": prefs["consentements"]["questionnaireSatisfaction"],
        },
    }
    agent = next(
        i for i in world.data("crm")["interlocuteurs"] if i["id"] == client["interlocuteurId"]
    )
    assert me["intermediary"] == {
        "name": agent["nom"],
        "agency": agent["agence"],
        "phone": agent["telephone"],
        "email": agent["email"],
    }
    assert (
        me["civility"],
        me["firstName"],
        me["lastName"],
        me["birthDate"],
        me["healthInsuranceScheme"],
    ) == (
        CIVILITIES[client["civilite"]],
        client["prenom"],
        client["nom"],
        client["dateNaissance"],
        SCHEMES.get(client["regimeObligatoire"] or ""),
    )
    company = world.member_company
    firm = (await gateway.run("Profile", as_=company.client_id))["data"]["viewer"]
    assert (firm["kind"], firm["name"], firm["siret"], firm["displayName"]) == (
        "COMPANY",
        company.client["raisonSociale"],
        company.client["siret"],
        company.client["raisonSociale"],
    )
    unreachable = world.unreachable
    nobody = (await gateway.run("Profile", as_=unreachable.client_id))["data"]["viewer"]
    assert (nobody["email"], nobody["mobile"], nobody["contactDataRequired"]) == (
        None,
        None,
        True,
    )
    assert nobody["displayName"] == unreachable.display_name


# ---- contract page ---------------------------------------------------------------------------------
async def test_contract_page_of_a_health_contract(gateway: Gateway, world: World) -> None:
    family = world.health_family
    raw, role = next((c, r) for c, r in world.held(family) if c["CD_FAM"] == "SAN")
    body = await gateway.run(
        "ContractPage", {"id": to_global("Contract", raw["NUM_CTR"])}, as_=family.client_id
    )
    assert "errors" not in body, body["errors"]
    contract = body["data"]["contract"]
    assert (
        contract["numberKind"],
        contract["role"],
        contract["collective"],
        contract["company"],
        contract["productName"],
        contract["statusLabel"],
    ) == (
        "CONTRACT",
        ROLES[role],
        False,
        None,
        raw["LIB_PRODUIT"].rstrip(),
        CONTRACT_STATUSES[raw["CD_STATUT"]][1],
    )
    premium = raw["COTISATION"]
    amount = cents(premium["MT_COTIS"])
    assert contract["premium"] == {
        "amount": {"currency": "EUR", **euros(amount)},
        "frequency": FREQUENCIES[premium["PERIODICITE"]],
        "debitDay": premium["JOUR_PRLV"],
    }
    debit = raw["IBAN_PRLV"]
    assert contract["bankAccounts"]["debit"] == {
        "holder": debit["TITULAIRE"].rstrip(),
        "maskedIban": masked(debit["IBAN"]),
    }
    assert debit["IBAN"][4:-3] not in str(body)
    # a contract's guarantee lines keep the label policy admin gives them
    assert [(g["code"], g["label"], g["level"]) for g in contract["guarantees"]] == [
        (g["CD_GAR"], g["LIB_GAR"].rstrip(), g["NIVEAU"].rstrip() or None) for g in raw["GARANTIES"]
    ]
    assert [
        (d["displayName"], d["relationship"], d["birthDate"]) for d in contract["dependents"]
    ] == [
        (f"{d['PRENOM']} {d['NOM']}", RELATIONSHIPS[d["LIEN"]], day8(d["DT_NAIS"]))
        for d in raw["AYANTS_DROIT"]
    ]
    assert contract["availableActions"] == [
        {"code": code, "label": TYPES[code]["libelle"]} for code in raw["ACTES"]
    ]
    titles = [e["node"]["title"] for e in contract["documents"]["edges"]]
    expected = [
        d["libelle"]
        for d in world.documents_of(family.edq, 24)
        if d.get("numContrat") == raw["NUM_CTR"]
    ][:5]
    assert titles == expected


async def test_contract_page_of_a_savings_contract_and_of_a_membership(
    gateway: Gateway, world: World
) -> None:
    saver = world.saver
    raw = next(c for c, _ in world.held(saver) if c["CD_FAM"] == "EPA")
    savings = (
        await gateway.run(
            "ContractPage", {"id": to_global("Contract", raw["NUM_CTR"])}, as_=saver.client_id
        )
    )["data"]["contract"]
    assert savings["savings"] == {
        "value": euros(cents(raw["ENCOURS"]["MT_ENCOURS"])),
        "valuationDate": day8(raw["ENCOURS"]["DT_VALO"]),
    }
    assert savings["beneficiaryClause"] == raw["BENEFICIAIRES"]["CLAUSE"].rstrip()
    member = world.member
    adhesion = next(c for c, r in world.held(member) if r == "AFF")
    body = await gateway.run(
        "ContractPage", {"id": to_global("Contract", adhesion["NUM_CTR"])}, as_=member.client_id
    )
    membership = body["data"]["contract"]
    assert (membership["numberKind"], membership["role"], membership["premium"]) == (
        "MEMBERSHIP",
        "MEMBER",
        None,
    )
    assert membership["company"] == {
        "name": adhesion["RAISON_SOC_ENT"].rstrip(),
        "contractNumber": adhesion["NUM_CTR_ENT"],
    }
    refund = adhesion["IBAN_RMBT"]
    if refund:
        assert membership["bankAccounts"]["refund"]["maskedIban"] == masked(refund["IBAN"])
        assert refund["IBAN"][4:-3] not in str(body)


# ---- dossiers --------------------------------------------------------------------------------------
def visible_dossiers(world: World, **criteria: str) -> list[dict[str, Any]]:
    found = [
        d
        for d in world.data("claims")["dossiers"]
        if all(d[k] == v for k, v in criteria.items())
        and d["dateDernierReglement"]
        and fr_date(d["dateDernierReglement"]) >= world.three_years_ago
    ]
    return sorted(found, key=lambda d: (-fr_date(d["dateSurvenance"]).toordinal(), d["numDossier"]))


async def test_contract_dossiers_for_the_affiliate_and_for_the_company(
    gateway: Gateway, world: World
) -> None:
    member = world.member
    adhesion = next(c for c, r in world.held(member) if r == "AFF")
    mine = (
        await gateway.run(
            "ContractDossiers",
            {"id": to_global("Contract", adhesion["NUM_CTR"])},
            as_=member.client_id,
        )
    )["data"]["contract"]
    expected = visible_dossiers(world, numAffilie=member.claims_id or "")
    assert [e["node"]["number"] for e in mine["dossiers"]["edges"]] == [
        d["numDossier"] for d in expected
    ]
    assert [
        (
            n["status"],
            n["statusLabel"],
            n["guarantee"],
            n["guaranteeLabel"],
            n["occurredOn"],
            n["affiliate"],
        )
        for n in (e["node"] for e in mine["dossiers"]["edges"])
    ] == [
        (
            *DOSSIER_STATUSES[d["statut"]],
            *GUARANTEES[d["codeGarantie"]],
            fr_date(d["dateSurvenance"]).isoformat(),
            {"displayName": member.display_name},
        )
        for d in expected
    ]
    company = world.big_company
    contract = max(
        world.collective_contracts(company),
        key=lambda c: len(visible_dossiers(world, numContrat=c["NUM_CTR"])),
    )
    expected = visible_dossiers(world, numContrat=contract["NUM_CTR"])
    variables = {"id": to_global("Contract", contract["NUM_CTR"]), "first": 10}
    page = (await gateway.run("ContractDossiers", variables, as_=company.client_id))["data"][
        "contract"
    ]["dossiers"]
    assert page["totalCount"] == len(expected)
    seen = [e["node"] for e in page["edges"]]
    while page["pageInfo"]["hasNextPage"]:
        page = (
            await gateway.run(
                "ContractDossiers",
                {**variables, "after": page["pageInfo"]["endCursor"]},
                as_=company.client_id,
            )
        )["data"]["contract"]["dossiers"]
        seen += [e["node"] for e in page["edges"]]
    assert [n["number"] for n in seen] == [d["numDossier"] for d in expected]
    assert [n["affiliate"]["displayName"] for n in seen] == [
        world.holder_name(d["numAdhesion"]) for d in expected
    ]
    closed = await gateway.run(
        "ContractDossiers", {**variables, "status": ["CLOSED"]}, as_=company.client_id
    )
    assert closed["data"]["contract"]["dossiers"]["totalCount"] == len(
        [d for d in expected if d["statut"] == "CL"]
    )


# ---- règlements ------------------------------------------------------------------------------------
async def test_contract_reglements_of_the_company_with_filters(
    gateway: Gateway, world: World
) -> None:
    company = world.member_company
    number = next(
        c["NUM_CTR"]
        for c in world.collective_contracts(company)
        if world.reglements_where(numContrat=c["NUM_CTR"])
    )
    variables = {"id": to_global("Contract", number), "first": 20}
    page = (await gateway.run("ContractReglements", variables, as_=company.client_id))["data"][
        "contract"
    ]["reglements"]
    expected = world.reglements_where(numContrat=number)
    assert page["totalCount"] == len(expected)
    nodes = [e["node"] for e in page["edges"]]
    assert [n["reference"] for n in nodes] == [r["refReglement"] for r in expected[:20]]
    adhesions = {d["numDossier"]: d["numAdhesion"] for d in world.data("claims")["dossiers"]}
    # the payee: a person as `Prénom NOM`, a company exactly as registered
    assert [(n["recipient"]["kind"], n["recipient"]["name"]) for n in nodes] == [
        ("COMPANY", company.client["raisonSociale"])
        if r["destinataire"]["type"] == "ENT"
        else ("AFFILIATE", world.holder_name(adhesions[r["numDossier"]]))
        for r in expected[:20]
    ]
    assert [(n["beneficiaryName"], n["guaranteeLabel"]) for n in nodes] == [
        (world.holder_name(adhesions[r["numDossier"]]), GUARANTEES[r["codeGarantie"]][1])
        for r in expected[:20]
    ]
    for code, (guarantee, _) in GUARANTEES.items():
        filtered = await gateway.run(
            "ContractReglements",
            {**variables, "filter": {"guarantee": guarantee}},
            as_=company.client_id,
        )
        assert filtered["data"]["contract"]["reglements"]["totalCount"] == len(
            world.reglements_where(numContrat=number, codeGarantie=code)
        ), code
    member = world.member
    adhesion = next(c for c, r in world.held(member) if r == "AFF")
    since = world.three_years_ago.replace(day=1, month=1).replace(year=world.today.year - 1)
    only_member = await gateway.run(
        "ContractReglements",
        {
            **variables,
            "filter": {
                "affiliateId": to_global("Affiliate", f"{number}/{adhesion['NUM_CTR']}"),
                "from": since.isoformat(),
            },
        },
        as_=company.client_id,
    )
    found = only_member["data"]["contract"]["reglements"]
    expected = [
        r
        for r in world.reglements_where(numContrat=number, numAffilie=member.claims_id or "")
        if fr_date(r["dateReglement"]) >= since
    ]
    assert found["totalCount"] == len(expected) and expected
    assert {e["node"]["beneficiaryName"] for e in found["edges"]} == {member.display_name}


def signed_cursor(gateway: Gateway, offset: int, total: int) -> str:
    """The cursor this gateway would issue for the item at `offset` (signed with its secret)."""
    with cursors_signed_with(gateway.settings.jwt_secret.get_secret_value()):
        return cursor(offset, total)


async def test_payments_to_a_company_show_its_name_as_registered(
    gateway: Gateway, world: World
) -> None:
    checked = 0
    for company in world.companies():
        for contract in world.collective_contracts(company):
            expected = world.reglements_where(numContrat=contract["NUM_CTR"])
            first = next(
                (i for i, r in enumerate(expected) if r["destinataire"]["type"] == "ENT"), None
            )
            if first is None:
                continue
            variables: dict[str, Any] = {
                "id": to_global("Contract", contract["NUM_CTR"]),
                "first": 5,
            }
            if first:
                variables["after"] = signed_cursor(gateway, first - 1, len(expected))
            page = (await gateway.run("ContractReglements", variables, as_=company.client_id))[
                "data"
            ]["contract"]["reglements"]
            node = page["edges"][0]["node"]
            assert (node["reference"], node["recipient"]) == (
                expected[first]["refReglement"],
                {"kind": "COMPANY", "name": company.client["raisonSociale"]},
            )
            checked += 1
    assert checked


async def test_dossier_detail_with_base_benefit_and_three_years_of_reglements(
    gateway: Gateway, world: World
) -> None:
    member = world.member
    raw = next(
        d for d in visible_dossiers(world, numAffilie=member.claims_id or "") if d["prestationBase"]
    )
    body = await gateway.run(
        "DossierDetail", {"id": to_global("Dossier", raw["numDossier"])}, as_=member.client_id
    )
    dossier = body["data"]["dossier"]
    base = raw["prestationBase"]
    assert dossier["baseBenefit"] == {
        "referenceGrossSalary": euros(decimal(base["salairesBrutsReference"])),
        "referencePeriod": {
            "from": fr_date(base["periodeReference"]["debut"]).isoformat(),
            "to": fr_date(base["periodeReference"]["fin"]).isoformat(),
        },
        "monthlyAmount": euros(decimal(base["prestationBaseMensuelle"])),
        "realisation": euros(decimal(base["realisation"])),
        "monthlyAmountAfterRealisation": euros(decimal(base["montantMensuel"])),
        "otherMonthlyIncome": euros(decimal(base["autresRevenusMensuels"])),
    }
    assert (dossier["statusLabel"], dossier["guaranteeLabel"]) == (
        DOSSIER_STATUSES[raw["statut"]][1],
        GUARANTEES[raw["codeGarantie"]][1],
    )
    assert dossier["contract"]["number"] == raw["numAdhesion"]
    assert dossier["affiliate"] == {"displayName": member.display_name}
    expected = world.reglements_where(numDossier=raw["numDossier"])
    page = dossier["reglements"]
    assert page["totalCount"] == len(expected)
    assert page["pageInfo"]["hasNextPage"] is (len(expected) > 20)
    assert [(e["node"]["reference"], e["node"]["grossAmount"]) for e in page["edges"]] == [
        (r["refReglement"], euros(decimal(r["montantBrut"]))) for r in expected[:20]
    ]


async def test_reglement_detail_of_a_benefit_with_its_decompte_and_letter(
    gateway: Gateway, world: World
) -> None:
    member = world.member
    raw = next(
        r
        for r in world.reglements_where(numAffilie=member.claims_id or "")
        if r["refCourrier"] and r["lignesDecompte"]
    )
    body = await gateway.run(
        "ReglementDetail", {"id": to_global("Reglement", raw["refReglement"])}, as_=member.client_id
    )
    assert "errors" not in body, body
    payment = body["data"]["reglement"]
    assert [(b["label"], b["amount"]["amount"]) for b in payment["breakdown"]] == [
        (line["libelle"], euros(decimal(line["montant"]))["amount"])
        for line in raw["lignesDecompte"]
    ]
    assert (payment["withholdingTaxRate"], payment["taxableBase"]) == (
        f"{decimal(raw['tauxPAS']):.2f}",
        euros(decimal(raw["baseImposable"])),
    )
    assert payment["recipient"] == {"kind": "AFFILIATE", "name": member.display_name}
    assert payment["paymentMethod"] == {"VIR": "TRANSFER", "CHQ": "CHEQUE"}[raw["modePaiement"]]
    letter = next(
        d for d in world.data("editique")["documents"] if d["idDocument"] == raw["refCourrier"]
    )
    assert payment["statement"]["title"] == letter["libelle"]
    assert payment["statement"]["downloadUrl"].startswith("http://gateway.test/documents/")
    opened = await gateway.run(
        "query($id: ID!) { document(id: $id) { title } }",
        {"id": payment["statement"]["id"]},
        as_=member.client_id,
    )
    assert opened["data"]["document"] == {"title": letter["libelle"]}
    assert (payment["careDate"], payment["act"], payment["expense"]) == (None, None, None)


async def test_every_health_reimbursement_listed_opens_by_its_id(
    gateway: Gateway, world: World
) -> None:
    family = world.health_family
    expected = world.remboursements_of(family.claims_id or "")[:10]
    listed = (
        await gateway.run(
            "query { viewer { reglements(first: 10) { edges { node { id reference } } } } }",
            as_=family.client_id,
        )
    )["data"]["viewer"]["reglements"]["edges"]
    assert [e["node"]["reference"] for e in listed] == [r["refRemboursement"] for r in expected]
    for edge, raw in zip(listed, expected, strict=True):
        body = await gateway.run(
            "ReglementDetail", {"id": edge["node"]["id"]}, as_=family.client_id
        )
        assert "errors" not in body, body
        payment = body["data"]["reglement"]
        assert (payment["kind"], payment["reference"], payment["act"]) == (
            "HEALTH_REIMBURSEMENT",
            raw["refRemboursement"],
            raw["acte"],
        )
        assert (
            payment["expense"],
            payment["socialSecurity"],
            payment["complementary"],
            payment["outOfPocket"],
        ) == tuple(
            euros(decimal(raw[k]))
            for k in ("montantDepense", "montantSecu", "montantComplementaire", "resteACharge")
        )
        assert payment["paidTo"] == {"ASSURE": "INSURED", "PS": "PROVIDER"}[raw["payeA"]]
        assert (payment["breakdown"], payment["statement"]) == ([], None)


async def test_reglements_older_than_three_years_are_not_found(
    gateway: Gateway, world: World
) -> None:
    member = world.member
    older = [
        r
        for r in world.data("claims")["reglements"]
        if r["numAffilie"] == member.claims_id
        and fr_date(r["dateReglement"]) < world.three_years_ago
    ]
    assert older
    newest_hidden = max(older, key=lambda r: fr_date(r["dateReglement"]))
    body = await gateway.run(
        "ReglementDetail",
        {"id": to_global("Reglement", newest_hidden["refReglement"])},
        as_=member.client_id,
    )
    assert body["data"]["reglement"] is None and codes(body) == ["NOT_FOUND"]


# ---- demandes --------------------------------------------------------------------------------------
async def test_demandes_timeline_and_detail(gateway: Gateway, world: World) -> None:
    family = world.health_family
    expected = world.demandes_of(family.client_id)
    page = (await gateway.run("Demandes", {"first": 50}, as_=family.client_id))["data"]["viewer"][
        "demandes"
    ]
    assert page["totalCount"] == len(expected)
    assert [
        (e["node"]["id"], e["node"]["tracked"], e["node"]["status"]) for e in page["edges"]
    ] == [
        (to_global("Demande", d["id"]), d["suivi"], DEMANDE_STATUSES[d["statut"]]) for d in expected
    ]
    done = await gateway.run("Demandes", {"status": ["DONE"]}, as_=family.client_id)
    assert [e["node"]["statusLabel"] for e in done["data"]["viewer"]["demandes"]["edges"]] == [
        "Traitée" for d in expected if d["statut"] == "TRAITE"
    ][:20]
    tracked = next(d for d in expected if d["suivi"] and d["numContrat"])
    detail = (
        await gateway.run(
            "DemandeDetail", {"id": to_global("Demande", tracked["id"])}, as_=family.client_id
        )
    )["data"]["demande"]
    assert [h["status"] for h in detail["history"]] == [
        DEMANDE_STATUSES[h["statut"]] for h in tracked["historique"]
    ]
    assert detail["contract"] == {
        "id": to_global("Contract", tracked["numContrat"]),
        "number": tracked["numContrat"],
        "productName": world.contracts[tracked["numContrat"]]["LIB_PRODUIT"].rstrip(),
    }
    for persona in world.individuals():
        with_file = next(
            (d for d in world.demandes_of(persona.client_id) if d["rappel"]["piecesJointes"]),
            None,
        )
        if with_file is not None:
            break
    assert with_file is not None
    detail = (
        await gateway.run(
            "DemandeDetail", {"id": to_global("Demande", with_file["id"])}, as_=persona.client_id
        )
    )["data"]["demande"]
    assert [a["id"] for a in detail["reminder"]["attachments"]] == with_file["rappel"][
        "piecesJointes"
    ]


async def test_demandes_older_than_six_months_are_not_shown(gateway: Gateway, world: World) -> None:
    saver = world.saver
    old = [
        d
        for d in world.data("crm")["demandes"]
        if d["clientId"] == saver.client_id and d not in world.demandes_of(saver.client_id)
    ]
    assert old
    body = await gateway.run(
        "DemandeDetail", {"id": to_global("Demande", old[0]["id"])}, as_=saver.client_id
    )
    assert body["data"]["demande"] is None and codes(body) == ["NOT_FOUND"]


# ---- documents -------------------------------------------------------------------------------------
async def test_documents_by_period_category_and_contract(gateway: Gateway, world: World) -> None:
    saver = world.saver
    for period, months in (
        ("LAST_MONTH", 1),
        ("LAST_3_MONTHS", 3),
        ("LAST_6_MONTHS", 6),
        ("LAST_12_MONTHS", 12),
        ("LAST_24_MONTHS", 24),
    ):
        body = await gateway.run("Documents", {"period": period, "first": 50}, as_=saver.client_id)
        expected = world.documents_of(saver.edq, months)
        found = body["data"]["viewer"]["documents"]
        assert found["totalCount"] == len(expected), period
        assert [e["node"]["title"] for e in found["edges"]] == [
            d["libelle"] for d in expected[:50]
        ], period
    member = world.member
    benefit = await gateway.run(
        "Documents", {"category": "BENEFIT", "period": "LAST_24_MONTHS"}, as_=member.client_id
    )
    nodes = [e["node"] for e in benefit["data"]["viewer"]["documents"]["edges"]]
    expected = [d for d in world.documents_of(member.edq, 24) if d["bloc"] == "PRESTATION"]
    assert nodes and [(n["title"], n["contract"]["number"]) for n in nodes] == [
        (d["libelle"], d["numContrat"]) for d in expected[: len(nodes)]
    ]
    assert all(n["mimeType"] == "application/pdf" and n["sizeBytes"] > 500 for n in nodes)
    number = world.held(saver)[-1][0]["NUM_CTR"]
    one = await gateway.run(
        "Documents",
        {"contractId": to_global("Contract", number), "period": "LAST_24_MONTHS", "first": 50},
        as_=saver.client_id,
    )
    assert [e["node"]["title"] for e in one["data"]["viewer"]["documents"]["edges"]] == [
        d["libelle"] for d in world.documents_of(saver.edq, 24) if d["numContrat"] == number
    ]


# ---- companies -------------------------------------------------------------------------------------
async def test_company_affiliates_two_pages(gateway: Gateway, world: World) -> None:
    company = world.member_company
    number = world.collective_contracts(company)[0]["NUM_CTR"]
    members = world.data("policy_admin")["affilies"][number]
    variables = {"contractId": to_global("Contract", number)}
    first = (await gateway.run("CompanyAffiliates", variables, as_=company.client_id))["data"][
        "viewer"
    ]
    assert (first["name"], first["affiliates"]["totalCount"]) == (
        company.client["raisonSociale"],
        len(members),
    )
    edges = list(first["affiliates"]["edges"])
    page = first["affiliates"]
    while page["pageInfo"]["hasNextPage"]:
        page = (
            await gateway.run(
                "CompanyAffiliates",
                {**variables, "after": page["pageInfo"]["endCursor"]},
                as_=company.client_id,
            )
        )["data"]["viewer"]["affiliates"]
        edges += page["edges"]
    assert len(first["affiliates"]["edges"]) == min(20, len(members))
    assert [
        (e["node"]["displayName"], e["node"]["status"], e["node"]["statusLabel"]) for e in edges
    ] == [
        (f"{m['PRENOM'].rstrip()} {m['NOM'].rstrip()}", *AFFILIATE_STATUSES[m["CD_STATUT"]])
        for m in sorted(members, key=lambda m: (m["NOM"], m["PRENOM"], m["NUM_ADH"]))
    ]


async def test_bad_pagination_arguments_are_typed_errors(gateway: Gateway, world: World) -> None:
    saver = world.saver.client_id
    body = await gateway.run("Demandes", {"first": 500}, as_=saver)
    assert codes(body) == ["BAD_USER_INPUT"] and body["data"]["viewer"]["demandes"] is None
    body = await gateway.run("Demandes", {"after": "not-a-cursor"}, as_=saver)
    assert codes(body) == ["BAD_USER_INPUT"]


async def test_every_account_document_runs_in_one_customer_journey(
    gateway: Gateway, world: World
) -> None:
    """The ten documents of operations/accounts/, each with the variables the frontends send."""
    if world.name != "default":  # identities and passwords are the CRM document's own examples
        pytest.skip("the journey signs in with the documented personas' credentials")
    from tests.support.accounts import claims, outbox
    from tests.support.security import step_up

    mail, first, second = "lucas.moreau@example.fr", "Premier-Mot2Passe!", "Second-Mot2Passe!"
    lucas = {"customerNumber": "48213383", "lastName": "MOREAU", "firstName": "Lucas"}
    answers: dict[str, Any] = {}

    async def step(name: str, variables: dict[str, Any], token: str | None = None) -> Any:
        body = await gateway.run(f"accounts/{name}", variables, token=token)
        assert "errors" not in body, (name, body)
        answers[name] = next(iter(body["data"].values()))
        assert answers[name].get("userErrors", []) == [], (name, answers[name])
        return answers[name]

    registration = {
        "individual": {**lucas, "birthDate": "1999-08-30"},
        "email": mail,
        "emailConfirmation": mail,
        "termsAccepted": True,
    }
    assert (await step("RegisterAccount", {"input": registration}))["accepted"] is True
    token = outbox(gateway, "ACTIVATION", mail)[-1]
    password = {"token": token, "password": first, "passwordConfirmation": first}
    await step("ActivateAccount", {"input": password})
    opened = (await step("Login", {"input": {"login": mail, "password": first}}))["session"]
    renewed = (await step("RefreshSession", {"refreshToken": opened["refreshToken"]}))["session"]
    access = renewed["accessToken"]
    settings = await step("AccountSettings", {}, access)
    assert settings["account"]["status"] == "ACTIVE" and settings["account"]["login"] == mail
    await step_up(gateway, access, claims(access)["sub"])  # a new password needs a recent proof
    change = {"currentPassword": first, "newPassword": second, "newPasswordConfirmation": second}
    await step("ChangePassword", {"input": change}, access)
    # only one person's accounts are joined: C0001001 becomes Lucas Moreau's other account
    crm_client = gateway.mocks["crm"].clients["C0001001"]  # type: ignore[attr-defined]
    crm_client.update(nom="Moreau", prenom="LUCAS", dateNaissance="1999-08-30")
    joined = {"login": "chris.martin@example.fr", "password": "Lilas-Lyon-2023!"}
    linked = await step("LinkAccount", {"input": joined}, access)
    assert linked["account"]["linkedAccounts"][0]["displayName"] == "LUCAS Moreau"
    assert await step("Logout", {"refreshToken": renewed["refreshToken"]}, access) == {
        "accepted": True
    }
    assert await step("RequestPasswordReset", {"email": mail}) == {"accepted": True}
    from gateway.resolvers.accounts import reset_requests_settled

    await reset_requests_settled()
    token = outbox(gateway, "REINITIALISATION", mail)[-1]
    reset = {"token": token, "password": first, "passwordConfirmation": first}
    assert (await step("ResetPassword", {"input": reset}))["accepted"] is True
    lookup = await gateway.run(
        "dashboards/CustomerLookup", {"clientId": "C0001008"}, as_="S0001", role="staff"
    )
    assert lookup["data"]["person"]["account"] == {"status": "ACTIVE", "statusLabel": "Actif"}


async def test_every_security_document_runs_in_one_customer_journey(
    gateway: Gateway, world: World
) -> None:
    """The documents of operations/securite/ the schema serves, each with the variables the
    frontends send: TOTP switched on, a sign-in in two steps, a step-up, codes renewed, one-time
    code, TOTP switched off."""
    if world.name != "default":  # the sign-in uses the documented personas' credentials
        pytest.skip("the journey signs in with the documented personas' credentials")
    from tests.support.security import codes_sent, totp_now

    chris, login, password = "C0001001", "chris.martin@example.fr", "Lilas-Lyon-2023!"
    access = gateway.token(chris)

    async def step(name: str, variables: dict[str, Any], token: str | None = None) -> Any:
        body = await gateway.run(f"securite/{name}", variables, token=token)
        assert "errors" not in body, (name, body)
        payload = next(iter(body["data"].values()))
        return payload

    enrolled = (await step("EnrolSecondFactor", {"input": {"method": "TOTP"}}, access))["enrolment"]
    secret = enrolled["totpSecret"]
    assert f"secret={secret}" in enrolled["otpauthUri"] and enrolled["sentTo"] is None
    confirmed = await step(
        "ConfirmSecondFactor", {"input": {"code": totp_now(gateway, secret)}}, access
    )
    assert confirmed["secondFactor"]["methodLabel"] == "Application d'authentification"
    first = await step("LoginWithPassword", {"input": {"login": login, "password": password}})
    assert first["session"] is None and first["secondFactorChallenge"]["method"] == "TOTP"
    second = await step(
        "LoginWithSecondFactor",
        {
            "input": {
                "challengeToken": first["secondFactorChallenge"]["token"],
                "code": confirmed["recoveryCodes"][0],
            }
        },
    )
    access = second["session"]["accessToken"]
    asked = await step(
        "RequestStepUp", {"input": {"idempotencyKey": "step-up-0001", "method": "TOTP"}}, access
    )
    assert asked["challenge"]["methodLabel"] == "Code de l'application d'authentification"
    proved = await step(
        "VerifyStepUp",
        {
            "input": {
                "challengeToken": asked["challenge"]["token"],
                "code": totp_now(gateway, secret, 1),
            }
        },
        access,
    )
    assert proved["validUntil"] and proved["userErrors"] == []
    renewed = await step(
        "RenewRecoveryCodes", {"input": {"code": confirmed["recoveryCodes"][1]}}, access
    )
    assert (
        len(renewed["recoveryCodes"]) == 10 and renewed["secondFactor"]["recoveryCodesLeft"] == 10
    )
    disabled = await step(
        "DisableSecondFactor", {"input": {"code": renewed["recoveryCodes"][0]}}, access
    )
    assert disabled["secondFactor"]["method"] == "NONE"
    sent = await step(
        "SendOneTimeCode",
        {
            "input": {
                "idempotencyKey": "code-0000001",
                "purpose": "SENSITIVE_ACT",
                "channel": "SMS",
                "challengeToken": None,
            }
        },
        access,
    )
    assert sent["channel"] == "SMS" and sent["sentTo"].endswith(" 09")
    assert len(codes_sent(gateway, chris, "ACTE_SENSIBLE", "sms")) == 1


async def test_every_passkey_document_runs_in_one_customer_journey(
    gateway: Gateway, world: World
) -> None:
    """The six passkey documents of operations/securite/, a real WebAuthn ceremony each time (the
    software authenticator of tests/support), with the variables the frontends send."""
    if world.name != "default":  # signs in with the documented persona's credentials
        pytest.skip("the journey signs in with the documented personas' credentials")
    from tests.support.accounts import session
    from tests.support.authenticator import SoftAuthenticator

    phone, access = SoftAuthenticator(), (await session(gateway, "geralt.riviere@example.fr"))
    answers: dict[str, Any] = {}

    async def step(name: str, variables: dict[str, Any], token: str | None = None) -> Any:
        body = await gateway.run(f"securite/{name}", variables, token=token)
        assert "errors" not in body, (name, body)
        answers[name] = next(iter(body["data"].values()))
        assert answers[name]["userErrors"] == [], (name, answers[name])
        return answers[name]

    token = access["accessToken"]
    ceremony = (await step("PasskeyRegistrationOptions", {}, token))["ceremony"]
    created = phone.create(ceremony["optionsJSON"])
    added = {"ceremonyToken": ceremony["token"], "credentialJSON": created, "name": "iPhone"}
    passkey = (await step("RegisterPasskey", {"input": added}, token))["passkey"]
    assert passkey["credentialId"] == next(iter(phone.credentials))
    ceremony = (await step("PasskeyLoginOptions", {}))["ceremony"]
    signed = {
        "ceremonyToken": ceremony["token"],
        "credentialJSON": phone.get(ceremony["optionsJSON"]),
        "deviceId": "b5e0c3f2-iphone",
    }
    session_ = (await step("LoginWithPasskey", {"input": signed}))["session"]
    assert session_["accessToken"] and session_["refreshToken"]
    renamed = {"id": passkey["id"], "name": "iPhone de Geralt"}
    assert (await step("RenamePasskey", {"input": renamed}, token))["passkey"]["lastUsedAt"]
    deleted = await step("DeletePasskey", {"id": passkey["id"]}, session_["accessToken"])
    assert deleted["deletedId"] == passkey["id"]


async def test_every_device_alert_and_service_document_runs_in_one_customer_journey(
    gateway: Gateway, world: World
) -> None:
    """The documents of operations/securite/ for « Appareils connectés », « Paramètres >
    Notifications », « Mes notifications », « Mes services » and the régime obligatoire, each with
    the variables the frontends send."""
    if world.name != "default":  # signs in with the documented persona's credentials
        pytest.skip("the journey signs in with the documented personas' credentials")
    from tests.support.accounts import PASSWORDS

    geralt = "geralt.riviere@example.fr"
    answers: dict[str, Any] = {}

    async def step(
        name: str, variables: dict[str, Any], token: str, agent: str = "EspaceClient/5.2 (iPhone)"
    ) -> Any:
        response = await gateway.http.post(
            "/graphql",
            json={"query": operation(f"securite/{name}"), "variables": variables},
            headers={"Authorization": f"Bearer {token}", "User-Agent": agent},
        )
        body = response.json()
        assert "errors" not in body, (name, body)
        answers[name] = next(iter(body["data"].values()))
        assert answers[name].get("userErrors", []) == [], (name, answers[name])
        return answers[name]

    async def signed_in(agent: str, device: str) -> str:
        variables = {"input": {"login": geralt, "password": PASSWORDS[geralt], "deviceId": device}}
        response = await gateway.http.post(
            "/graphql",
            json={"query": operation("accounts/Login"), "variables": variables},
            headers={"User-Agent": agent},
        )
        token: str = response.json()["data"]["login"]["session"]["accessToken"]
        return token

    phone = await signed_in("EspaceClient/5.2 (Android 14; Pixel 8)", "app-android-1")
    desk = await signed_in("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1.15", "web-1")
    third = await signed_in("Mozilla/5.0 (Windows NT 10.0) Firefox/125.0", "web-2")
    viewer = await step("SecuritySettings", {}, phone)
    sessions = viewer["account"]["sessions"]
    assert [s["deviceLabel"] for s in sessions] == [
        "Application Android",  # this very request: seen last
        "Firefox sur Windows",
        "Safari sur Mac",
    ]
    assert [s["current"] for s in sessions] == [True, False, False]
    assert viewer["alertSettings"]["alerts"][4]["mandatoryChannels"] == ["EMAIL"]
    assert (await step("EndSession", {"id": sessions[1]["id"]}, phone))["accepted"] is True
    assert (await step("EndOtherSessions", {}, phone))["endedCount"] == 1
    for ended in (desk, third):
        refused = await gateway.run("securite/Notifications", {}, token=ended)
        assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    wanted = [
        {"event": "PAYMENT_MADE", "channels": ["EMAIL", "PUSH"]},
        {"event": "DOCUMENT_AVAILABLE", "channels": ["PUSH"]},
        {"event": "DEMANDE_UPDATED", "channels": []},
        {"event": "NEW_DEVICE_SIGN_IN", "channels": ["EMAIL", "SMS"]},
        {"event": "ACCOUNT_SECURITY", "channels": ["EMAIL", "SMS"]},
    ]
    updated = await step("UpdateAlertSettings", {"input": {"alerts": wanted}}, phone)
    assert [a["channels"] for a in updated["alertSettings"]["alerts"]] == [
        a["channels"] for a in wanted
    ]
    # the second device's sign-in posted « nouvel appareil » alerts: the bell lists them
    feed = await step("Notifications", {"first": 1, "after": None}, phone)
    assert feed["notifications"]["unreadCount"] == feed["notifications"]["totalCount"] == 2
    newest = feed["notifications"]["edges"][0]["node"]
    assert newest["event"] == "NEW_DEVICE_SIGN_IN" and "Firefox sur Windows" in newest["message"]
    after = feed["notifications"]["pageInfo"]["endCursor"]
    rest = await step("Notifications", {"first": 20, "after": after}, phone)
    assert "Safari sur Mac" in rest["notifications"]["edges"][0]["node"]["message"]
    marked = await step("MarkNotificationsRead", {"input": {"ids": [newest["id"]]}}, phone)
    assert marked["unreadCount"] == 1
    assert (await step("MarkNotificationsRead", {"input": {"all": True}}, phone))[
        "unreadCount"
    ] == 0

    health = next(c for c in world.data("policy_admin")["contrats"] if c["NUM_CTR"] == "AA565656")
    services = await step(
        "ContractServices", {"id": to_global("Contract", health["NUM_CTR"])}, phone
    )
    codes_shown = [s["code"] for s in services["services"]]
    assert "THIRD_PARTY_PAYMENT" in codes_shown and "TELECONSULTATION" in codes_shown
    card = next(s for s in services["services"] if s["code"] == "THIRD_PARTY_PAYMENT")
    assert card["documentType"] == "THIRD_PARTY_PAYMENT_CARD" and card["document"]["downloadUrl"]
    scheme = await step("ProfileHealthScheme", {}, phone)
    crm_person = next(c for c in world.data("crm")["clients"] if c["clientId"] == "C0001002")
    assert scheme["healthInsuranceScheme"] == SCHEMES[crm_person["regimeObligatoire"]]
