"""Back-end calls per operation: each resource at most once, independent systems concurrently, and
no growth with the number of contracts, dossiers or règlements shown."""

from __future__ import annotations

from collections import Counter

from gateway.schema.ids import to_global
from tests.support.gateway import PERSONAS, Gateway


async def calls_for(
    gateway: Gateway, name: str, as_: str, variables: dict[str, object] | None = None
) -> Counter[str]:
    await gateway.clear_calls()
    body = await gateway.run(name, variables, as_=as_)
    assert "errors" not in body, body["errors"]
    keys = gateway.call_keys()
    assert len(keys) == len(set(keys)), (
        f"a back-end resource was fetched twice: {Counter(keys).most_common(2)}"
    )
    return gateway.calls()


async def test_home_page_calls_do_not_grow_with_contracts(gateway: Gateway) -> None:
    one = await calls_for(gateway, "HomePage", PERSONAS["paul"])
    thirty = await calls_for(gateway, "HomePage", PERSONAS["collector"])
    assert one == thirty
    assert one == Counter({"crm": 2, "policy-admin": 1, "claims": 2, "editique": 1})
    print("HomePage calls:", dict(one), "total", sum(one.values()))


async def test_contract_page_calls_do_not_grow_with_contracts(gateway: Gateway) -> None:
    one = await calls_for(
        gateway, "ContractPage", PERSONAS["paul"], {"id": to_global("Contract", "ADH184068708")}
    )
    thirty = await calls_for(
        gateway, "ContractPage", PERSONAS["collector"], {"id": to_global("Contract", "MX000003")}
    )
    assert one == thirty
    print("ContractPage calls:", dict(one), "total", sum(one.values()))


async def test_contract_details_of_thirty_contracts_are_one_batch_call(gateway: Gateway) -> None:
    query = "{ viewer { contracts { number premium { frequency } savings { valuationDate } } } }"
    await gateway.clear_calls()
    body = await gateway.run(query, as_=PERSONAS["collector"])
    assert len(body["data"]["viewer"]["contracts"]) == 30
    assert gateway.mocks["policy-admin"].log.counts == {
        "GET /api/v1/personnes/{NUM_PERS}/contrats": 1,
        "POST /api/v1/contrats/recherche": 1,
    }


async def test_reglement_lists_do_not_fetch_per_row(gateway: Gateway) -> None:
    few = await calls_for(
        gateway,
        "ContractReglements",
        PERSONAS["brico"],
        {"id": to_global("Contract", "80785436"), "first": 2},
    )
    many = await calls_for(
        gateway,
        "ContractReglements",
        PERSONAS["brico"],
        {"id": to_global("Contract", "80785436"), "first": 50},
    )
    assert few == many


async def test_calls_per_operation(gateway: Gateway) -> None:
    """The figures quoted in docs/performance.md: back-end calls per frontend operation."""
    cases = [
        ("HomePage", "paul", None),
        ("Profile", "chris", None),
        ("Demandes", "geralt", None),
        ("Documents", "chris", None),
        ("ContractPage", "geralt", {"id": to_global("Contract", "AA565656")}),
        ("ContractDossiers", "brico", {"id": to_global("Contract", "80785436")}),
        ("ContractReglements", "brico", {"id": to_global("Contract", "80785436")}),
        ("DossierDetail", "paul", {"id": to_global("Dossier", "185501146")}),
        ("CompanyAffiliates", "brico", {"contractId": to_global("Contract", "80785436")}),
    ]
    for name, persona, variables in cases:
        counted = await calls_for(gateway, name, PERSONAS[persona], variables)
        assert 1 <= sum(counted.values()) <= 8, (name, counted)
        print(f"{name} ({persona}): {sum(counted.values())} calls {dict(counted)}")
