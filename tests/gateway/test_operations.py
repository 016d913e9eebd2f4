"""Every frontend operation of ../shared/operations, run for the personas it fits, asserting the
values the fixtures imply."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from gateway.domain.values import months_before, years_before
from gateway.schema.ids import to_global
from tests.gateway.support import PERSONAS, TODAY, Gateway, codes, fixture

PARIS = ZoneInfo("Europe/Paris")
WINDOW = years_before(TODAY, 3)


def fr_date(value: str) -> date:
    return datetime.strptime(value, "%d/%m/%Y").date()


def paris_day(value: str) -> date:
    return datetime.fromisoformat(value).astimezone(PARIS).date()


def documents_of(person: str, months: int) -> list[dict[str, Any]]:
    since = months_before(TODAY, months)
    found = [
        d
        for d in fixture("editique")["documents"]
        if d["idPersonne"] == person and since <= paris_day(d["dateEmission"]) <= TODAY
    ]
    return sorted(
        found,
        key=lambda d: (datetime.fromisoformat(d["dateEmission"]), d["idDocument"]),
        reverse=True,
    )


def demandes_of(client: str) -> list[dict[str, Any]]:
    since = months_before(TODAY, 6)
    found = [
        d
        for d in fixture("crm")["demandes"]
        if d["clientId"] == client and paris_day(d["dateCreation"]) >= since
    ]
    return sorted(
        found, key=lambda d: (datetime.fromisoformat(d["dateCreation"]), d["id"]), reverse=True
    )


def reglements_where(**criteria: str) -> list[dict[str, Any]]:
    found = [
        r
        for r in fixture("claims")["reglements"]
        if all(r[k] == v for k, v in criteria.items()) and fr_date(r["dateReglement"]) >= WINDOW
    ]
    return sorted(
        found, key=lambda r: (-fr_date(r["dateReglement"]).toordinal(), r["refReglement"])
    )


async def test_home_page_of_chris_martin(gateway: Gateway) -> None:
    body = await gateway.run("HomePage", as_=PERSONAS["chris"])
    assert "errors" not in body
    viewer = body["data"]["viewer"]
    assert (viewer["kind"], viewer["displayName"], viewer["contactDataRequired"]) == (
        "INDIVIDUAL",
        "Chris MARTIN",
        False,
    )
    assert [(c["number"], c["family"], c["familyLabel"]) for c in viewer["contracts"]] == [
        ("2292103136", "RETIREMENT", "Retraite"),
        ("565085584", "RETIREMENT", "Retraite"),
        ("596054210", "SAVINGS", "Épargne"),
    ]
    expected = demandes_of("C0001001")
    assert viewer["demandes"]["totalCount"] == len(expected)
    assert [e["node"]["type"]["code"] for e in viewer["demandes"]["edges"]] == [
        d["type"] for d in expected[:3]
    ]
    assert [e["node"]["title"] for e in viewer["documents"]["edges"]] == [
        d["libelle"] for d in documents_of("EDQ-1001", 12)[:3]
    ]
    assert viewer["reglements"]["edges"] == []


async def test_home_page_shows_paul_his_invalidity_payments(gateway: Gateway) -> None:
    viewer = (await gateway.run("HomePage", as_=PERSONAS["paul"]))["data"]["viewer"]
    assert viewer["contactDataRequired"] is True  # Paul has no mobile
    payments = viewer["reglements"]["edges"]
    assert [p["node"]["kind"] for p in payments] == ["BENEFIT"] * 3
    assert payments[0]["node"]["netAmount"] == {
        "amount": "450.14",
        "currency": "EUR",
        "formatted": "450,14\xa0€",
    }
    assert (
        payments[0]["node"]["paidOn"]
        == reglements_where(numAffilie="A7781003")[0]["dateReglement"][-4:] + "-11-22"
    )


async def test_home_page_shows_geralt_his_health_reimbursements(gateway: Gateway) -> None:
    viewer = (await gateway.run("HomePage", as_=PERSONAS["geralt"]))["data"]["viewer"]
    refunds = [r for r in fixture("claims")["remboursements"] if r["numContrat"] == "AA565656"]
    newest = max(refunds, key=lambda r: (fr_date(r["dateReglement"]), r["refRemboursement"]))
    first = viewer["reglements"]["edges"][0]["node"]
    assert (
        first["kind"] == "HEALTH_REIMBURSEMENT"
        and first["paidOn"] == fr_date(newest["dateReglement"]).isoformat()
    )
    assert Decimal(first["netAmount"]["amount"]) == Decimal(
        newest["montantComplementaire"].replace(",", ".")
    )


async def test_profile_of_an_individual_and_of_a_company(gateway: Gateway) -> None:
    chris = (await gateway.run("Profile", as_=PERSONAS["chris"]))["data"]["viewer"]
    assert chris["customerNumber"] == "48213377" and chris["mobile"] == "+33634876409"
    assert chris["address"] == {
        "lines": ["12 rue des Lilas"],
        "postalCode": "69003",
        "city": "LYON",
        "country": "FR",
    }
    assert chris["preferences"] == {
        "paperless": True,
        "consents": {
            "groupOffers": False,
            "targetedCommunication": False,
            "satisfactionSurveys": True,
        },
    }
    assert chris["intermediary"] == {
        "name": "Cabinet Durand Assurances",
        "agency": "Lyon Part-Dieu",
        "phone": "+33478000000",
        "email": "contact@durand-assurances.example.fr",
    }
    assert (
        chris["civility"],
        chris["firstName"],
        chris["lastName"],
        chris["birthDate"],
        chris["healthInsuranceScheme"],
    ) == ("MR", "Chris", "MARTIN", "1975-03-14", "GENERAL")
    brico = (await gateway.run("Profile", as_=PERSONAS["brico"]))["data"]["viewer"]
    assert (brico["kind"], brico["name"], brico["siret"], brico["displayName"]) == (
        "COMPANY",
        "SARL BRICO",
        "73282932000074",
        "SARL BRICO",
    )
    elodie = (await gateway.run("Profile", as_=PERSONAS["elodie"]))["data"]["viewer"]
    assert (
        elodie["email"],
        elodie["mobile"],
        elodie["contactDataRequired"],
        elodie["intermediary"],
    ) == (None, None, True, None)
    assert elodie["displayName"] == "Élodie D'ARCY-LEFÈVRE"


async def test_contract_page_of_a_health_contract(gateway: Gateway) -> None:
    body = await gateway.run(
        "ContractPage", {"id": to_global("Contract", "AA565656")}, as_=PERSONAS["geralt"]
    )
    assert "errors" not in body, body["errors"]
    contract = body["data"]["contract"]
    assert (
        contract["numberKind"],
        contract["role"],
        contract["collective"],
        contract["company"],
    ) == ("CONTRACT", "SUBSCRIBER", False, None)
    assert contract["premium"] == {
        "amount": {"amount": "89.50", "currency": "EUR", "formatted": "89,50\xa0€"},
        "frequency": "MONTHLY",
        "debitDay": 5,
    }
    assert contract["bankAccounts"]["debit"] == {
        "holder": "M. GERALT RIVIERE",
        "maskedIban": "FR76 **** **** **** **** **** 189",
    }
    assert [g["code"] for g in contract["guarantees"]] == ["HOSP", "SOIN", "DENT", "OPTI"]
    assert [(d["displayName"], d["relationship"]) for d in contract["dependents"]] == [
        ("Yennefer RIVIÈRE", "SPOUSE"),
        ("Ciri RIVIÈRE", "CHILD"),
    ]
    assert contract["availableActions"] == [
        {"code": "RIB", "label": "Gestion de vos coordonnées bancaires"},
        {"code": "DATE_PRLV", "label": "Changement de date de prélèvement"},
        {"code": "RESIL", "label": "Résiliation"},
    ]
    titles = [e["node"]["title"] for e in contract["documents"]["edges"]]
    expected = [
        d["libelle"] for d in documents_of("EDQ-1002", 24) if d.get("numContrat") == "AA565656"
    ][:5]
    assert titles == expected


async def test_contract_page_of_a_savings_contract_and_of_a_membership(gateway: Gateway) -> None:
    savings = (
        await gateway.run(
            "ContractPage", {"id": to_global("Contract", "596054210")}, as_=PERSONAS["chris"]
        )
    )["data"]["contract"]
    assert savings["savings"] == {
        "value": {"amount": "45231.90", "formatted": "45\u202f231,90\xa0€"},
        "valuationDate": "2023-10-31",
    }
    assert savings["beneficiaryClause"].startswith("Mon conjoint")
    membership = (
        await gateway.run(
            "ContractPage", {"id": to_global("Contract", "ADH184068708")}, as_=PERSONAS["paul"]
        )
    )["data"]["contract"]
    assert (membership["numberKind"], membership["role"], membership["premium"]) == (
        "MEMBERSHIP",
        "MEMBER",
        None,
    )
    assert membership["company"] == {"name": "SARL BRICO", "contractNumber": "80785436"}
    assert membership["bankAccounts"]["refund"]["maskedIban"].endswith("241") and "K022" not in str(
        membership
    )


async def test_contract_dossiers_for_the_affiliate_and_for_the_company(gateway: Gateway) -> None:
    paul = (
        await gateway.run(
            "ContractDossiers", {"id": to_global("Contract", "ADH184068708")}, as_=PERSONAS["paul"]
        )
    )["data"]["contract"]
    assert [e["node"]["number"] for e in paul["dossiers"]["edges"]] == ["185501146"]
    node = paul["dossiers"]["edges"][0]["node"]
    assert (node["status"], node["guarantee"], node["occurredOn"], node["affiliate"]) == (
        "OPEN",
        "INVALIDITY",
        "2018-07-30",
        {"displayName": "Paul BERTRAND"},
    )
    expected = [
        d
        for d in fixture("claims")["dossiers"]
        if d["numContrat"] == "81000001"
        and d["dateDernierReglement"]
        and fr_date(d["dateDernierReglement"]) >= WINDOW
    ]
    variables = {"id": to_global("Contract", "81000001"), "first": 10}
    page = (await gateway.run("ContractDossiers", variables, as_=PERSONAS["lefevre"]))["data"][
        "contract"
    ]["dossiers"]
    assert (
        page["totalCount"]
        == len(expected)
        < len([d for d in fixture("claims")["dossiers"] if d["numContrat"] == "81000001"])
    )
    seen = [e["node"]["number"] for e in page["edges"]]
    while page["pageInfo"]["hasNextPage"]:
        page = (
            await gateway.run(
                "ContractDossiers",
                {**variables, "after": page["pageInfo"]["endCursor"]},
                as_=PERSONAS["lefevre"],
            )
        )["data"]["contract"]["dossiers"]
        seen += [e["node"]["number"] for e in page["edges"]]
    assert sorted(seen) == sorted(d["numDossier"] for d in expected) and len(seen) == len(set(seen))
    closed = await gateway.run(
        "ContractDossiers", {**variables, "status": ["CLOSED"]}, as_=PERSONAS["lefevre"]
    )
    assert {e["node"]["status"] for e in closed["data"]["contract"]["dossiers"]["edges"]} == {
        "CLOSED"
    }


async def test_contract_reglements_of_the_company_with_filters(gateway: Gateway) -> None:
    variables = {"id": to_global("Contract", "80785436"), "first": 20}
    page = (await gateway.run("ContractReglements", variables, as_=PERSONAS["brico"]))["data"][
        "contract"
    ]["reglements"]
    expected = reglements_where(numContrat="80785436")
    assert page["totalCount"] == len(expected)
    assert [e["node"]["reference"] for e in page["edges"]] == [
        r["refReglement"] for r in expected[:20]
    ]
    assert all(date.fromisoformat(e["node"]["paidOn"]) >= WINDOW for e in page["edges"])
    company_paid = [e["node"] for e in page["edges"] if e["node"]["recipient"]["kind"] == "COMPANY"]
    assert all(n["recipient"]["name"] == "SARL BRICO" for n in company_paid)
    invalidity = await gateway.run(
        "ContractReglements",
        {**variables, "filter": {"guarantee": "INVALIDITY"}},
        as_=PERSONAS["brico"],
    )
    assert invalidity["data"]["contract"]["reglements"]["totalCount"] == len(
        reglements_where(numContrat="80785436", codeGarantie="INV")
    )
    paul = to_global("Affiliate", "80785436/ADH184068708")
    only_paul = await gateway.run(
        "ContractReglements",
        {**variables, "filter": {"affiliateId": paul, "from": "2025-01-01"}},
        as_=PERSONAS["brico"],
    )
    nodes = [e["node"] for e in only_paul["data"]["contract"]["reglements"]["edges"]]
    assert nodes and {n["beneficiaryName"] for n in nodes} == {"Paul BERTRAND"}
    assert only_paul["data"]["contract"]["reglements"]["totalCount"] == len(
        [
            r
            for r in reglements_where(numAffilie="A7781003")
            if fr_date(r["dateReglement"]) >= date(2025, 1, 1)
        ]
    )


async def test_dossier_detail_with_base_benefit_and_three_years_of_reglements(
    gateway: Gateway,
) -> None:
    body = await gateway.run(
        "DossierDetail", {"id": to_global("Dossier", "185501146")}, as_=PERSONAS["paul"]
    )
    dossier = body["data"]["dossier"]
    assert dossier["baseBenefit"] == {
        "referenceGrossSalary": {"amount": "65000.00", "formatted": "65\u202f000,00\xa0€"},
        "referencePeriod": {"from": "2017-07-01", "to": "2018-06-30"},
        "monthlyAmount": {"amount": "600.71", "formatted": "600,71\xa0€"},
        "realisation": {"amount": "88.19", "formatted": "88,19\xa0€"},
        "monthlyAmountAfterRealisation": {"amount": "512.52", "formatted": "512,52\xa0€"},
        "otherMonthlyIncome": {"amount": "43.14", "formatted": "43,14\xa0€"},
    }
    assert dossier["contract"]["number"] == "ADH184068708"
    expected = reglements_where(numDossier="185501146")
    assert dossier["reglements"]["totalCount"] == len(expected) and 30 <= len(expected) <= 37
    assert dossier["reglements"]["pageInfo"]["hasNextPage"] is True
    assert dossier["reglements"]["edges"][0]["node"]["grossAmount"]["formatted"] == "512,52\xa0€"


async def test_reglement_detail_of_a_benefit_with_its_decompte_and_letter(gateway: Gateway) -> None:
    latest = reglements_where(numAffilie="A7781003")[1]
    body = await gateway.run(
        "ReglementDetail",
        {"id": to_global("Reglement", latest["refReglement"])},
        as_=PERSONAS["paul"],
    )
    assert "errors" not in body, body
    payment = body["data"]["reglement"]
    assert [(b["label"], b["amount"]["amount"]) for b in payment["breakdown"]] == [
        ("CASA", "1.56"),
        ("CSG non déductible", "12.51"),
        ("CSG déductible", "30.78"),
        ("CRDS", "2.81"),
        ("Prélèvement à la source", "14.72"),
    ]
    assert (payment["withholdingTaxRate"], payment["taxableBase"]["formatted"]) == (
        "3.00",
        "490,54\xa0€",
    )
    assert (
        payment["recipient"] == {"kind": "AFFILIATE", "name": "Paul BERTRAND"}
        and payment["paymentMethod"] == "TRANSFER"
    )
    assert payment["statement"]["title"] == "Décompte de règlement - Rente invalidité"
    assert payment["statement"]["downloadUrl"].startswith("http://gateway.test/documents/")
    assert (payment["careDate"], payment["act"], payment["expense"]) == (None, None, None)


async def test_reglement_detail_of_a_health_reimbursement(gateway: Gateway) -> None:
    home = (await gateway.run("HomePage", as_=PERSONAS["geralt"]))["data"]["viewer"]
    refund_id = home["reglements"]["edges"][0]["node"]["id"]
    payment = (await gateway.run("ReglementDetail", {"id": refund_id}, as_=PERSONAS["geralt"]))[
        "data"
    ]["reglement"]
    assert (
        payment["kind"] == "HEALTH_REIMBURSEMENT"
        and payment["breakdown"] == []
        and payment["statement"] is None
    )
    total = sum(
        Decimal(payment[k]["amount"]) for k in ("socialSecurity", "complementary", "outOfPocket")
    )
    assert total == Decimal(payment["expense"]["amount"]) and payment["paidTo"] in (
        "INSURED",
        "PROVIDER",
    )


async def test_reglements_older_than_three_years_are_not_found(gateway: Gateway) -> None:
    body = await gateway.run(
        "ReglementDetail", {"id": to_global("Reglement", "AVTC0046211800749")}, as_=PERSONAS["paul"]
    )
    assert body["data"]["reglement"] is None and codes(body) == ["NOT_FOUND"]


async def test_demandes_timeline_and_detail(gateway: Gateway) -> None:
    expected = demandes_of("C0001002")
    page = (await gateway.run("Demandes", as_=PERSONAS["geralt"]))["data"]["viewer"]["demandes"]
    assert page["totalCount"] == len(expected)
    health = [e["node"] for e in page["edges"] if e["node"]["type"]["category"] == "HEALTH"]
    assert health and all(n["tracked"] is False and n["status"] == "RECEIVED" for n in health)
    done = await gateway.run("Demandes", {"status": ["DONE"]}, as_=PERSONAS["geralt"])
    assert {e["node"]["statusLabel"] for e in done["data"]["viewer"]["demandes"]["edges"]} == {
        "Traitée"
    }
    tracked = next(d for d in expected if d["suivi"] and len(d["historique"]) == 3)
    detail = (
        await gateway.run(
            "DemandeDetail", {"id": to_global("Demande", tracked["id"])}, as_=PERSONAS["geralt"]
        )
    )["data"]["demande"]
    assert [h["status"] for h in detail["history"]] == ["RECEIVED", "IN_PROGRESS", "DONE"]
    assert detail["contract"] == {
        "id": to_global("Contract", "AA565656"),
        "number": "AA565656",
        "productName": "Atoll",
    }
    with_file = next(d for d in demandes_of("C0001001") if d["rappel"]["piecesJointes"])
    chris = (
        await gateway.run(
            "DemandeDetail", {"id": to_global("Demande", with_file["id"])}, as_=PERSONAS["chris"]
        )
    )["data"]["demande"]
    assert [a["id"] for a in chris["reminder"]["attachments"]] == with_file["rappel"][
        "piecesJointes"
    ]


async def test_demandes_older_than_six_months_are_not_shown(gateway: Gateway) -> None:
    body = await gateway.run(
        "DemandeDetail", {"id": to_global("Demande", "D-2023-000184")}, as_=PERSONAS["chris"]
    )
    assert body["data"]["demande"] is None and codes(body) == ["NOT_FOUND"]


async def test_documents_by_period_category_and_contract(gateway: Gateway) -> None:
    for period, months in (
        ("LAST_MONTH", 1),
        ("LAST_3_MONTHS", 3),
        ("LAST_12_MONTHS", 12),
        ("LAST_24_MONTHS", 24),
    ):
        body = await gateway.run(
            "Documents", {"period": period, "first": 50}, as_=PERSONAS["chris"]
        )
        assert body["data"]["viewer"]["documents"]["totalCount"] == len(
            documents_of("EDQ-1001", months)
        ), period
    benefit = await gateway.run(
        "Documents", {"category": "BENEFIT", "period": "LAST_24_MONTHS"}, as_=PERSONAS["paul"]
    )
    nodes = [e["node"] for e in benefit["data"]["viewer"]["documents"]["edges"]]
    assert nodes and {(n["type"], n["category"], n["contract"]["number"]) for n in nodes} == {
        ("BENEFIT_STATEMENT", "BENEFIT", "ADH184068708")
    }
    assert all(n["mimeType"] == "application/pdf" and n["sizeBytes"] > 500 for n in nodes)
    one = await gateway.run(
        "Documents",
        {"contractId": to_global("Contract", "565085584"), "period": "LAST_24_MONTHS"},
        as_=PERSONAS["chris"],
    )
    assert {
        e["node"]["contract"]["number"] for e in one["data"]["viewer"]["documents"]["edges"]
    } == {"565085584"}


async def test_company_affiliates_two_pages(gateway: Gateway) -> None:
    variables = {"contractId": to_global("Contract", "80785436")}
    first = (await gateway.run("CompanyAffiliates", variables, as_=PERSONAS["brico"]))["data"][
        "viewer"
    ]
    assert (
        first["name"],
        first["affiliates"]["totalCount"],
        len(first["affiliates"]["edges"]),
    ) == ("SARL BRICO", 27, 20)
    rest = await gateway.run(
        "CompanyAffiliates",
        {**variables, "after": first["affiliates"]["pageInfo"]["endCursor"]},
        as_=PERSONAS["brico"],
    )
    edges = rest["data"]["viewer"]["affiliates"]["edges"]
    assert (
        len(edges) == 7 and rest["data"]["viewer"]["affiliates"]["pageInfo"]["hasNextPage"] is False
    )
    names = [e["node"]["displayName"] for e in first["affiliates"]["edges"] + edges]
    assert "Paul BERTRAND" in names and {
        e["node"]["statusLabel"] for e in first["affiliates"]["edges"] + edges
    } <= {"Affilié", "Radié"}


async def test_bad_pagination_arguments_are_typed_errors(gateway: Gateway) -> None:
    body = await gateway.run("Demandes", {"first": 500}, as_=PERSONAS["chris"])
    assert codes(body) == ["BAD_USER_INPUT"] and body["data"]["viewer"]["demandes"] is None
    body = await gateway.run("Demandes", {"after": "not-a-cursor"}, as_=PERSONAS["chris"])
    assert codes(body) == ["BAD_USER_INPUT"]


async def test_every_account_document_runs_in_one_customer_journey(gateway: Gateway) -> None:
    """The ten documents of operations/accounts/, each with the variables the frontends send."""
    from tests.gateway.accounts_support import outbox

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
    change = {"currentPassword": first, "newPassword": second, "newPasswordConfirmation": second}
    await step("ChangePassword", {"input": change}, access)
    joined = {"login": "chris.martin@example.fr", "password": "Lilas-Lyon-2023!"}
    linked = await step("LinkAccount", {"input": joined}, access)
    assert linked["account"]["linkedAccounts"][0]["displayName"] == "Chris MARTIN"
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
