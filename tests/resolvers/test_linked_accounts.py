"""« Réunir vos comptes »: after a join the viewer covers every member of the group, and nobody
else sees more than before; a join that cannot be is a typed userError that changes nothing."""

from __future__ import annotations

from typing import Any

from gateway.schema.ids import to_global
from tests.support.accounts import errors_of, session, settings_of
from tests.support.gateway import PERSONAS, Gateway, codes

GERALT, PAUL = "geralt.riviere@example.fr", "paul.bertrand@example.fr"
LISTS = """{ viewer { contracts { number }
  demandes(first: 50) { totalCount edges { node { id } } }
  documents(first: 50, period: LAST_24_MONTHS) { totalCount }
  reglements(first: 50) { totalCount edges { node { id } } } } }"""


async def link(gateway: Gateway, token: str, login: str, password: str) -> dict[str, Any]:
    body = await gateway.run(
        "accounts/LinkAccount", {"input": {"login": login, "password": password}}, token=token
    )
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["linkAccount"]
    return payload


def groups(gateway: Gateway) -> list[set[str]]:
    found: list[set[str]] = gateway.mocks["crm"].groups  # type: ignore[attr-defined]
    return found


async def test_joined_accounts_show_everything_of_both_and_nothing_to_others(
    gateway: Gateway,
) -> None:
    alone = {
        who: (await gateway.run(LISTS, as_=PERSONAS[who]))["data"]["viewer"]
        for who in ("geralt", "paul")
    }
    geralt = await session(gateway, GERALT)
    payload = await link(gateway, geralt["accessToken"], PAUL, "Brico-Prevoyance-18!")
    assert payload == {
        "account": {
            "login": GERALT,
            "linkedAccounts": [{"customerNumber": "48213379", "displayName": "Paul BERTRAND"}],
        },
        "userErrors": [],
    }
    both = (await gateway.run(LISTS, token=geralt["accessToken"]))["data"]["viewer"]
    assert (
        {c["number"] for c in both["contracts"]}
        == {c["number"] for who in alone.values() for c in who["contracts"]}
        >= {"AA565656", "ADH184068708"}
    )
    for field in ("demandes", "documents", "reglements"):
        assert both[field]["totalCount"] == sum(alone[w][field]["totalCount"] for w in alone)
    dossier = {"id": to_global("Dossier", "185501146")}
    seen = await gateway.run("DossierDetail", dossier, token=geralt["accessToken"])
    assert "errors" not in seen and seen["data"]["dossier"]["contract"]["number"] == "ADH184068708"
    assert codes(await gateway.run("DossierDetail", dossier, as_=PERSONAS["chris"])) == [
        "NOT_FOUND"
    ]
    paul = await session(gateway, PAUL)  # the join is symmetric: Paul sees Geralt's too
    body = await settings_of(gateway, paul["accessToken"])
    linked = body["data"]["viewer"]["account"]["linkedAccounts"]
    assert linked == [{"customerNumber": "48213378", "displayName": "Geralt RIVIÈRE"}]
    contract = {"id": to_global("Contract", "AA565656")}
    assert "errors" not in await gateway.run("ContractPage", contract, token=paul["accessToken"])
    assert codes(await gateway.run("ContractPage", contract, as_=PERSONAS["chris"])) == [
        "NOT_FOUND"
    ]


async def test_a_join_that_cannot_be_is_refused_and_changes_nothing(gateway: Gateway) -> None:
    geralt = (await session(gateway, GERALT))["accessToken"]
    before = [set(g) for g in groups(gateway)]
    cases = [
        ("contact@sarl-brico.example.fr", "Brico-Entreprise-73!", [("login", "LINK_REFUSED")]),
        (GERALT, "Atoll-Sante-2024!", [("login", "LINK_REFUSED")]),
        ("mfg.delatour@example.fr", "Chateau-Tour-1949!", [("login", "LOCKED")]),
        (PAUL, "Mauvais-Mot2Passe!", [(None, "INVALID_CREDENTIALS")]),
    ]
    for login, password, expected in cases:
        payload = await link(gateway, geralt, login, password)
        assert (payload["account"], errors_of(payload)) == (None, expected), login
    assert groups(gateway) == before
    body = await settings_of(gateway, geralt)
    assert body["data"]["viewer"]["account"]["linkedAccounts"] == []


async def test_a_company_cannot_join_accounts(gateway: Gateway) -> None:
    brico = (await session(gateway, "contact@sarl-brico.example.fr"))["accessToken"]
    payload = await link(gateway, brico, PAUL, "Brico-Prevoyance-18!")
    assert errors_of(payload) == [("login", "LINK_REFUSED")]


async def test_staff_read_the_account_in_the_customer_lookup(gateway: Gateway) -> None:
    for client_id, status, label in [
        ("C0001005", "LOCKED", "Verrouillé"),
        ("C0001008", "PENDING_ACTIVATION", "En attente d'activation"),
        ("C0001004", "NONE", "Pas de compte"),
        ("C0001001", "ACTIVE", "Actif"),
    ]:
        body = await gateway.run(
            "dashboards/CustomerLookup", {"clientId": client_id}, as_="S0001", role="staff"
        )
        assert "errors" not in body, body
        found = body["data"]["person"]
        assert found["account"] == {"status": status, "statusLabel": label}
        assert found["customerNumber"] and found["displayName"]
    assert [e["target"] for e in gateway.audit][-1] == "C0001001"
