"""Legacy formats → domain values: dates, amounts, text, IBANs, names, pages."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from gateway.adapters import claims, policy_admin
from gateway.adapters.crm import client as crm
from gateway.domain.records import Dependent
from gateway.domain.values import Money, Relationship


@pytest.mark.parametrize(
    ("raw", "expected"), [("20150312", date(2015, 3, 12)), ("00000000", None), ("", None)]
)
def test_policy_admin_dates(raw: str, expected: date | None) -> None:
    assert policy_admin.day(raw) == expected


def test_policy_admin_text_is_right_trimmed_and_empty_is_none() -> None:
    assert policy_admin.text("BERTRAND            ") == "BERTRAND"
    assert policy_admin.text("") is None and policy_admin.text("   ") is None


@pytest.mark.parametrize(
    ("raw", "amount", "formatted"),
    [
        (8950, "89.50", "89,50\xa0€"),
        (0, "0.00", "0,00\xa0€"),
        (123456789, "1234567.89", "1\u202f234\u202f567,89\xa0€"),
        (-1200, "-12.00", "-12,00\xa0€"),
    ],
)
def test_cents_become_exact_money(raw: int, amount: str, formatted: str) -> None:
    money = policy_admin.cents(raw)
    assert money == Money(Decimal(amount)) and money.formatted == formatted


@pytest.mark.parametrize(
    ("iban", "masked"),
    [
        ("FR7630006000011234567890189", "FR76 **** **** **** **** **** 189"),
        ("FR8120041010050512345K02241", "FR81 **** **** **** **** **** 241"),
        ("DE89370400440532013000", "DE89 **** **** **** ***0 00"),
    ],
)
def test_ibans_keep_country_check_digits_and_last_three(iban: str, masked: str) -> None:
    assert policy_admin.mask_iban(iban) == masked
    assert iban[4:-3] not in masked.replace(" ", "")


def test_a_contract_detail_never_holds_the_full_iban() -> None:
    raw = {
        "NUM_CTR": "AA1",
        "TYPE_NUM": "CTR",
        "CD_FAM": "SAN",
        "LIB_PRODUIT": "Atoll  ",
        "CD_STATUT": "A",
        "DT_EFFET": "20170101",
        "DT_ECHEANCE": "",
        "DT_RESIL": "00000000",
        "COLL": "N",
        "NUM_CTR_ENT": "",
        "RAISON_SOC_ENT": "",
        "NUM_PERS_SOUS": "0004517824",
        "GARANTIES": [],
        "COTISATION": None,
        "IBAN_PRLV": {
            "TITULAIRE": "M. X  ",
            "IBAN": "FR7630006000011234567890189",
            "BIC": "AGRIFRPP",
        },
        "IBAN_RMBT": None,
        "BENEFICIAIRES": None,
        "AYANTS_DROIT": [],
        "ID_INTERLOCUTEUR": "",
        "ENCOURS": None,
        "ACTES": [],
    }
    detail = policy_admin.detail(raw)
    assert "0006000011234567890" not in repr(detail)
    assert (
        detail.summary.product_name == "Atoll"
        and detail.intermediary_id is None
        and detail.summary.term_date is None
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("459,50", "459.50"), ("1234567,89", "1234567.89"), ("-12,00", "-12.00"), ("0,00", "0.00")],
)
def test_claims_amounts_are_decimals_from_strings(raw: str, expected: str) -> None:
    assert claims.amount(raw) == Decimal(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("BERTRAND Paul", "Paul BERTRAND"),
        ("D'ARCY-LEFÈVRE Élodie", "Élodie D'ARCY-LEFÈVRE"),
        ("DE LA TOUR D'AUVERGNE Marie-Françoise", "Marie-Françoise DE LA TOUR D'AUVERGNE"),
        ("N'DIAYE Aïssatou", "Aïssatou N'DIAYE"),
        ("LE GOFF Jean Marie", "Jean Marie LE GOFF"),
        ("ØSTERGÅRD Åsa", "Åsa ØSTERGÅRD"),
        ("MARTIN", "MARTIN"),  # no first name: shown as given
    ],
)
def test_claims_person_names_are_shown_first_name_first(raw: str, expected: str) -> None:
    assert claims.person_name(raw) == expected


@pytest.mark.parametrize(
    "company",
    [
        "SARL BRICO",
        "Transports Lefèvre & Fils",
        "BOULANGERIE DU PORT & Cie",
        "sas 2M Conseil",
        "3D Print SAS",
        "L'Atelier d'Anne",
    ],
)
def test_a_payment_to_a_company_shows_the_company_name_as_registered(company: str) -> None:
    payment = claims.reglement(reglement_raw({"type": "ENT", "libelle": company}))
    assert payment.recipient_name == company


def test_a_payment_to_the_affiliate_shows_the_person_first_name_first() -> None:
    payment = claims.reglement(reglement_raw({"type": "AFF", "libelle": "DU PONT Anne-Sophie"}))
    assert payment.recipient_name == "Anne-Sophie DU PONT"


def reglement_raw(payee: dict[str, str]) -> dict[str, object]:
    return {
        "refReglement": "ABCD0000000000001",
        "numDossier": "123456789",
        "numContrat": "C1",
        "numAffilie": "A0000001",
        "nomAffilie": "DU PONT Anne-Sophie",
        "codeGarantie": "INC",
        "dateReglement": "22/11/2025",
        "periodeDebut": None,
        "periodeFin": None,
        "montantBrut": "100,00",
        "montantNet": "100,00",
        "destinataire": payee,
        "modePaiement": "VIR",
    }


@pytest.mark.parametrize(
    ("offset", "limit", "expected"),
    [
        (0, 3, (3, [1])),
        (20, 20, (20, [2])),
        (45, 10, (50, [1, 2])),
        (0, 50, (50, [1])),
        (60, 50, (50, [2, 3])),
    ],
)
def test_a_slice_maps_onto_few_claims_pages(
    offset: int, limit: int, expected: tuple[int, list[int]]
) -> None:
    assert claims.pages_for(offset, limit) == expected


def test_a_dependant_without_first_name_shows_the_family_name_alone() -> None:
    dependent = Dependent("", "RIVIÈRE", None, Relationship.CHILD)
    assert dependent.display_name == "RIVIÈRE"


def test_money_stays_exact_beyond_the_default_decimal_precision() -> None:
    assert claims.money("123456789012345678901234567890,07").amount == Decimal(
        "123456789012345678901234567890.07"
    )
    assert policy_admin.cents(12345678901234567890123456789012).amount == Decimal(
        "123456789012345678901234567890.12"
    )


def test_crm_date_times_are_read_as_rfc_3339_allows_them() -> None:
    assert crm.instant("2023-11-24t09:12:00z") == crm.instant("2023-11-24T10:12:00+01:00")
